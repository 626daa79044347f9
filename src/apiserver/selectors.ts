/**
 * Label and field selectors with the syntax of apimachinery's labels and fields packages.
 * A parse error is a 400 BadRequest.
 */
import { badRequest } from './errors.ts';
import type { KubeObject } from '../apis/meta.ts';

type Op = '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | '>' | '<';
interface Requirement {
  key: string;
  op: Op;
  values: string[];
}

export type Matcher = (obj: KubeObject) => boolean;
export const matchAll: Matcher = () => true;

const keyPattern = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const valuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

function checkKey(key: string, raw: string) {
  if (!keyPattern.test(key) || key.length > 316) {
    throw badRequest(`unable to parse requirement: invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (in "${raw}")`);
  }
}

function checkValue(v: string) {
  if (v.length > 63 || !valuePattern.test(v)) {
    throw badRequest(`unable to parse requirement: values[0][${v}]: Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
}

/** LabelsMatcher tests a set of labels. */
export type LabelsMatcher = (labels: Record<string, string> | undefined) => boolean;

/** parseLabelSelector parses `a=b,c!=d,e in (f,g),h notin (i),j,!k,l>3`; empty matches everything. */
export function parseLabelSelector(input: string | null | undefined): Matcher {
  if (!input || !input.trim()) return matchAll;
  const matches = labelsMatcher(input);
  return (obj) => matches(obj.metadata.labels);
}

/** labelsMatcher parses a label selector into a test of a set of labels. */
export function labelsMatcher(input: string | null | undefined): LabelsMatcher {
  if (!input || !input.trim()) return () => true;
  const reqs: Requirement[] = [];
  for (const rawPart of splitTop(input)) {
    const part = rawPart.trim();
    if (!part) throw badRequest(`unable to parse requirement: found '', expected: identifier`);
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part))) {
      const values = m[3].split(',').map((v) => v.trim());
      checkKey(m[1], part);
      values.forEach(checkValue);
      reqs.push({ key: m[1], op: m[2] as Op, values });
    } else if ((m = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/.exec(part))) {
      checkKey(m[1], part);
      const op = m[2] === '==' ? '=' : (m[2] as Op);
      const value = m[3].trim();
      if (op === '>' || op === '<') {
        if (!/^-?\d+$/.test(value)) throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
      } else checkValue(value);
      reqs.push({ key: m[1], op, values: [value] });
    } else if ((m = /^!\s*([^\s=!<>(),]+)$/.exec(part))) {
      checkKey(m[1], part);
      reqs.push({ key: m[1], op: '!', values: [] });
    } else if ((m = /^([^\s=!<>(),]+)$/.exec(part))) {
      checkKey(m[1], part);
      reqs.push({ key: m[1], op: 'exists', values: [] });
    } else {
      throw badRequest(`unable to parse requirement: couldn't parse the selector string "${input}"`);
    }
  }
  return (set) => {
    const labels = set ?? {};
    return reqs.every((r) => {
      const has = Object.prototype.hasOwnProperty.call(labels, r.key);
      const v = labels[r.key];
      switch (r.op) {
        case '=':
          return has && v === r.values[0];
        case '!=':
          return !has || v !== r.values[0];
        case 'in':
          return has && r.values.includes(v);
        case 'notin':
          return !has || !r.values.includes(v);
        case 'exists':
          return has;
        case '!':
          return !has;
        case '>':
          return has && /^-?\d+$/.test(v) && Number(v) > Number(r.values[0]);
        case '<':
          return has && /^-?\d+$/.test(v) && Number(v) < Number(r.values[0]);
      }
    });
  };
}

/** Splits on unescaped commas and unescapes `\,` `\=` `\\`. */
function splitEscaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) {
      cur += s[i] + s[i + 1];
      i++;
    } else if (s[i] === sep) {
      out.push(cur);
      cur = '';
    } else cur += s[i];
  }
  out.push(cur);
  return out;
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/**
 * FieldSet is what a field selector may name for one resource: a getter per field, and the
 * message for any other field (the server's words differ between built-in and custom resources).
 */
export interface FieldSet<T = KubeObject> {
  fields: Record<string, (obj: T) => string>;
  unsupported(field: string): string;
}

/** tiltFields are the fields of every tilt.dev kind: cluster-scoped, selectable by name only. */
export const tiltFields: FieldSet = {
  fields: { 'metadata.name': (o) => o.metadata.name ?? '', 'metadata.namespace': () => '' },
  unsupported: (field) => `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
};

/** parseFieldSelector parses `metadata.name=x,status.phase!=Running` over the fields of `set`. */
export function parseFieldSelector<T = KubeObject>(input: string | null | undefined, set: FieldSet<T> = tiltFields as unknown as FieldSet<T>): (obj: T) => boolean {
  if (!input || !input.trim()) return () => true;
  const tests: Array<(obj: T) => boolean> = [];
  for (const part of splitEscaped(input, ',')) {
    const m = /^((?:[^\\=!]|\\.)+?)\s*(==|=|!=)\s*(.*)$/.exec(part.trim());
    if (!m) throw badRequest(`invalid selector: '${input}'; can't understand '${part}'`);
    const field = unescape(m[1]);
    const value = unescape(m[3]);
    const negate = m[2] === '!=';
    const get = Object.prototype.hasOwnProperty.call(set.fields, field) ? set.fields[field] : undefined;
    if (!get) throw badRequest(set.unsupported(field));
    tests.push((o) => (get(o) === value) !== negate);
  }
  return (obj) => tests.every((t) => t(obj));
}

/** nameFromFieldSelector returns the single name a selector pins, for a fast path. */
export function nameFromFieldSelector(input: string | null | undefined): string | undefined {
  if (!input) return undefined;
  const m = /^metadata\.name==?([^,!\\]*)$/.exec(input.trim());
  return m ? m[1] : undefined;
}
