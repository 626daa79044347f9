/**
 * The part of Kubernetes JSONPath that image locators use, over plain JSON objects, with the
 * places found writable: `{.spec.image}`, `{.spec.containers[*].image}`, `{.spec.images[0]}`,
 * `{.spec['image']}`, `{.spec.containers[?(@.name=="app")].image}`.
 *
 * As kubectl's JSONPath (without allowMissingKeys) does, a field missing from every value it is
 * asked of is an error (`image is not found`), while a path through an empty list finds nothing.
 * Recursive descent (`..`), slices, unions, functions and `{range}` templates are refused when
 * the path is parsed.
 */

/** JSONPathError is a path that cannot be parsed or followed; its message names the reason. */
export class JSONPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JSONPathError';
  }
}

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'wildcard' }
  | { kind: 'index'; index: number }
  | { kind: 'filter'; path: string[]; op: '==' | '!='; value: string | number | boolean };

/** A place in a JSON value: its current value and how to replace it. */
export interface JSONPlace {
  value: unknown;
  /** The object or array holding the value. */
  parent: Record<string, unknown> | unknown[];
  set(value: unknown): void;
}

/** JSONPath is a parsed Kubernetes JSONPath. */
export class JSONPath {
  private constructor(
    readonly source: string,
    private readonly steps: Step[],
  ) {}

  /** parse reads a path written as Kubernetes writes it (`{.spec.image}`; the braces and `$` are optional). */
  static parse(source: string): JSONPath {
    let s = source.trim();
    if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1).trim();
    if (s.includes('{') || s.includes('}')) throw new JSONPathError(`unsupported JSONPath template ${JSON.stringify(source)}: only one {...} expression is supported`);
    if (s.startsWith('$')) s = s.slice(1);
    const steps: Step[] = [];
    const fail = (why: string): never => {
      throw new JSONPathError(`unsupported JSONPath ${JSON.stringify(source)}: ${why}`);
    };
    let i = 0;
    while (i < s.length) {
      if (s.startsWith('..', i)) fail('recursive descent (..) is not supported');
      if (s[i] === '.') {
        i++;
        if (s[i] === '*') {
          steps.push({ kind: 'wildcard' });
          i++;
          continue;
        }
        const m = /^[\w/-]+/.exec(s.slice(i));
        if (!m) fail(`a field name is expected at offset ${i}`);
        steps.push({ kind: 'field', name: m![0] });
        i += m![0].length;
      } else if (s[i] === '[') {
        const end = closingBracket(s, i);
        if (end < 0) fail(`unterminated [ at offset ${i}`);
        steps.push(parseBracket(s.slice(i + 1, end).trim(), fail));
        i = end + 1;
      } else {
        fail(`unexpected ${JSON.stringify(s[i])} at offset ${i}`);
      }
    }
    if (steps.length === 0) fail('the path is empty');
    return new JSONPath(source, steps);
  }

  /** find follows the path from root and answers the places it reaches, in document order. Throws JSONPathError. */
  find(root: unknown): JSONPlace[] {
    const holder = { root };
    let places: JSONPlace[] = [place(holder, 'root')];
    for (const step of this.steps) {
      const next: JSONPlace[] = [];
      for (const p of places) {
        const v = p.value;
        switch (step.kind) {
          case 'field':
            if (isObject(v) && Object.hasOwn(v, step.name)) next.push(place(v, step.name));
            break;
          case 'wildcard':
            if (Array.isArray(v)) v.forEach((_, i) => next.push(place(v, i)));
            else if (isObject(v)) for (const k of Object.keys(v)) next.push(place(v, k));
            break;
          case 'index':
            if (Array.isArray(v)) {
              const i = step.index < 0 ? v.length + step.index : step.index;
              if (i < 0 || i >= v.length) throw new JSONPathError(`array index out of bounds: index ${step.index}, length ${v.length}`);
              next.push(place(v, i));
            }
            break;
          case 'filter':
            if (Array.isArray(v)) {
              v.forEach((item, i) => {
                if (filterMatches(item, step)) next.push(place(v, i));
              });
            } else {
              throw new JSONPathError(`${JSON.stringify(v)} is not array, slice or map and cannot be filtered`);
            }
            break;
        }
      }
      if (step.kind === 'field' && places.length > 0 && next.length === 0) throw new JSONPathError(`${step.name} is not found`);
      places = next;
    }
    return places;
  }

  toString(): string {
    return this.source;
  }
}

function place(parent: Record<string, unknown> | unknown[], key: string | number): JSONPlace {
  return {
    value: (parent as Record<string | number, unknown>)[key],
    parent,
    set(value: unknown) {
      (parent as Record<string | number, unknown>)[key] = value;
      this.value = value;
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** closingBracket finds the `]` closing the `[` at open, skipping quoted strings. */
function closingBracket(s: string, open: number): number {
  let quote = '';
  for (let i = open + 1; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ']') return i;
  }
  return -1;
}

function parseBracket(inner: string, fail: (why: string) => never): Step {
  if (inner === '*') return { kind: 'wildcard' };
  if (/^-?\d+$/.test(inner)) return { kind: 'index', index: Number(inner) };
  const quoted = /^(['"])(.*)\1$/.exec(inner);
  if (quoted) return { kind: 'field', name: quoted[2]!.replace(/\\(.)/g, '$1') };
  const filter = /^\?\(\s*@((?:\.[^.\s=!<>()]+)+)\s*(==|!=)\s*(.+?)\s*\)$/.exec(inner);
  if (filter) {
    const path = filter[1]!.slice(1).split('.');
    return { kind: 'filter', path, op: filter[2] as '==' | '!=', value: literal(filter[3]!, fail) };
  }
  return fail(`[${inner}] is not supported (use a field, an index, [*] or a filter such as [?(@.name=="app")])`);
}

function literal(text: string, fail: (why: string) => never): string | number | boolean {
  const quoted = /^(['"])(.*)\1$/.exec(text);
  if (quoted) return quoted[2]!;
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return fail(`${text} is not a literal`);
}

function filterMatches(item: unknown, step: Extract<Step, { kind: 'filter' }>): boolean {
  let v: unknown = item;
  for (const name of step.path) v = isObject(v) ? v[name] : undefined;
  if (v === undefined) return false;
  return step.op === '==' ? v === step.value : v !== step.value;
}
