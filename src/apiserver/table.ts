/**
 * Table output for `kubectl get`: Name, the kind's own columns, then Age; rows carry
 * PartialObjectMetadata (or the object, or nothing) as `includeObject` asks.
 */
import type { Column, KindDef } from '../apis/kind.ts';
import type { KubeObject } from '../apis/meta.ts';

export interface TableRequest {
  version: 'v1' | 'v1beta1';
  includeObject: 'Metadata' | 'Object' | 'None';
}

/** tableRequest reads the Accept header: is a Table wanted, and which version. */
export function tableRequest(accept: string | undefined, includeObject: string | null): TableRequest | undefined {
  if (!accept || !accept.includes('as=Table')) return undefined;
  const wants = accept.split(',').map((p) => p.trim()).find((p) => p.includes('as=Table') && p.includes('g=meta.k8s.io'));
  if (!wants) return undefined;
  const version = /v=v1beta1/.test(wants) && !accept.includes('v=v1;') && !/v=v1(,|$)/.test(accept) ? 'v1beta1' : 'v1';
  const inc = includeObject === 'Object' || includeObject === 'None' ? includeObject : 'Metadata';
  return { version, includeObject: inc };
}

/** humanDuration formats an age the way kubectl shows one (5s, 3m20s, 5h, 2d). */
export function humanDuration(ms: number): string {
  if (ms < -1000) return '<invalid>';
  if (ms < 0) return '0s';
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  const y = Math.floor(d / 365);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 192) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 730) return `${d}d`;
  if (d < 2920) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

function jsonPathValue(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.replace(/^\./, '').split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function cell(col: Column, obj: KubeObject, now: number): unknown {
  const v = col.value ? col.value(obj) : jsonPathValue(obj, col.jsonPath);
  if (v === undefined || v === null) return col.type === 'date' ? '' : col.type === 'string' ? '' : null;
  if (col.type === 'date') return typeof v === 'string' && v ? humanDuration(now - Date.parse(v)) : '';
  if (Array.isArray(v) || typeof v === 'object') return JSON.stringify(v);
  return v;
}

const nameColumn = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated.', priority: 0 };
const ageColumn: Column = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' };

export function columnDefinitions(def: KindDef) {
  return [
    nameColumn,
    ...[...def.columns, ageColumn].map((c) => ({ name: c.name, type: c.type === 'date' ? 'date' : c.type, format: '', description: c.description, priority: c.priority ?? 0 })),
  ];
}

function rowObject(obj: KubeObject, req: TableRequest): unknown {
  if (req.includeObject === 'None') return undefined;
  if (req.includeObject === 'Object') return obj;
  const { name, uid, resourceVersion, creationTimestamp, labels, annotations, generation, deletionTimestamp, ownerReferences, finalizers } = obj.metadata;
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: `meta.k8s.io/${req.version}`,
    metadata: { name, uid, resourceVersion, generation, creationTimestamp, deletionTimestamp, labels, annotations, ownerReferences, finalizers },
  };
}

export function toTable(def: KindDef, objs: KubeObject[], req: TableRequest, meta: { resourceVersion?: string; continue?: string }, withColumns = true) {
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${req.version}`,
    metadata: meta,
    columnDefinitions: withColumns ? columnDefinitions(def) : null,
    rows: objs.map((o) => ({
      cells: [o.metadata.name, ...[...def.columns, ageColumn].map((c) => cell(c, o, now))],
      object: rowObject(o, req),
    })),
  };
}
