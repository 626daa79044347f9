/**
 * The controller runtime: what every ferry reconciler runs on.
 *
 * A reconciler is one class with one method:
 *
 *     export class FileWatchReconciler implements Reconciler {
 *       constructor(private readonly deps: { client: Client; cache: Cache; clock: Clock }) {}
 *       async reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void> {
 *         const fw = await this.deps.client.get<FileWatch>('FileWatch', req.name);  // or deps.cache.get
 *         if (!fw || fw.metadata.deletionTimestamp) { teardown(req.name); return; }
 *         const status = computeStatus(fw, ...);                 // pure, beside the reconciler
 *         await updateStatusIfChanged(this.deps.client, fw, status);
 *       }
 *     }
 *
 * and is wired once, in one chain saying what wakes it:
 *
 *     const mgr = new Manager({ kubeConfig, log, clock, metrics });
 *     const ctrl = mgr.controller('filewatch', { concurrency: 4 })
 *       .for('FileWatch')
 *       .watches('ConfigMap', disableSourceMapper(mgr.cache, 'FileWatch'))
 *       .complete(new FileWatchReconciler({ client: mgr.client, cache: mgr.cache, clock: mgr.clock }));
 *     await mgr.start();              // informers list+watch, caches sync, controllers start
 *     ctrl.enqueue('my-filewatch');   // any event loop can wake a reconcile
 *     await mgr.stop();               // waits for reconciles in flight
 *
 * Reads: `client.get` asks the server; `cache.get/list/byIndex` answer from memory (kinds named in
 * a builder, or `cache.inform(kind)`), frozen objects shared with everyone: copy before changing.
 * Writes go through `client` (HTTP). Every timer uses the injected `Clock`; tests use FakeClock.
 */
export type { Reconciler, Request, Result, ReconcileContext } from './reconciler.ts';
export { TerminalError } from './reconciler.ts';

export { realClock, FakeClock, settle, sleep, type Clock, type TimerHandle } from '../util/clock.ts';

export { WorkQueue, type WorkQueueMetrics } from './work-queue.ts';
export {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
  type RateLimiter,
} from './rate-limiter.ts';

export { Informer, type ObjectEvent, type EventHandler, type ListWatcher, type InformerOptions } from './informer.ts';
export { Cache, type CacheListOptions } from './cache.ts';
export { read, type Reader } from './reader.ts';
export { Store, type IndexFn } from './store.ts';

export { Controller, type ControllerOptions } from './controller.ts';
export { ControllerBuilder, generationChanged, type MapFn, type Predicate } from './builder.ts';
export { Wake } from './wake.ts';
export { AnnotationWriter, type AnnotationWriterDeps } from './annotation-writer.ts';
export { Manager, type ManagerDeps, type Runnable } from './manager.ts';
export { RuntimeMetrics, reconcileOutcomes, type ReconcileOutcome } from './metrics.ts';

export { updateStatusIfChanged, setFinalizer, jsonEqual } from './status.ts';

export type { Client, ListOptions, DeleteOptions } from '../client/client.ts';
export { ApiError, isNotFound, isConflict, isAlreadyExists, isGone } from '../client/errors.ts';
