/**
 * GarbageCollector does in-process what kube-controller-manager's garbage collector does
 * for ownerReferences: background deletion of dependents whose owners are all gone,
 * foreground deletion (dependents first, then the owner) and orphaning.
 * Owner identity is by uid: a same-named recreated owner is a different owner.
 *
 * As in kube, an owner whose kind this server cannot resolve (another group or version, or a
 * kind not served here, such as Tilt's `Tiltfile`) is never taken for absent: an object with
 * such an owner is left alone, however its other owners fare, and the fact is logged once.
 */
import { kindByName, kindByPlural } from '../apis/registry.ts';
import { apiVersion, type KubeObject, type OwnerReference } from '../apis/meta.ts';
import type { Resources } from './rest.ts';
import type { ChangeEvent, ObjectStore } from './store.ts';
import type { Logger } from 'winston';

interface Ref {
  resource: string;
  name: string;
}

const key = (r: Ref) => `${r.resource}/${r.name}`;

export class GarbageCollector {
  private readonly store: ObjectStore;
  private readonly resources: Resources;
  private readonly log?: Logger;
  /** uid → the object that has it. */
  private readonly byUid = new Map<string, Ref>();
  /** owner uid → keys of objects that list it as an owner. */
  private readonly dependents = new Map<string, Set<string>>();
  /** Objects to look at on the next pass. */
  private readonly pending = new Set<string>();
  /** uids of objects already logged as having an owner of a kind not served here. */
  private readonly unresolvedLogged = new Set<string>();
  private scheduled = false;
  private unsubscribe?: () => void;

  constructor(deps: { store: ObjectStore; resources: Resources; log?: Logger }) {
    this.store = deps.store;
    this.resources = deps.resources;
    this.log = deps.log;
  }

  start(): void {
    for (const resource of this.store.resources()) {
      for (const obj of this.store.list(resource)) {
        this.index(resource, obj);
        this.pending.add(key({ resource, name: obj.metadata.name! }));
      }
    }
    this.unsubscribe = this.store.subscribe('*', (ev) => this.onEvent(ev));
    this.schedule();
  }

  stop(): void {
    this.unsubscribe?.();
  }

  private index(resource: string, obj: KubeObject): void {
    const k = key({ resource, name: obj.metadata.name! });
    this.byUid.set(obj.metadata.uid!, { resource, name: obj.metadata.name! });
    for (const ref of obj.metadata.ownerReferences ?? []) {
      let set = this.dependents.get(ref.uid);
      if (!set) this.dependents.set(ref.uid, (set = new Set()));
      set.add(k);
    }
  }

  private unindex(resource: string, obj: KubeObject): void {
    const k = key({ resource, name: obj.metadata.name! });
    if (this.byUid.get(obj.metadata.uid!)?.name === obj.metadata.name) this.byUid.delete(obj.metadata.uid!);
    for (const ref of obj.metadata.ownerReferences ?? []) this.dependents.get(ref.uid)?.delete(k);
  }

  private onEvent(ev: ChangeEvent): void {
    if (ev.prev) this.unindex(ev.resource, ev.prev);
    const k = key({ resource: ev.resource, name: ev.object.metadata.name! });
    if (ev.type === 'DELETED') {
      this.unresolvedLogged.delete(ev.object.metadata.uid!);
      for (const dep of this.dependents.get(ev.object.metadata.uid!) ?? []) this.pending.add(dep);
      // An owner waiting for this dependent in the foreground may now be free to go.
      for (const ref of ev.object.metadata.ownerReferences ?? []) {
        const owner = this.byUid.get(ref.uid);
        if (owner) this.pending.add(key(owner));
      }
    } else {
      this.index(ev.resource, ev.object);
      this.pending.add(k);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const work = [...this.pending];
      this.pending.clear();
      for (const k of work) {
        try {
          this.process(k);
        } catch (err) {
          this.log?.warn('Garbage collection failed', { object: k, error: (err as Error).message });
        }
      }
    });
  }

  private process(k: string): void {
    const slash = k.indexOf('/');
    const resource = k.slice(0, slash);
    const name = k.slice(slash + 1);
    const def = kindByPlural(resource);
    const obj = this.store.peek(resource, name);
    if (!def || !obj) return;
    const meta = obj.metadata;
    const uid = meta.uid!;

    if (meta.deletionTimestamp && meta.finalizers?.includes('orphan')) {
      for (const dep of [...(this.dependents.get(uid) ?? [])]) {
        const [r, ...n] = dep.split('/');
        const depDef = kindByPlural(r);
        if (depDef) this.resources.updateMeta(depDef, n.join('/'), (m) => {
          m.ownerReferences = (m.ownerReferences ?? []).filter((ref) => ref.uid !== uid);
        });
      }
      this.resources.updateMeta(def, name, (m) => {
        m.finalizers = (m.finalizers ?? []).filter((f) => f !== 'orphan');
      });
      return;
    }

    if (meta.deletionTimestamp && meta.finalizers?.includes('foregroundDeletion')) {
      let blocking = 0;
      for (const dep of [...(this.dependents.get(uid) ?? [])]) {
        const [r, ...n] = dep.split('/');
        const depName = n.join('/');
        const depDef = kindByPlural(r);
        const depObj = this.store.peek(r, depName);
        if (!depDef || !depObj) continue;
        const ref = depObj.metadata.ownerReferences?.find((o) => o.uid === uid);
        if (ref?.blockOwnerDeletion) blocking++;
        if (!depObj.metadata.deletionTimestamp) this.resources.delete(depDef, depName, { propagationPolicy: 'Background' });
      }
      if (blocking === 0) {
        this.resources.updateMeta(def, name, (m) => {
          m.finalizers = (m.finalizers ?? []).filter((f) => f !== 'foregroundDeletion');
        });
      }
      return;
    }

    const refs = meta.ownerReferences ?? [];
    if (refs.length === 0) return;
    const unresolvable = refs.find((ref) => !servesKind(ref));
    if (unresolvable) {
      if (!this.unresolvedLogged.has(uid)) {
        this.unresolvedLogged.add(uid);
        this.log?.info('Owner kind not served; dependent left alone', {
          object: k,
          owner: { apiVersion: unresolvable.apiVersion, kind: unresolvable.kind, name: unresolvable.name },
        });
      }
      return;
    }
    const alive = refs.filter((ref) => this.ownerExists(ref.uid, ref.kind));
    if (alive.length === refs.length) return;
    if (alive.length === 0) {
      if (!meta.deletionTimestamp) this.resources.delete(def, name, { propagationPolicy: 'Background' });
    } else {
      this.resources.updateMeta(def, name, (m) => {
        m.ownerReferences = alive;
      });
    }
  }

  private ownerExists(uid: string, kind: string): boolean {
    const ref = this.byUid.get(uid);
    if (!ref) return false;
    const obj = this.store.peek(ref.resource, ref.name);
    return !!obj && obj.metadata.uid === uid && obj.kind === kind;
  }
}

/** servesKind is true when ref names a kind this server serves, in its group and version. */
function servesKind(ref: OwnerReference): boolean {
  return ref.apiVersion === apiVersion && kindByName(ref.kind) !== undefined;
}
