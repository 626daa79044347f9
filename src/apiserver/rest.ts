/**
 * Resources implements the object semantics of a kube-apiserver for the tilt.dev kinds:
 * system metadata, generation, the status subresource both ways, optimistic concurrency,
 * no-op writes, finalizers and two-phase deletion, dry runs and field validation.
 * It knows nothing of HTTP: every failure is an ApiError. The objects it returns are the
 * stored ones (see ObjectStore.write): callers read or encode them, never modify them.
 */
import crypto from 'node:crypto';
import type { KindDef } from '../apis/kind.ts';
import { apiVersion, toTime, type KubeObject, type ObjectMeta } from '../apis/meta.ts';
import { invalid as invalidField, type FieldError } from '../apis/field-errors.ts';
import { validateObject } from '../apis/validate.ts';
import { isPrintable } from '../apis/go.ts';
import { ApiError, alreadyExists, badRequest, conflict, invalid, notFound } from './errors.ts';
import { pruneUnknownMeta, validateMeta } from './metadata.ts';
import { applyPatch, parsePatchBody, type PatchType } from './patch.ts';
import { applyConfiguration, keepDecodedManagedFields, managerFromUserAgent, maxFieldManagerLength, updateManagedFields, type ManagedFieldsEntry } from './managed-fields.ts';
import { canonical, encode, type ObjectStore } from './store.ts';
import type { Matcher } from './selectors.ts';
import type { FieldValidation } from './query.ts';


export interface WriteOptions {
  dryRun?: boolean;
  /** fieldValidation decides what unknown fields do. Default Warn: dropped, with a warning. */
  fieldValidation?: FieldValidation;
  /** fieldManager names who makes the write in managedFields; required for apply. */
  fieldManager?: string;
  /** userAgent names the manager of an update without fieldManager, as kube does. */
  userAgent?: string;
  force?: boolean;
}

export interface WriteResult {
  object: KubeObject;
  warnings: string[];
  created?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

export interface DeleteResult {
  object: KubeObject;
  /** deleted is true when the object is gone, false when it waits on finalizers. */
  deleted: boolean;
}

export type Subresource = 'status' | undefined;

const nameChars = 'bcdfghjklmnpqrstvwxz2456789';
/** The manager of the garbage collector's writes. */
const garbageCollectorManager = 'ferry-garbage-collector';
const maxGenerateAttempts = 8;

export interface ResourcesDeps {
  store: ObjectStore;
  now?: () => Date;
}

export class Resources {
  private readonly store: ObjectStore;
  private readonly now: () => Date;

  constructor(deps: ResourcesDeps) {
    this.store = deps.store;
    this.now = deps.now ?? (() => new Date());
  }

  get(def: KindDef, name: string): KubeObject {
    const obj = this.store.peek(def.plural, name);
    if (!obj) throw notFound(def, name);
    return obj;
  }

  list(def: KindDef, match: Matcher, atRv?: number): { items: KubeObject[]; resourceVersion: number } {
    const rv = atRv ?? this.store.resourceVersion;
    const all = atRv === undefined ? this.store.list(def.plural) : this.store.snapshotAt(def.plural, atRv);
    return { items: all.filter(match), resourceVersion: rv };
  }

  /** decode checks a request body: shape, apiVersion and kind, fields; prunes unknown fields. */
  private decode(def: KindDef, body: unknown, opts: WriteOptions, name: string): { obj: KubeObject; warnings: string[] } {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw badRequest(`the body of the request must be a ${def.kind} object`);
    }
    const obj = structuredClone(body) as Record<string, unknown>;
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`);
    }
    if (obj.kind !== undefined && obj.kind !== def.kind) {
      throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${def.kind})`);
    }
    obj.apiVersion = apiVersion;
    obj.kind = def.kind;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) {
      throw invalid(def.kind, name, [{ type: 'TypeInvalid', field: 'metadata', value: typeof obj.metadata, detail: 'metadata in body must be of type object' }]);
    }
    const unknownMeta = pruneUnknownMeta(obj.metadata as Record<string, unknown>);
    const { errors, unknownFields } = validateObject(def, obj, { structureOnly: true });
    const unknown = [...unknownMeta, ...unknownFields];
    const mode = opts.fieldValidation ?? 'Warn';
    if (unknown.length && mode === 'Strict') {
      throw badRequest(`${def.kind} in version "v1alpha1" cannot be handled as a ${def.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
    }
    const typeErrors = errors.filter((e) => e.type === 'TypeInvalid');
    if (typeErrors.length) throw invalid(def.kind, name, typeErrors);
    return { obj: obj as unknown as KubeObject, warnings: mode === 'Warn' ? unknown.map((f) => `unknown field "${f}"`) : [] };
  }

  /** check validates what will be stored: metadata and the kind's schema and rules. */
  private check(def: KindDef, obj: KubeObject, creating: boolean): void {
    const errs = [...validateMeta(obj.metadata, { creating })];
    const { errors } = validateObject(def, obj as unknown as Record<string, unknown>);
    errs.push(...errors);
    if (errs.length) throw invalid(def.kind, obj.metadata.name || obj.metadata.generateName || '', errs);
  }

  /**
   * create stores a new object. With `applied` it is server-side apply creating the object:
   * the body is the applied configuration, and `applied.sent` the same as the client sent it.
   */
  create(def: KindDef, body: unknown, opts: WriteOptions = {}, applied?: { sent: unknown }): WriteResult {
    if (!applied) checkFieldManager('CreateOptions', opts);
    const meta0 = (body as KubeObject | null)?.metadata;
    const { obj, warnings } = this.decode(def, body, opts, meta0?.name ?? '');
    const meta = obj.metadata;
    const requested = meta.managedFields;
    delete meta.namespace;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.managedFields;
    delete meta.resourceVersion;
    if (def.hasStatus) delete obj.status;
    const now = this.now();
    meta.uid = crypto.randomUUID();
    meta.creationTimestamp = toTime(now);
    meta.generation = 1;
    if (!meta.name && meta.generateName) {
      this.check(def, obj, true);
      for (let i = 0; i < maxGenerateAttempts; i++) {
        const candidate = meta.generateName.slice(0, 58) + randomSuffix();
        if (!this.store.peek(def.plural, candidate)) {
          meta.name = candidate;
          break;
        }
      }
      if (!meta.name) {
        const err = alreadyExists(def, meta.generateName);
        throw new ApiError(409, 'AlreadyExists', `${err.message}, the server was not able to generate a unique name for the object`, { ...err.details, retryAfterSeconds: 1 });
      }
    }
    let created: KubeObject;
    if (applied) {
      created = applyConfiguration({ def, live: undefined, config: obj, sent: applied.sent, manager: opts.fieldManager!, force: !!opts.force, now });
    } else {
      created = obj;
      setManagedFields(created, updateManagedFields({ def, live: undefined, next: obj, requested, manager: managerOf(opts), now }));
    }
    this.check(def, created, true);
    if (this.store.peek(def.plural, meta.name!)) throw alreadyExists(def, meta.name!);
    if (opts.dryRun) return { object: canonical(created), warnings, created: true };
    return { object: this.write(def, created), warnings, created: true };
  }

  /** update replaces an object (PUT), or only its status when sub is 'status'. */
  update(def: KindDef, name: string, body: unknown, opts: WriteOptions = {}, sub?: Subresource): WriteResult {
    checkFieldManager('UpdateOptions', opts);
    const cur = this.store.peek(def.plural, name);
    if (!cur) throw notFound(def, name);
    const { obj, warnings } = this.decode(def, body, opts, name);
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    obj.metadata.name = name;
    const rv = obj.metadata.resourceVersion;
    if (!rv) {
      throw invalid(def.plural, name, [invalidField('metadata.resourceVersion', '0x0', 'must be specified for an update')], 'tilt.dev');
    }
    if (rv !== cur.metadata.resourceVersion) throw conflict(def, name);
    return { ...this.commitUpdate(def, cur, obj, opts, sub), warnings };
  }

  /** patch applies a patch of the given type to an object or its status. */
  patch(def: KindDef, name: string, type: PatchType, raw: string, opts: WriteOptions = {}, sub?: Subresource): WriteResult {
    if (opts.force && type !== 'apply') {
      throw invalid('PatchOptions.meta.k8s.io', '', [{ type: 'Forbidden', field: 'force', detail: 'may not be specified for non-apply patch' }], '');
    }
    if (type === 'apply' && !opts.fieldManager) {
      throw invalid('PatchOptions.meta.k8s.io', '', [{ type: 'Required', field: 'fieldManager', detail: 'is required for apply patch' }], '');
    }
    checkFieldManager('PatchOptions', opts);
    const body = parsePatchBody(type, raw);
    if (type === 'apply') return this.apply(def, name, body, opts, sub);
    const cur = this.store.peek(def.plural, name);
    if (!cur) throw notFound(def, name);
    const patched = applyPatch(type, cur as never, body) as unknown as KubeObject;
    if (!patched.metadata || typeof patched.metadata !== 'object') patched.metadata = {};
    if (patched.metadata.resourceVersion && patched.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      throw conflict(def, name);
    }
    if (patched.metadata.name !== undefined && patched.metadata.name !== name) {
      throw badRequest(`the name of the object (${patched.metadata.name}) does not match the name on the URL (${name})`);
    }
    const { obj, warnings } = this.decode(def, patched, opts, name);
    obj.metadata.name = name;
    return { ...this.commitUpdate(def, cur, obj, opts, sub), warnings };
  }

  /**
   * apply is server-side apply: it creates a missing object, or merges the configuration into
   * the live one with field ownership (see managed-fields.ts).
   */
  private apply(def: KindDef, name: string, body: unknown, opts: WriteOptions, sub: Subresource): WriteResult {
    const applied = body as KubeObject | null;
    if (!applied || typeof applied !== 'object' || Array.isArray(applied)) throw badRequest('the applied configuration must be an object');
    if (!applied.apiVersion || !applied.kind) throw badRequest('apiVersion and kind must be set in an applied configuration');
    if (applied.metadata?.name !== name) {
      throw badRequest(`the name of the object (${applied.metadata?.name ?? ''}) does not match the name on the URL (${name})`);
    }
    if (applied.metadata.managedFields !== undefined && applied.metadata.managedFields !== null) throw badRequest('metadata.managedFields must be nil');
    const cur = this.store.peek(def.plural, name);
    if (!cur) {
      if (sub) throw notFound(def, name);
      return this.create(def, applied, opts, { sent: body });
    }
    const { obj: config, warnings } = this.decode(def, applied, opts, name);
    const object = applyConfiguration({ def, live: cur, config, sent: body, manager: opts.fieldManager!, force: !!opts.force, sub, now: this.now() });
    if (object.metadata.resourceVersion && object.metadata.resourceVersion !== cur.metadata.resourceVersion) throw conflict(def, name);
    return { ...this.commitUpdate(def, cur, object, opts, sub, true), warnings };
  }

  /**
   * commitUpdate turns a requested object into the stored one: the status subresource
   * rules, system metadata, generation, finalizer rules, field ownership (already done by
   * `applied` writes); then writes it unless nothing changed.
   */
  private commitUpdate(def: KindDef, cur: KubeObject, req: KubeObject, opts: WriteOptions, sub: Subresource, applied = false): WriteResult {
    const requested = req.metadata.managedFields;
    let next: KubeObject;
    if (sub === 'status') {
      next = structuredClone(cur);
      if (req.status === undefined) delete next.status;
      else next.status = req.status;
    } else {
      next = req;
      if (def.hasStatus) {
        if (cur.status === undefined) delete next.status;
        else next.status = cur.status;
      }
      const m = next.metadata;
      if (m.uid && m.uid !== cur.metadata.uid) {
        throw conflict(def, cur.metadata.name!, `Precondition failed: UID in precondition: ${m.uid}, UID in object meta: ${cur.metadata.uid}`);
      }
      m.uid = cur.metadata.uid;
      m.creationTimestamp = cur.metadata.creationTimestamp;
      m.generation = cur.metadata.generation;
      delete m.namespace;
      delete m.managedFields;
      delete m.generateName;
      if (cur.metadata.generateName) m.generateName = cur.metadata.generateName;
      if (cur.metadata.deletionTimestamp) {
        m.deletionTimestamp = cur.metadata.deletionTimestamp;
        m.deletionGracePeriodSeconds = cur.metadata.deletionGracePeriodSeconds;
        const added = (m.finalizers ?? []).filter((f) => !(cur.metadata.finalizers ?? []).includes(f));
        if (added.length) {
          throw invalid(def.kind, cur.metadata.name!, [{ type: 'Forbidden', field: 'metadata.finalizers', detail: `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` }]);
        }
      } else {
        delete m.deletionTimestamp;
        delete m.deletionGracePeriodSeconds;
      }
      if (specChanged(cur, next)) m.generation = (cur.metadata.generation ?? 0) + 1;
    }
    next.metadata.resourceVersion = cur.metadata.resourceVersion;
    if (next.metadata.finalizers?.length === 0) delete next.metadata.finalizers;
    if (next.metadata.labels && Object.keys(next.metadata.labels).length === 0) delete next.metadata.labels;
    if (next.metadata.annotations && Object.keys(next.metadata.annotations).length === 0) delete next.metadata.annotations;
    if (next.metadata.ownerReferences?.length === 0) delete next.metadata.ownerReferences;
    if (applied) setManagedFields(next, requested as ManagedFieldsEntry[] | undefined);
    else setManagedFields(next, updateManagedFields({ def, live: cur, next, requested, manager: managerOf(opts), sub, now: this.now() }));
    this.check(def, next, false);
    const canon = canonical(next);
    if (JSON.stringify(canon) === encode(cur)) return { object: cur, warnings: [] };
    if (opts.dryRun) return { object: canon, warnings: [] };
    if (canon.metadata.deletionTimestamp && !canon.metadata.finalizers?.length) {
      this.store.write(def.plural, canon);
      return { object: this.store.remove(def.plural, canon.metadata.name!)!, warnings: [] };
    }
    return { object: this.write(def, canon, next), warnings: [] };
  }

  delete(def: KindDef, name: string, opts: DeleteOptions = {}): DeleteResult {
    const cur = this.store.peek(def.plural, name);
    if (!cur) throw notFound(def, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata.uid) {
      throw conflict(def, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw conflict(def, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
    }
    let policy = opts.propagationPolicy;
    if (policy && !['Background', 'Foreground', 'Orphan'].includes(policy)) {
      throw invalid('DeleteOptions.meta.k8s.io', '', [{ type: 'NotSupported', field: 'propagationPolicy', value: policy, supported: ['Foreground', 'Background', 'Orphan', 'nil'] }], '');
    }
    if (!policy && opts.orphanDependents !== undefined) policy = opts.orphanDependents ? 'Orphan' : 'Background';
    const finalizers = [...(cur.metadata.finalizers ?? [])];
    const policyFinalizer = policy === 'Orphan' ? 'orphan' : policy === 'Foreground' ? 'foregroundDeletion' : undefined;
    if (cur.metadata.deletionTimestamp) return { object: cur, deleted: false };
    if (policyFinalizer && !finalizers.includes(policyFinalizer)) finalizers.push(policyFinalizer);
    if (finalizers.length === 0) {
      if (opts.dryRun) return { object: cur, deleted: true };
      return { object: this.store.remove(def.plural, name)!, deleted: true };
    }
    const next: KubeObject = structuredClone(cur);
    next.metadata.deletionTimestamp = toTime(this.now());
    next.metadata.deletionGracePeriodSeconds = 0;
    next.metadata.finalizers = finalizers;
    next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
    if (opts.dryRun) return { object: canonical(next), deleted: false };
    return { object: this.write(def, next, cur), deleted: false };
  }

  /**
   * write stores obj and returns the stored copy, which keeps the managedFields already decoded
   * for `from` (obj itself, or what obj was copied from).
   */
  private write(def: KindDef, obj: KubeObject, from: KubeObject = obj): KubeObject {
    const stored = this.store.write(def.plural, obj);
    keepDecodedManagedFields(from, stored);
    return stored;
  }

  /** updateMeta changes an object's metadata in place of a client, e.g. for garbage collection. */
  updateMeta(def: KindDef, name: string, mutate: (meta: ObjectMeta) => void): void {
    const cur = this.store.peek(def.plural, name);
    if (!cur) return;
    const next = structuredClone(cur);
    mutate(next.metadata);
    this.commitUpdate(def, cur, next, { fieldManager: garbageCollectorManager }, undefined);
  }
}

/** managerOf is who a write is recorded for: the fieldManager parameter, else from the User-Agent. */
function managerOf(opts: WriteOptions): string {
  return opts.fieldManager ?? managerFromUserAgent(opts.userAgent);
}

/** checkFieldManager answers 422 for a fieldManager kube would refuse: too long, or not printable. */
function checkFieldManager(options: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions', opts: WriteOptions): void {
  const m = opts.fieldManager;
  if (m === undefined) return;
  const errs: FieldError[] = [];
  if (Buffer.byteLength(m) > maxFieldManagerLength) errs.push({ type: 'TooLong', field: 'fieldManager', detail: `may not be more than ${maxFieldManagerLength} bytes` });
  let i = 0;
  for (const ch of m) {
    if (!isPrintable(ch)) errs.push(invalidField('fieldManager', m, `invalid character U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} (at position ${i})`));
    i += ch.length;
  }
  if (errs.length) throw invalid(`${options}.meta.k8s.io`, '', errs, '');
}

function setManagedFields(obj: KubeObject, entries: ManagedFieldsEntry[] | undefined): void {
  if (entries) obj.metadata.managedFields = entries;
  else delete obj.metadata.managedFields;
}

function randomSuffix(): string {
  const bytes = crypto.randomBytes(5);
  return [...bytes].map((b) => nameChars[b % nameChars.length]).join('');
}

/** specChanged is true when anything but metadata and status differs. */
function specChanged(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o as KubeObject & Record<string, unknown>;
    return JSON.stringify(canonical(rest));
  };
  return strip(a) !== strip(b);
}
