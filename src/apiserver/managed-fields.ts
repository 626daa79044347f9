/**
 * Field ownership, as kube-apiserver keeps it in `metadata.managedFields` (the semantics of
 * structured-merge-diff, for the kinds' served schemas):
 *
 * - Every write records which manager set which fields: one entry per manager, operation
 *   (`Apply` for server-side apply, `Update` for everything else) and subresource, with the
 *   fields in the `FieldsV1` form (`f:` field, `k:` list item by key, `v:` set value).
 * - An update takes the fields it changed from every other manager.
 * - An apply merges the applied configuration into the object, removes what this manager
 *   applied last time and no longer applies (unless another manager owns it), and answers 409
 *   when it would change a field another manager owns, unless forced.
 *
 * How fields are told apart comes from the schema: objects with properties merge field by
 * field, maps (additionalProperties) key by key, and lists are atomic (replaced whole) unless
 * the schema says `x-kubernetes-list-type: set` (items by value) or `map` (items by
 * `x-kubernetes-list-map-keys`), as ObjectMeta's `finalizers` and `ownerReferences` do.
 */
import type { KindDef } from '../apis/kind.ts';
import { isPrintable } from '../apis/go.ts';
import { isObject, type JsonObject } from '../apis/json.ts';
import { apiVersion as servedApiVersion, lastAppliedConfigAnnotation, toTime, type KubeObject } from '../apis/meta.ts';
import { ApiError } from './errors.ts';
import { openAPISchemas } from './discovery.ts';

/** ManagedFieldsEntry is one element of `metadata.managedFields` (meta/v1). */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: FieldsV1;
  subresource?: string;
}

/** FieldsV1 is the trie of owned fields: `{"f:spec":{"f:args":{}}}`; `"."` marks an owned inner node. */
export type FieldsV1 = { [element: string]: FieldsV1 };

/** The manager kube records for the fields of an object that predates field tracking. */
export const beforeFirstApplyManager = 'before-first-apply';
/** Update entries beyond this many are merged, oldest first, into one `ancient-changes` entry. */
export const maxUpdateManagers = 10;
const ancientChangesManager = 'ancient-changes';
/** kubectl's server-side apply manager: kube lets it take over what client-side apply set. */
const kubectlApplyManager = 'kubectl';


// ---- schema -------------------------------------------------------------------------------

type Node =
  | { type: 'struct'; fields: Map<string, Node>; atomic: boolean }
  | { type: 'map'; elem: Node; atomic: boolean }
  | { type: 'list'; elem: Node; listType: 'atomic' | 'set' | 'map'; keys: string[] }
  | { type: 'scalar' }
  | { type: 'untyped' };

const scalar: Node = { type: 'scalar' };
const untyped: Node = { type: 'untyped' };
const refPrefix = '#/components/schemas/';
const byName = new Map<string, Node>();

function nodeOf(s: JsonObject): Node {
  const ref = (s.$ref ?? (s.allOf as JsonObject[] | undefined)?.[0]?.$ref) as string | undefined;
  if (ref) {
    const name = ref.slice(refPrefix.length);
    let node = byName.get(name);
    if (!node) {
      node = nodeOf(openAPISchemas[name] as JsonObject);
      byName.set(name, node);
    }
    return node;
  }
  if (s['x-kubernetes-int-or-string'] || s.anyOf) return scalar;
  if (s.type === 'array') {
    const listType = (s['x-kubernetes-list-type'] as 'atomic' | 'set' | 'map' | undefined) ?? 'atomic';
    return { type: 'list', elem: nodeOf((s.items as JsonObject) ?? {}), listType, keys: (s['x-kubernetes-list-map-keys'] as string[]) ?? [] };
  }
  const atomic = s['x-kubernetes-map-type'] === 'atomic';
  if (isObject(s.properties)) {
    const fields = new Map(Object.entries(s.properties).map(([k, v]) => [k, nodeOf(v as JsonObject)]));
    return { type: 'struct', fields, atomic };
  }
  if (isObject(s.additionalProperties)) return { type: 'map', elem: nodeOf(s.additionalProperties), atomic };
  if (s.type === undefined || s.type === 'object') return untyped;
  return scalar;
}

const roots = new Map<string, Node>();

/** rootOf is the schema node of a kind's objects. */
function rootOf(def: KindDef): Node {
  let node = roots.get(def.kind);
  if (!node) {
    node = nodeOf(openAPISchemas[`dev.tilt.core.v1alpha1.${def.kind}`] as JsonObject);
    roots.set(def.kind, node);
  }
  return node;
}

/** childOf is the schema of field k of an object, or undefined for a field the schema does not declare. */
function childOf(node: Node, k: string): Node | undefined {
  if (node.type === 'struct') return node.fields.get(k);
  if (node.type === 'map') return node.elem;
  return untyped;
}

/** isLeaf: the value is owned as a whole (scalars, atomic lists and maps, type mismatches). */
function isLeaf(node: Node, v: unknown): boolean {
  if (Array.isArray(v)) return node.type !== 'list' || node.listType === 'atomic';
  if (isObject(v)) return node.type === 'scalar' || node.type === 'list' || ((node.type === 'struct' || node.type === 'map') && node.atomic);
  return true;
}

// ---- paths and sets -----------------------------------------------------------------------

/** A path is a list of FieldsV1 elements: `f:name`, `k:{"uid":"…"}`, `v:"value"`, `i:3`. */
export type Path = string[];

/**
 * Inside a FieldSet a path is one string, its elements joined by NUL (an element that holds a
 * NUL is quoted first); the root is the empty string.
 */
type Key = string;
const sep = '\u0000';
const child = (parent: Key, e: string): Key => {
  const q = e.includes(sep) ? JSON.stringify(e) : e;
  return parent === '' ? q : parent + sep + q;
};
const keyOf = (p: Path): Key => p.reduce(child, '');
const pathOf = (k: Key): Path => (k === '' ? [] : k.split(sep).map((e) => (e.startsWith('"') ? (JSON.parse(e) as string) : e)));
const under = (prefix: Key, k: Key) => k === prefix || k.startsWith(prefix + sep);

/** itemElement names a list item by its keys (map lists) or its value (sets). */
function itemElement(node: Node & { type: 'list' }, item: unknown, index: number): string {
  if (node.listType === 'set') return `v:${JSON.stringify(item)}`;
  if (node.listType === 'map' && isObject(item)) {
    const key: JsonObject = {};
    for (const k of node.keys) if (item[k] !== undefined) key[k] = item[k];
    return `k:${JSON.stringify(key)}`;
  }
  return `i:${index}`;
}

/**
 * FieldSet is a set of paths. A set handed to a manager is not changed afterwards: the
 * operations return new sets (or the same set when nothing changes), so decoded and encoded
 * forms can be cached by identity.
 */
export class FieldSet {
  private readonly keys = new Set<Key>();

  static of(paths: Path[]): FieldSet {
    const out = new FieldSet();
    for (const p of paths) out.add(keyOf(p));
    return out;
  }

  add(k: Key): this {
    this.keys.add(k);
    return this;
  }

  has(k: Key): boolean {
    return this.keys.has(k);
  }

  get size(): number {
    return this.keys.size;
  }

  /** paths lists the set's paths, as element lists. */
  paths(): Path[] {
    return [...this.keys].map(pathOf);
  }

  entries(): IterableIterator<Key> {
    return this.keys.values();
  }

  union(o: FieldSet): FieldSet {
    if (!o.size) return this;
    return new FieldSet().addAll(this).addAll(o);
  }

  /** addAll adds o's paths to this set. */
  addAll(o: FieldSet): this {
    for (const k of o.keys) this.keys.add(k);
    return this;
  }

  difference(o: FieldSet): FieldSet {
    if (!o.size) return this;
    const out = new FieldSet();
    for (const k of this.keys) if (!o.keys.has(k)) out.keys.add(k);
    return out.size === this.size ? this : out;
  }

  intersection(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const k of this.keys) if (o.keys.has(k)) out.keys.add(k);
    return out;
  }

  /** without drops every path at or under one of the prefixes. */
  without(prefixes: Key[]): FieldSet {
    if (!prefixes.length) return this;
    const out = new FieldSet();
    for (const k of this.keys) if (!prefixes.some((p) => under(p, k))) out.keys.add(k);
    return out;
  }

  /** toFieldsV1 encodes the set as the FieldsV1 trie, children in sorted order. */
  toFieldsV1(): FieldsV1 {
    let out = encodedSets.get(this);
    if (!out) encodedSets.set(this, (out = this.encode()));
    return out;
  }

  private encode(): FieldsV1 {
    interface Trie { member: boolean; children: Map<string, Trie> }
    const root: Trie = { member: false, children: new Map() };
    for (const k of this.keys) {
      let t = root;
      for (const e of pathOf(k)) {
        let c = t.children.get(e);
        if (!c) t.children.set(e, (c = { member: false, children: new Map() }));
        t = c;
      }
      t.member = true;
    }
    const emit = (t: Trie): FieldsV1 => {
      const out: FieldsV1 = {};
      if (t.member && t.children.size) out['.'] = {};
      for (const k of [...t.children.keys()].sort()) out[k] = emit(t.children.get(k)!);
      return out;
    };
    return emit(root);
  }

  /** fromFieldsV1 decodes a FieldsV1 trie; it throws on anything that is not one. */
  static fromFieldsV1(v: unknown): FieldSet {
    const set = new FieldSet();
    const walk = (node: unknown, path: Key) => {
      if (!isObject(node)) throw new Error(`expected an object at ${JSON.stringify(pathOf(path))}`);
      const keys = Object.keys(node);
      if (keys.length === 0 && path !== '') set.add(path);
      for (const k of keys) {
        if (k === '.') {
          if (path !== '') set.add(path);
          continue;
        }
        if (!/^[fkvi]:/.test(k)) throw new Error(`unknown path element ${JSON.stringify(k)}`);
        walk(node[k], child(path, k));
      }
    };
    walk(v ?? {}, '');
    return set;
  }
}

/** The FieldsV1 form of sets already encoded or decoded. */
const encodedSets = new WeakMap<FieldSet, FieldsV1>();

/** pathString is a path as kube prints it in conflicts: `.spec.args`, `.metadata.ownerReferences[uid="…"]`. */
export function pathString(p: Path): string {
  return p
    .map((e) => {
      const rest = e.slice(2);
      switch (e[0]) {
        case 'f':
          return `.${rest}`;
        case 'k':
          return `[${Object.entries(JSON.parse(rest) as JsonObject).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
        case 'v':
          return `[=${JSON.stringify(JSON.parse(rest))}]`;
        default:
          return `[${rest}]`;
      }
    })
    .join('');
}

// ---- walks over a value and its schema ----------------------------------------------------

/** toFieldSet lists the fields a value sets, as an applied configuration owns them. */
function toFieldSet(node: Node, v: unknown, path: Key, out: FieldSet): void {
  if (v === null || v === undefined) return;
  if (isLeaf(node, v)) {
    out.add(path);
    return;
  }
  if (Array.isArray(v)) {
    const list = node as Node & { type: 'list' };
    v.forEach((item, i) => {
      const p = child(path, itemElement(list, item, i));
      toFieldSet(list.elem, item, p, out);
      out.add(p);
    });
    return;
  }
  for (const [k, x] of Object.entries(v as JsonObject)) {
    const c = childOf(node, k);
    if (!c) continue;
    const p = child(path, `f:${k}`);
    toFieldSet(c, x, p, out);
    const declared = node.type === 'struct';
    if (x === null || (isObject(x) && Object.keys(x).length === 0) || !declared) out.add(p);
  }
}

/** addAll records a subtree as added or removed: the node and, unless it is a leaf, all below. */
function addAll(node: Node, v: unknown, path: Key, out: FieldSet): void {
  out.add(path);
  if (v === null || isLeaf(node, v)) return;
  if (Array.isArray(v)) {
    const list = node as Node & { type: 'list' };
    v.forEach((item, i) => addAll(list.elem, item, child(path, itemElement(list, item, i)), out));
    return;
  }
  for (const [k, x] of Object.entries(v as JsonObject)) {
    const c = childOf(node, k);
    if (c) addAll(c, x, child(path, `f:${k}`), out);
  }
}

interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

function compare(node: Node, l: unknown, r: unknown, path: Key, res: Comparison): void {
  if (l === undefined && r === undefined) return;
  if (l === undefined) return addAll(node, r, path, res.added);
  if (r === undefined) return addAll(node, l, path, res.removed);
  const shapesDiffer = Array.isArray(l) !== Array.isArray(r) || isObject(l) !== isObject(r);
  if (shapesDiffer || isLeaf(node, l) || isLeaf(node, r)) {
    if (l !== r && JSON.stringify(l) !== JSON.stringify(r)) res.modified.add(path);
    return;
  }
  if (Array.isArray(l)) {
    const list = node as Node & { type: 'list' };
    const lm = itemsByElement(list, l);
    const rm = itemsByElement(list, r as unknown[]);
    for (const [e, li] of lm) compare(list.elem, li, rm.get(e), child(path, e), res);
    for (const [e, ri] of rm) if (!lm.has(e)) compare(list.elem, undefined, ri, child(path, e), res);
    return;
  }
  const lo = l as JsonObject;
  const ro = r as JsonObject;
  for (const k of new Set([...Object.keys(lo), ...Object.keys(ro)])) {
    const c = childOf(node, k);
    if (c) compare(c, lo[k], ro[k], child(path, `f:${k}`), res);
  }
}

function itemsByElement(list: Node & { type: 'list' }, items: unknown[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  items.forEach((item, i) => {
    const e = itemElement(list, item, i);
    if (!out.has(e)) out.set(e, item);
  });
  return out;
}

/** merge lays an applied configuration over the live value: r wins, maps and keyed lists merge, null removes. */
function merge(node: Node, l: unknown, r: unknown): unknown {
  if (r === undefined) return l;
  if (l === undefined || l === null || r === null) return r;
  const shapesDiffer = Array.isArray(l) !== Array.isArray(r) || isObject(l) !== isObject(r);
  if (shapesDiffer || isLeaf(node, l) || isLeaf(node, r)) return r;
  if (Array.isArray(l)) {
    const list = node as Node & { type: 'list' };
    const rm = itemsByElement(list, r as unknown[]);
    const seen = new Set<string>();
    const out: unknown[] = [];
    l.forEach((li, i) => {
      const e = itemElement(list, li, i);
      seen.add(e);
      out.push(rm.has(e) ? merge(list.elem, li, rm.get(e)) : li);
    });
    for (const [e, ri] of rm) if (!seen.has(e)) out.push(ri);
    return out;
  }
  const out: JsonObject = { ...(l as JsonObject) };
  for (const [k, x] of Object.entries(r as JsonObject)) {
    if (x === null) delete out[k];
    else out[k] = merge(childOf(node, k) ?? untyped, out[k], x);
  }
  return out;
}

/** removePath returns v without what is at path (a copy where it changes). */
function removePath(node: Node, v: unknown, path: Path): unknown {
  if (!path.length) return undefined;
  const [head, ...rest] = path;
  if (Array.isArray(v) && node.type === 'list' && node.listType !== 'atomic') {
    const out: unknown[] = [];
    v.forEach((item, i) => {
      if (itemElement(node, item, i) !== head) out.push(item);
      else if (rest.length) out.push(removePath(node.elem, item, rest));
    });
    return out;
  }
  if (isObject(v) && head.startsWith('f:')) {
    const k = head.slice(2);
    if (!(k in v)) return v;
    const out = { ...v };
    if (!rest.length) delete out[k];
    else out[k] = removePath(childOf(node, k) ?? untyped, v[k], rest);
    return out;
  }
  return v;
}

/**
 * withNamedParents adds, for every path, its ancestors that are fields declared by the schema
 * (not map keys or list items): owning `.spec.x` keeps `.spec` too when pruning.
 */
function withNamedParents(root: Node, set: FieldSet): FieldSet {
  const out = new FieldSet().addAll(set);
  for (const p of set.paths()) {
    let node: Node | undefined = root;
    let key: Key = '';
    for (let i = 0; i < p.length - 1 && node; i++) {
      const e = p[i];
      key = child(key, e);
      if (e.startsWith('f:') && node.type === 'struct' && node.fields.has(e.slice(2))) {
        out.add(key);
        node = node.fields.get(e.slice(2));
      } else if (e.startsWith('f:')) {
        node = childOf(node, e.slice(2));
      } else {
        node = node.type === 'list' ? node.elem : undefined;
      }
    }
  }
  return out;
}

// ---- managers -----------------------------------------------------------------------------

interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

type Managers = Map<string, Manager>;

/** identity is what makes two entries the same manager: kube's rule (apiVersion counts for updates only). */
function identity(m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify([m.manager, m.operation, m.operation === 'Update' ? m.apiVersion : '', m.subresource ?? '']);
}

/**
 * decodeManagers reads `metadata.managedFields`; it throws when they are not well formed.
 * `stored` says the entries are ones this server encoded, so their FieldsV1 can be reused.
 */
function decodeManagers(entries: unknown, stored = false): Managers {
  const out: Managers = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  for (const e of entries) {
    if (!isObject(e)) throw new Error('a managedFields entry must be an object');
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (typeof e.apiVersion !== 'string' || !e.apiVersion) throw new Error('apiVersion must not be empty');
    if (e.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType ${JSON.stringify(e.fieldsType)}`);
    if (e.manager !== undefined && typeof e.manager !== 'string') throw new Error('manager must be a string');
    if (e.subresource !== undefined && typeof e.subresource !== 'string') throw new Error('subresource must be a string');
    if (e.time !== undefined && (typeof e.time !== 'string' || Number.isNaN(Date.parse(e.time)))) throw new Error('time must be a timestamp');
    const m: Manager = {
      manager: (e.manager as string | undefined) ?? '',
      operation: e.operation,
      apiVersion: e.apiVersion,
      subresource: (e.subresource as string | undefined) || undefined,
      time: e.time as string | undefined,
      set: FieldSet.fromFieldsV1(e.fieldsV1),
    };
    if (stored && isObject(e.fieldsV1)) encodedSets.set(m.set, e.fieldsV1 as FieldsV1);
    out.set(identity(m), m);
  }
  return out;
}

/** Decoded managedFields of stored objects, which never change: a write starts from a copy. */
const decoded = new WeakMap<object, Managers>();

const copyManagers = (m: Managers): Managers => new Map([...m].map(([id, x]) => [id, { ...x }]));

const decodeOrEmpty = (entries: unknown): Managers => {
  if (typeof entries === 'object' && entries !== null) {
    const hit = decoded.get(entries);
    if (hit) return copyManagers(hit);
  }
  let out: Managers;
  try {
    out = decodeManagers(entries, true);
  } catch {
    out = new Map();
  }
  if (typeof entries === 'object' && entries !== null) decoded.set(entries, copyManagers(out));
  return out;
};

const seconds = (t: string | undefined) => (t ? Math.floor(Date.parse(t) / 1000) : 0);

/** capUpdaters merges the oldest Update entries into one `ancient-changes` entry beyond maxUpdateManagers. */
function capUpdaters(managers: Managers): void {
  const updaters = [...managers.values()].filter((m) => m.operation === 'Update');
  if (updaters.length <= maxUpdateManagers) return;
  updaters.sort((a, b) => seconds(a.time) - seconds(b.time) || (identity(a) < identity(b) ? -1 : 1));
  const oldest = updaters.slice(0, updaters.length - maxUpdateManagers + 1);
  let set = new FieldSet();
  for (const m of oldest) {
    set = set.union(m.set);
    managers.delete(identity(m));
  }
  const bucket: Manager = { manager: ancientChangesManager, operation: 'Update', apiVersion: servedApiVersion, time: oldest[oldest.length - 1].time, set };
  managers.set(identity(bucket), bucket);
}

/** encodeManagers writes managers in kube's order: Apply before Update, then by time, manager, version, subresource. */
function encodeManagers(managers: Managers): ManagedFieldsEntry[] | undefined {
  const list = [...managers.values()].filter((m) => m.set.size > 0);
  list.sort(
    (a, b) =>
      (a.operation < b.operation ? -1 : a.operation > b.operation ? 1 : 0) ||
      seconds(a.time) - seconds(b.time) ||
      (a.manager < b.manager ? -1 : a.manager > b.manager ? 1 : 0) ||
      (a.apiVersion < b.apiVersion ? -1 : a.apiVersion > b.apiVersion ? 1 : 0) ||
      ((a.subresource ?? '') < (b.subresource ?? '') ? -1 : (a.subresource ?? '') > (b.subresource ?? '') ? 1 : 0),
  );
  if (!list.length) return undefined;
  const entries = list.map((m) => {
    const e: ManagedFieldsEntry = { manager: m.manager, operation: m.operation, apiVersion: m.apiVersion, fieldsType: 'FieldsV1', fieldsV1: m.set.toFieldsV1() };
    if (m.time) e.time = m.time;
    if (m.subresource) e.subresource = m.subresource;
    return e;
  });
  // What decoding the entries would give, so the next write need not decode them. A set
  // holding the root is left out: its encoding drops the root, so it would not decode the same.
  if (!list.some((m) => m.set.has(''))) {
    decoded.set(entries, new Map(list.map((m) => [identity(m), { ...m, subresource: m.subresource || undefined, time: m.time || undefined }])));
  }
  return entries;
}

/**
 * keepDecodedManagedFields lets `to`, a copy of `from` (as the store keeps it), share the
 * managedFields decoded for `from`, so the next write to the stored object need not decode them.
 */
export function keepDecodedManagedFields(from: KubeObject, to: KubeObject): void {
  const hit = from.metadata.managedFields && decoded.get(from.metadata.managedFields);
  if (hit && to.metadata.managedFields) decoded.set(to.metadata.managedFields, hit);
}

// ---- what a write owns --------------------------------------------------------------------

/** Paths the server sets: never owned by anyone (kube's stripped fields). */
const systemPaths = FieldSet.of([
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'generation', 'managedFields', 'resourceVersion'].map((f) => ['f:metadata', `f:${f}`]),
]);

/**
 * resetFields are the top-level fields a write to the object (or to its status) may not
 * change, and so never owns: as paths (`f:status`).
 */
function resetFields(def: KindDef, sub: string | undefined): Key[] {
  if (sub === 'status') return ['metadata', ...Object.keys(def.fields).filter((f) => f !== 'status')].map((f) => `f:${f}`);
  return def.hasStatus ? ['f:status'] : [];
}

/** plain is an object as the field walks see it: without managedFields. */
function plain(obj: KubeObject | undefined, def: KindDef): JsonObject {
  if (!obj) return { apiVersion: servedApiVersion, kind: def.kind };
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...(obj as unknown as JsonObject), metadata };
}

/** diff compares two objects field by field, leaving out the top-level fields in `ignored`. */
function diff(root: Node, live: JsonObject, next: JsonObject, ignored: Key[]): Comparison {
  const res: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  for (const k of new Set([...Object.keys(live), ...Object.keys(next)])) {
    const c = childOf(root, k);
    const key = child('', `f:${k}`);
    if (c && !ignored.includes(key)) compare(c, live[k], next[k], key, res);
  }
  return res;
}

/** recordUpdate gives manager the fields the change from live to next made, taking them from everyone else. */
function recordUpdate(managers: Managers, root: Node, live: JsonObject, next: JsonObject, who: Omit<Manager, 'set' | 'time'>, ignored: Key[], now: Date): void {
  const c = diff(root, live, next, ignored);
  const changed = c.modified.union(c.added);
  for (const m of managers.values()) m.set = m.set.difference(changed).difference(c.removed);
  const owned = changed.difference(c.removed).difference(systemPaths);
  if (owned.size) {
    const id = identity(who);
    const prev = managers.get(id);
    managers.set(id, { ...who, time: toTime(now), set: prev ? prev.set.union(owned) : owned });
  }
  for (const [id, m] of managers) if (!m.set.size) managers.delete(id);
}

/** The write a field manager records. */
export interface FieldManagerWrite {
  def: KindDef;
  /** live is the stored object; undefined for a create. */
  live: KubeObject | undefined;
  manager: string;
  /** sub is 'status' for writes to the status subresource. */
  sub?: string;
  now: Date;
}

/** The JSON of stored managedFields arrays, which never change. */
const storedJSONs = new WeakMap<object, string>();

/** storedJSON is JSON.stringify(entries), made once for a stored managedFields array. */
function storedJSON(entries: unknown[] | undefined): string | undefined {
  if (!entries) return undefined;
  let json = storedJSONs.get(entries);
  if (json === undefined) storedJSONs.set(entries, (json = JSON.stringify(entries)));
  return json;
}

/**
 * updateManagedFields is the managedFields of `next` after an update by manager (a create, a
 * PUT, a merge, JSON or strategic merge patch). `requested` are the managedFields the client
 * sent: kept when well formed (how kubectl migrates client-side apply), `[]` resets them,
 * anything else keeps the live ones.
 */
export function updateManagedFields(w: FieldManagerWrite & { next: KubeObject; requested: unknown }): ManagedFieldsEntry[] | undefined {
  const root = rootOf(w.def);
  const live = w.live?.metadata.managedFields;
  // A write to the status subresource cannot change managedFields; neither can sending back the live ones.
  const req = w.sub === undefined && w.requested !== undefined && JSON.stringify(w.requested) !== storedJSON(live) ? w.requested : undefined;
  let managers: Managers;
  if (Array.isArray(req) && (req.length === 0 || (req.length === 1 && isObject(req[0]) && Object.keys(req[0]).length === 0))) {
    managers = new Map();
  } else {
    let fromRequest: Managers | undefined;
    try {
      if (Array.isArray(req) && req.length) fromRequest = decodeManagers(req);
    } catch {
      fromRequest = undefined;
    }
    managers = fromRequest ?? decodeOrEmpty(live);
  }
  recordUpdate(managers, root, plain(w.live, w.def), plain(w.next, w.def), { manager: w.manager, operation: 'Update', apiVersion: servedApiVersion, subresource: w.sub }, resetFields(w.def, w.sub), w.now);
  capUpdaters(managers);
  return encodeManagers(managers);
}

interface Conflict {
  manager: Manager;
  field: string;
  key: Key;
}

function describeManager(m: Manager): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') s += ` using ${m.apiVersion}`;
  return s;
}

/** applyConflict is kube's 409 for apply conflicts: the message and one cause per field. */
function applyConflict(conflicts: Conflict[]): ApiError {
  const order = (c: Conflict) => `${describeManager(c.manager)}\u0000${c.field}`;
  conflicts.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${describeManager(conflicts[0].manager)}: ${conflicts[0].field}`;
  } else {
    const lines: string[] = [];
    let last = '';
    for (const c of conflicts) {
      const who = describeManager(c.manager);
      if (who !== last) lines.push(`conflicts with ${who}:`);
      last = who;
      lines.push(`- ${c.field}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, {
    causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${describeManager(c.manager)}`, field: c.field })),
  });
}

/**
 * allowedByLastApplied are the fields kubectl's server-side apply may take from client-side
 * apply without a conflict: those the last-applied annotation set and the object still has.
 */
function allowedByLastApplied(root: Node, live: JsonObject): FieldSet {
  const text = (live.metadata as { annotations?: Record<string, string> } | undefined)?.annotations?.[lastAppliedConfigAnnotation];
  if (!text) return new FieldSet();
  let last: unknown;
  try {
    last = JSON.parse(text);
  } catch {
    return new FieldSet();
  }
  if (!isObject(last)) return new FieldSet();
  const set = new FieldSet();
  toFieldSet(root, last, '', set);
  const c = diff(root, last, live, []);
  return set.difference(c.modified).difference(c.added).difference(c.removed);
}

/** sortedJSON encodes as Go encodes a map: keys sorted, and <, >, & escaped. */
function sortedJSON(v: unknown): string {
  const sortKeys = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(sortKeys) : isObject(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sortKeys(x[k])])) : x;
  return JSON.stringify(sortKeys(v)).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * applyConfiguration is server-side apply: it merges `config` (decoded, unknown fields pruned)
 * into the live object, prunes what manager applied before and no longer applies, checks for
 * conflicts (409 unless force) and returns the object with its new managedFields. `sent` is
 * the configuration as the client sent it, for the last-applied annotation kubectl keeps.
 */
export function applyConfiguration(w: FieldManagerWrite & { config: KubeObject; sent: unknown; force: boolean }): KubeObject {
  const root = rootOf(w.def);
  const ignored = resetFields(w.def, w.sub);
  const live = plain(w.live, w.def);
  const managers = decodeOrEmpty(w.live?.metadata.managedFields);
  if (w.live && managers.size === 0) {
    // Everything an untracked object holds belongs to someone before the first apply.
    const empty = plain(undefined, w.def);
    recordUpdate(managers, root, empty, live, { manager: beforeFirstApplyManager, operation: 'Update', apiVersion: servedApiVersion, subresource: w.sub }, ignored, w.now);
  }
  const config = plain(w.config, w.def);
  const configSet = new FieldSet();
  toFieldSet(root, config, '', configSet);
  const applied = configSet.without(ignored);
  const who = { manager: w.manager, operation: 'Apply' as const, apiVersion: servedApiVersion, subresource: w.sub };
  const id = identity(who);
  const previous = managers.get(id);
  managers.set(id, { ...who, time: previous?.time, set: applied });

  let merged = merge(root, live, config) as JsonObject;
  if (previous?.set.size) {
    let owned = new FieldSet();
    for (const m of managers.values()) owned = owned.union(m.set);
    const stale = withNamedParents(root, previous.set).difference(withNamedParents(root, owned));
    for (const p of stale.paths().sort((a, b) => a.length - b.length)) merged = removePath(root, merged, p) as JsonObject;
  }

  const c = diff(root, live, merged, ignored);
  const changed = c.modified.union(c.added);
  let conflicts: Conflict[] = [];
  for (const [mid, m] of managers) {
    if (mid === id) continue;
    for (const k of m.set.intersection(changed).entries()) conflicts.push({ manager: m, key: k, field: pathString(pathOf(k)) });
  }
  let force = w.force;
  if (conflicts.length && !force && w.manager === kubectlApplyManager) {
    const allowed = allowedByLastApplied(root, live);
    conflicts = conflicts.filter((x) => !allowed.has(x.key));
    force = conflicts.length === 0;
  }
  if (conflicts.length && !force) throw applyConflict(conflicts);
  for (const [mid, m] of managers) if (mid !== id) m.set = m.set.difference(changed).difference(c.removed);
  const mine = managers.get(id)!;
  mine.set = mine.set.difference(systemPaths);
  if (!mine.time || JSON.stringify(live) !== JSON.stringify(merged)) mine.time = toTime(w.now);
  for (const [mid, m] of managers) if (!m.set.size) managers.delete(mid);
  capUpdaters(managers);

  const out = merged as unknown as KubeObject;
  out.metadata = { ...out.metadata };
  const annotations = out.metadata.annotations;
  if (w.manager === kubectlApplyManager && annotations?.[lastAppliedConfigAnnotation] !== undefined && isObject(w.sent)) {
    const sent = structuredClone(w.sent) as JsonObject & { metadata?: { annotations?: Record<string, string> } };
    if (sent.metadata?.annotations) delete sent.metadata.annotations[lastAppliedConfigAnnotation];
    out.metadata.annotations = { ...annotations, [lastAppliedConfigAnnotation]: sortedJSON(sent) };
  }
  const entries = encodeManagers(managers);
  if (entries) out.metadata.managedFields = entries;
  else delete out.metadata.managedFields;
  return out;
}

/** Field manager names: at most 128 bytes of printable characters (kube's ValidateFieldManager). */
export const maxFieldManagerLength = 128;

/** managerFromUserAgent is kube's default manager for updates: the User-Agent up to its first `/`. */
export function managerFromUserAgent(userAgent: string | undefined): string {
  let out = '';
  for (const ch of (userAgent ?? '').split('/')[0]) {
    if (!isPrintable(ch)) continue;
    if (Buffer.byteLength(out + ch) > maxFieldManagerLength) break;
    out += ch;
  }
  return out;
}
