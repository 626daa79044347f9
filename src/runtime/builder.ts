import type { KubeObject } from '../apis/meta.ts';
import type { Cache } from './cache.ts';
import type { Controller } from './controller.ts';
import type { ObjectEvent } from './informer.ts';
import type { Reconciler } from './reconciler.ts';
import type { Wake } from './wake.ts';

/** Predicate filters the events that wake a reconciler: false drops the event. */
export type Predicate<T extends KubeObject = KubeObject> = (ev: ObjectEvent<T>) => boolean;

/** MapFn maps a changed object of a watched kind to the names of the objects to reconcile. */
export type MapFn<T extends KubeObject = KubeObject> = (obj: T) => string[];

/**
 * generationChanged passes adds, deletes, and updates that changed metadata.generation (a spec
 * change), dropping status-only and metadata-only updates.
 */
export const generationChanged: Predicate = (ev) =>
  ev.type !== 'update' || ev.old?.metadata.generation !== ev.obj.metadata.generation;

interface Source {
  kind: string;
  map: (obj: KubeObject) => string[];
  predicate?: Predicate;
}

/**
 * ControllerBuilder says in one chain what wakes a reconciler:
 *
 *     mgr.controller('filewatch')
 *       .for('FileWatch')
 *       .watches('ConfigMap', disableSourceMapper(mgr.cache, 'FileWatch'))
 *       .wakes(wake)                      // background work: wake.enqueue(name)
 *       .complete(new FileWatchReconciler(deps));
 *
 * Every kind named here is cached (see Cache), and the controller starts after those caches
 * have synced. Each change is mapped to names and enqueued; for updates both the old and the
 * new object are mapped, so a reference that moved wakes both sides.
 */
export class ControllerBuilder {
  private forKind?: string;
  private readonly sources: Source[] = [];
  private readonly wakers: Wake[] = [];

  constructor(
    private readonly deps: {
      cache: Cache;
      make: (reconciler: Reconciler) => Controller;
    },
  ) {}

  /** for names the kind the reconciler reconciles: a change to X enqueues X's name. */
  for<T extends KubeObject = KubeObject>(kind: string, predicate?: Predicate<T>): this {
    if (this.forKind) throw new Error(`for() was already called with ${this.forKind}`);
    this.forKind = kind;
    this.sources.push({ kind, map: (o) => (o.metadata.name ? [o.metadata.name] : []), predicate: predicate as Predicate });
    return this;
  }

  /**
   * owns names a kind the reconciled objects create: a change to an object enqueues the names in
   * its ownerReferences whose kind is the for() kind.
   */
  owns<T extends KubeObject = KubeObject>(kind: string, predicate?: Predicate<T>): this {
    this.sources.push({
      kind,
      map: (o) => {
        const owner = this.forKind;
        return (o.metadata.ownerReferences ?? []).filter((r) => r.kind === owner).map((r) => r.name);
      },
      predicate: predicate as Predicate,
    });
    return this;
  }

  /** watches names any other kind that the reconciler reads: mapFn says whom a change concerns. */
  watches<T extends KubeObject = KubeObject>(kind: string, mapFn: MapFn<T>, predicate?: Predicate<T>): this {
    this.sources.push({ kind, map: mapFn as MapFn, predicate: predicate as Predicate });
    return this;
  }

  /** wakes binds a Wake: background work that calls `wake.enqueue(name)` reconciles name. */
  wakes(wake: Wake): this {
    this.wakers.push(wake);
    return this;
  }

  /** complete creates the controller, wires its event sources and registers it with the manager. */
  complete(reconciler: Reconciler): Controller {
    if (!this.forKind) throw new Error('for() must name the reconciled kind before complete()');
    const controller = this.deps.make(reconciler);
    for (const src of this.sources) {
      const informer = this.deps.cache.inform(src.kind);
      informer.onEvent((ev) => {
        if (src.predicate && !src.predicate(ev)) return;
        const names = new Set(safeMap(src.map, ev.obj));
        if (ev.type === 'update' && ev.old) for (const n of safeMap(src.map, ev.old)) names.add(n);
        for (const n of names) controller.enqueue(n);
      });
    }
    for (const wake of this.wakers) wake.bind((name) => controller.enqueue(name));
    return controller;
  }
}

function safeMap(map: (obj: KubeObject) => string[], obj: KubeObject): string[] {
  return map(obj) ?? [];
}
