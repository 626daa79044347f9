/**
 * `ferry describe`: an object the way `kubectl describe` shows a custom resource: sections with
 * title-cased field names, values aligned, times with their age, multi-line text (a failed
 * build's error and its output) as text, the last lines of long text only.
 */
import type { KubeObject } from '../apis/meta.ts';
import { humanDuration } from '../apiserver/table.ts';

/** The annotation of kubectl's client-side apply, which kubectl describe does not show either. */
const lastAppliedConfigAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

/** tailLines is how many lines of a multi-line value describe shows (the last ones). */
export const tailLines = 20;

const timePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** fieldTitle turns a field name into kubectl's describe title: creationTimestamp → Creation Timestamp, containerID → Container ID. */
export function fieldTitle(key: string): string {
  // Keys that are data (annotation names, file paths, ConfigMap keys) are shown as they are.
  if (!/^[a-zA-Z][a-zA-Z0-9]*$/.test(key)) return key;
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2').split(' ');
  return words.map((w) => (w === 'uid' ? 'UID' : w[0].toUpperCase() + w.slice(1))).join(' ');
}

/**
 * fieldTitles names fields whose generic title reads wrong, by kind and path. A CmdImage's
 * building and completed `reason` is why the build started (a trigger, a changed file), not why
 * it failed: beside a failed build's error it would read as the failure's cause.
 */
const fieldTitles: Record<string, Record<string, string>> = {
  CmdImage: { 'status.building.reason': 'Build Reason', 'status.completed.reason': 'Build Reason' },
};

/** DescribeOptions: `now` for ages (default the clock). */
export interface DescribeOptions {
  now?: number;
}

/** describeObject renders obj as `kubectl describe` does. */
export function describeObject(obj: KubeObject, opts: DescribeOptions = {}): string {
  const now = opts.now ?? Date.now();
  const m = obj.metadata;
  const lines: string[] = [];
  const top = (label: string, value: string) => lines.push(`${(label + ':').padEnd(14)}${value}`);
  const pairs = (label: string, map: Record<string, string> | undefined, sep: string) => {
    const entries = Object.entries(map ?? {}).filter(([k]) => k !== lastAppliedConfigAnnotation);
    if (!entries.length) return top(label, '<none>');
    entries.forEach(([k, v], i) => lines.push(`${(i === 0 ? label + ':' : '').padEnd(14)}${k}${sep}${oneLine(v)}`));
  };
  top('Name', m.name ?? '');
  pairs('Labels', m.labels, '=');
  pairs('Annotations', m.annotations, ': ');
  top('API Version', obj.apiVersion ?? '');
  top('Kind', obj.kind ?? '');
  const metadata: Record<string, unknown> = {
    creationTimestamp: m.creationTimestamp,
    deletionTimestamp: m.deletionTimestamp,
    finalizers: m.finalizers,
    generation: m.generation,
    ownerReferences: m.ownerReferences,
    resourceVersion: m.resourceVersion,
    uid: m.uid,
  };
  const titles = fieldTitles[obj.kind ?? ''] ?? {};
  const section = (title: string, value: unknown, path: string) => {
    if (value === undefined || value === null) return;
    if (isEmpty(value)) return lines.push(`${title}:  <none>`);
    lines.push(`${title}:`);
    lines.push(...render(value, 2, now, { path, titles }));
  };
  section('Metadata', metadata, 'metadata');
  for (const [k, v] of Object.entries(obj)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k)) section(fieldTitle(k), v, k);
  }
  section('Spec', obj.spec, 'spec');
  section('Status', obj.status, 'status');
  lines.push('Events:       <none>');
  return lines.join('\n');
}

function isEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (v && typeof v === 'object') return Object.values(v).every((x) => x === undefined);
  return false;
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

function oneLine(v: string): string {
  const s = v.replace(/\s*\n\s*/g, ' ');
  return s.length > 100 ? s.slice(0, 97) + '...' : s;
}

/** scalar renders a value of one line: times get their age, null is <none>. */
function scalar(v: unknown, now: number): string {
  if (v === null || v === undefined) return '<none>';
  if (typeof v === 'string') {
    if (timePattern.test(v)) {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) return `${v} (${humanDuration(now - t)} ago)`;
    }
    return v;
  }
  return String(v);
}

/** textLines renders a multi-line string below its field: its last tailLines lines, indented. */
function textLines(v: string, pad: string): string[] {
  const all = v.replace(/\n+$/, '').split('\n');
  const shown = all.length > tailLines ? all.slice(-tailLines) : all;
  const out = shown.map((l) => `${pad}${l}`.trimEnd());
  if (all.length > tailLines) out.unshift(`${pad}... (${all.length - tailLines} earlier lines; \`ferry logs\` has them all)`);
  return out;
}

/** Where render is: the dotted path of the value (list items share their list's path) and the kind's own titles. */
interface RenderAt {
  path: string;
  titles: Record<string, string>;
}

/** render lays out a value at an indent: a mapping's scalars aligned, nested values below their field. */
function render(value: unknown, indent: number, now: number, at: RenderAt): string[] {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    const out: string[] = [];
    for (const item of value) {
      if (isScalar(item)) {
        const s = scalar(item, now);
        if (typeof item === 'string' && item.includes('\n')) out.push(...textLines(item, pad));
        else out.push(`${pad}${s}`);
      } else {
        // Each item of a list of objects starts with a dash, its fields aligned after it.
        const inner = render(item, indent + 2, now, at);
        if (inner.length) inner[0] = `${pad}- ${inner[0].slice(indent + 2)}`;
        out.push(...inner);
      }
    }
    return out;
  }
  if (!value || typeof value !== 'object') return [`${pad}${scalar(value, now)}`];
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  const title = (k: string) => at.titles[`${at.path}.${k}`] ?? fieldTitle(k);
  const width = Math.max(0, ...entries.filter(([, v]) => isScalar(v) || isEmpty(v)).map(([k]) => title(k).length + 1));
  const out: string[] = [];
  for (const [k, v] of entries) {
    const label = `${title(k)}:`;
    if (typeof v === 'string' && v.includes('\n')) {
      // Text (a build's error and output): the first line beside the field, the rest below it.
      const [first, ...rest] = v.split('\n');
      out.push(`${pad}${label.padEnd(width)}  ${first}`.trimEnd());
      if (rest.length) out.push(...textLines(rest.join('\n'), pad + '  '));
    } else if (isScalar(v)) out.push(`${pad}${label.padEnd(width)}  ${scalar(v, now)}`.trimEnd());
    else if (isEmpty(v)) out.push(`${pad}${label.padEnd(width)}  <none>`);
    else out.push(`${pad}${label}`, ...render(v, indent + 2, now, { ...at, path: `${at.path}.${k}` }));
  }
  return out;
}
