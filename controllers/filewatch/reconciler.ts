import type { Logger } from 'winston';
import type { FileEvent, FileWatch } from '../../src/apis/index.ts';
import { toMicroTime, toTime } from '../../src/apis/index.ts';
import { createIgnoreMatcher } from '../../src/adapters/ignore/matcher.ts';
import { EventBatcher, defaultQuietMs } from '../../src/adapters/watch/batcher.ts';
import type { FileWatcher, FileWatcherFactory } from '../../src/adapters/watch/file-watcher.ts';
import { FsWatchWatcher } from '../../src/adapters/watch/fs-watch-watcher.ts';
import { ChokidarWatcher, defaultPollIntervalMs } from '../../src/adapters/watch/chokidar-watcher.ts';
import { pollingReason } from '../../src/adapters/watch/filesystem.ts';
import { read, updateStatusIfChanged, type Cache, type Client, type Clock, type ReconcileContext, type Reconciler, type Request, type Result } from '../../src/runtime/index.ts';
import { disableStatusFor, type FileBatches } from '../../src/tilt/index.ts';
import {
  changedSinceMs,
  errorTexts,
  fileWatchStatus,
  initialRestartBackoffMs,
  nextBackoffMs,
  pollAnnotation as pollAnnotationKey,
  pollingDecision,
  recordBatch,
  watchSpecKey,
  type PollingState,
  type WatchHistory,
} from './status.ts';
import type { Wake } from '../../src/runtime/index.ts';

export const kind = 'FileWatch';

/** FileWatchReconcilerDeps are what the reconciler is built from. */
export interface FileWatchReconcilerDeps {
  client: Client;
  cache: Cache;
  /** clock stamps events and drives batching and restart backoff. */
  clock: Clock;
  log: Logger;
  /** wake asks for a reconcile of a FileWatch (its watcher saw a batch, an error, or died). */
  wake: Wake;
  /** quietMs is the base batching quiet period. Default defaultQuietMs (10 ms). */
  quietMs?: number;
  /** adaptiveQuiet grows the quiet period while a burst goes on (see EventBatcher). Default true. */
  adaptiveQuiet?: boolean;
  /** maxBatchMs bounds a batch. Default 10 s (EventBatcher's default). */
  maxBatchMs?: number;
  /** newWatcher builds the OS watcher that uses kernel events. Default: FsWatchWatcher. */
  newWatcher?: FileWatcherFactory;
  /** poll makes every FileWatch poll (`--filewatch-poll`). Default false: only where needed. */
  poll?: boolean;
  /** pollIntervalMs is how often a polling watcher looks. Default defaultPollIntervalMs (100 ms). */
  pollIntervalMs?: number;
  /** newPollingWatcher builds a polling watcher. Default: ChokidarWatcher in polling mode. */
  newPollingWatcher?: FileWatcherFactory;
  /**
   * detectNoEvents says why some of the paths must be polled (their filesystem delivers no kernel
   * events), or undefined. Default: pollingReason (reads /proc/self/mountinfo).
   */
  detectNoEvents?: (paths: readonly string[]) => string | undefined;
  /**
   * batches receives the exact paths of each batch whose seenFiles were shortened to fit the
   * status, for the LiveUpdates of this daemon (see FileBatches). Default: none kept.
   */
  batches?: FileBatches;
}

/** Running is one FileWatch's live watcher and what it has seen. */
interface Running {
  specKey: string;
  /** uid is the FileWatch's, for the batches kept in FileBatches. */
  uid?: string;
  /** polling is set when this watcher polls, with why. */
  polling?: PollingState;
  watchedPaths: string[];
  watcher?: FileWatcher;
  batcher?: EventBatcher;
  history: WatchHistory;
  monitorStartTime?: string;
  error?: string;
  /** done: the watcher closed by itself and waits for its restart. */
  done: boolean;
  doneAtMs?: number;
  /** backoffMs is how long after closing by itself this watcher waits to be restarted. */
  backoffMs: number;
  /** reported is the last error logged, so a failure is logged when it changes. */
  reported?: string;
}

/**
 * FileWatchReconciler runs one file watcher per enabled FileWatch and writes what it sees to
 * status (see status.ts for the rules):
 * - a missing or deleting FileWatch: its watcher is stopped;
 * - disabled by its disableSource (state Disabled only; Pending and Error keep watching): the
 *   watcher is stopped and the status is only the disableStatus;
 * - a new watch spec (paths or ignores) starts a new watcher; the event history carries over;
 * - a watcher that closed by itself is restarted after a backoff (1 s doubling to 5 min);
 * - paths on a filesystem that delivers no kernel events (or a FileWatch asked to poll) are
 *   watched by polling, shown by the condition `Polling` in status.
 */
export class FileWatchReconciler implements Reconciler {
  private readonly deps: FileWatchReconcilerDeps;
  private readonly newWatcher: FileWatcherFactory;
  private readonly newPollingWatcher: FileWatcherFactory;
  private readonly pollIntervalMs: number;
  private readonly running = new Map<string, Running>();

  constructor(deps: FileWatchReconcilerDeps) {
    this.deps = deps;
    this.pollIntervalMs = deps.pollIntervalMs ?? defaultPollIntervalMs;
    this.newWatcher = deps.newWatcher ?? ((opts) => new FsWatchWatcher(opts));
    this.newPollingWatcher = deps.newPollingWatcher ?? ((opts) => new ChokidarWatcher({ ...opts, pollIntervalMs: this.pollIntervalMs }));
  }

  async reconcile(req: Request, _ctx?: ReconcileContext): Promise<Result | void> {
    // Wall time, not the clock: it is compared with the files' own timestamps.
    const startedMs = Date.now();
    // From the cache: no round trip on the path from a save to the sync. A cache behind our own
    // last status write makes that write conflict, and updateStatusIfChanged then reads afresh.
    const fw = await read<FileWatch>(this.deps.cache, kind, req.name);
    if (!fw || fw.metadata.deletionTimestamp) {
      const uid = this.running.get(req.name)?.uid ?? fw?.metadata.uid;
      await this.stop(req.name);
      if (uid) this.deps.batches?.forget(uid);
      return;
    }
    const now = this.deps.clock.now();
    const disableStatus = disableStatusFor(this.deps.cache, fw, now);
    if (disableStatus.state === 'Disabled') {
      const uid = this.running.get(req.name)?.uid;
      await this.stop(req.name);
      if (uid) this.deps.batches?.forget(uid); // the status drops its events
      await updateStatusIfChanged(this.deps.client, fw, fileWatchStatus(disableStatus, undefined, undefined));
      return;
    }

    let result: Result | void = undefined;
    const specKey = this.specKeyOf(fw);
    let run = this.running.get(req.name);
    if (!run || run.specKey !== specKey) {
      run = await this.start(req.name, fw, run, changedSinceMs(fw, startedMs));
    } else if (run.done) {
      const waitMs = (run.doneAtMs ?? 0) + run.backoffMs - now.getTime();
      if (waitMs > 0) result = { requeueAfterMs: waitMs };
      else run = await this.start(req.name, fw, run, changedSinceMs(fw, startedMs));
    }

    if (run.uid && run.uid !== fw.metadata.uid) this.deps.batches?.forget(run.uid); // recreated under the same name
    run.uid = fw.metadata.uid;
    if (run.error && run.error !== run.reported) this.deps.log.warn('FileWatch failed', { name: req.name, error: run.error });
    run.reported = run.error;
    await updateStatusIfChanged(this.deps.client, fw, fileWatchStatus(disableStatus, run, run.history));
    return result;
  }

  /** watching lists the FileWatches that have a live watcher. */
  watching(): string[] {
    return [...this.running].filter(([, r]) => r.watcher && !r.done).map(([n]) => n);
  }

  /** close stops every watcher (on shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.running.keys()].map((n) => this.stop(n)));
  }

  /**
   * start builds and starts a watcher for fw, replacing prev (closed after the new one started).
   * The history carries over; the error and the backoff only when the spec is the same. Files
   * changed from sinceMs (wall time) on, before the watcher was ready, are reported too.
   */
  private async start(name: string, fw: FileWatch, prev: Running | undefined, sinceMs: number): Promise<Running> {
    const spec = fw.spec ?? { watchedPaths: [] };
    const specKey = this.specKeyOf(fw);
    const sameSpec = prev?.specKey === specKey;
    const poll = pollingDecision(fw, !!this.deps.poll, this.deps.detectNoEvents ?? ((paths) => pollingReason(paths)), this.pollIntervalMs);
    const run: Running = {
      specKey,
      uid: fw.metadata.uid,
      watchedPaths: [...(spec.watchedPaths ?? [])],
      history: prev?.history ?? { fileEvents: [] },
      done: false,
      backoffMs: sameSpec ? nextBackoffMs(prev!.backoffMs) : initialRestartBackoffMs,
      error: sameSpec ? prev?.error : undefined,
      reported: prev?.reported,
      polling: poll ? { ...poll, since: prev?.polling?.reason === poll.reason ? prev.polling.since : toTime(this.deps.clock.now()) } : undefined,
    };
    this.running.set(name, run);

    const batcher = new EventBatcher({
      clock: this.deps.clock,
      quietMs: this.deps.quietMs ?? defaultQuietMs,
      adaptive: this.deps.adaptiveQuiet,
      maxBatchMs: this.deps.maxBatchMs,
      onBatch: (paths, lastChangeUs) => {
        if (this.running.get(name) !== run) return;
        // A batch too large for its event keeps its exact paths for this daemon's LiveUpdates,
        // as long as its event stays in the history.
        const { batches } = this.deps;
        const uid = run.uid;
        const keep = batches && uid ? (ev: FileEvent, exact: string[]) => batches.record(uid, ev.time, ev.seenFiles, exact) : undefined;
        run.history = recordBatch(run.history, paths, lastChangeUs, run.watchedPaths, keep);
        if (batches && uid && paths.length > 0) batches.retain(uid, run.history.fileEvents.map((e) => e.time));
        run.error = undefined;
        this.deps.wake.enqueue(name);
      },
    });
    let watcher: FileWatcher;
    try {
      if (poll) this.deps.log.info('Watching by polling', { name, reason: poll.reason, detail: poll.message });
      watcher = (poll ? this.newPollingWatcher : this.newWatcher)({
        paths: run.watchedPaths,
        ignore: createIgnoreMatcher(spec.ignores ?? []),
        clock: this.deps.clock,
        changedSinceMs: sinceMs,
        handlers: {
          onChange: (paths) => batcher.add(paths),
          onBusy: (busy) => batcher.setBusy(busy),
          onError: (err) => {
            if (this.running.get(name) !== run) return;
            run.error = err.message;
            this.deps.wake.enqueue(name);
          },
          onClose: () => {
            if (this.running.get(name) !== run || run.done) return;
            batcher.flush();
            batcher.close();
            run.done = true;
            run.doneAtMs = this.deps.clock.now().getTime();
            if (!run.error) run.error = errorTexts.unexpectedClose;
            this.deps.wake.enqueue(name);
          },
        },
      });
      await watcher.start();
    } catch (err) {
      // Not retried until the spec changes: the watcher is not marked done.
      batcher.close();
      run.error = errorTexts.init(err);
      await this.closeRun(prev);
      return run;
    }
    run.watcher = watcher;
    run.batcher = batcher;
    run.monitorStartTime = toMicroTime(this.deps.clock.now());
    await this.closeRun(prev);
    return run;
  }

  /** specKeyOf identifies what a watcher is built from: paths, ignores and the poll annotation. */
  private specKeyOf(fw: FileWatch): string {
    return watchSpecKey(fw.spec ?? { watchedPaths: [] }) + (fw.metadata.annotations?.[pollAnnotationKey] ?? '');
  }

  private async stop(name: string): Promise<void> {
    const run = this.running.get(name);
    this.running.delete(name);
    await this.closeRun(run);
  }

  private async closeRun(run: Running | undefined): Promise<void> {
    if (!run) return;
    run.batcher?.close();
    const w = run.watcher;
    run.watcher = undefined;
    await w?.close().catch((err) => this.deps.log.warn('Closing a file watcher failed', { error: String(err) }));
  }
}
