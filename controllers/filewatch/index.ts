/** The FileWatch controller: watches files with .dockerignore rules and records batches of changes. */
import type { Logger } from 'winston';
import { defaultQuietMs } from '../../src/adapters/watch/batcher.ts';
import type { FileWatcherFactory } from '../../src/adapters/watch/file-watcher.ts';
import { type Clock, type Controller, type Manager } from '../../src/runtime/index.ts';
import { disableSourceMapper, type FileBatches } from '../../src/tilt/index.ts';
import { FileWatchReconciler, kind } from './reconciler.ts';
import { Wake } from '../../src/runtime/index.ts';

export { FileWatchReconciler, type FileWatchReconcilerDeps } from './reconciler.ts';
export { boundSeenFiles, fileWatchStatus, maxFileEventHistory, maxSeenFilesChars, pollAnnotation, pollingCondition, pollingDecision, recordBatch } from './status.ts';
export { createIgnoreMatcher, editorTempPatterns, type IgnoreMatcher } from '../../src/adapters/ignore/matcher.ts';

/** defaultFileWatchQuietMs is the default of `--filewatch-quiet-ms`: 10 ms, growing while a burst goes on. */
export const defaultFileWatchQuietMs = defaultQuietMs;

/** FileWatchSetupDeps are what `setup` needs beyond the manager; every field has a default. */
export interface FileWatchSetupDeps {
  /** log is the parent logger. Default: the manager's. */
  log?: Logger;
  /** clock stamps events and drives batching and restarts. Default: the manager's. */
  clock?: Clock;
  /** quietMs is the base batching quiet period (`--filewatch-quiet-ms`). Default 10. */
  quietMs?: number;
  /** adaptiveQuiet grows the quiet period while a burst goes on. Default true. */
  adaptiveQuiet?: boolean;
  /** poll makes every FileWatch poll (`--filewatch-poll`). Default false: only where kernel events do not arrive. */
  poll?: boolean;
  /** pollIntervalMs is how often polling watchers look. Default 100. */
  pollIntervalMs?: number;
  /** newPollingWatcher builds a polling watcher. Default: ChokidarWatcher polling. */
  newPollingWatcher?: FileWatcherFactory;
  /** detectNoEvents finds paths on filesystems without kernel events. Default: /proc/self/mountinfo. */
  detectNoEvents?: (paths: readonly string[]) => string | undefined;
  /** batches receives the exact paths of batches whose seenFiles were shortened (for this daemon's LiveUpdates). */
  batches?: FileBatches;
  /** newWatcher builds the OS watcher. Default: FsWatchWatcher. */
  newWatcher?: FileWatcherFactory;
  /** concurrency is how many FileWatches are reconciled at once. Default 4. */
  concurrency?: number;
}

/**
 * setup registers the FileWatch controller with the manager. It reconciles on changes to the
 * FileWatch and to the ConfigMaps of its disableSource, and when its watcher reports. The
 * watchers are closed when the manager stops.
 */
export function setup(mgr: Manager, deps: FileWatchSetupDeps = {}): { controller: Controller; reconciler: FileWatchReconciler } {
  const log = (deps.log ?? mgr.log).child({ controller: 'filewatch' });
  const wake = new Wake();
  const reconciler = new FileWatchReconciler({
    client: mgr.client,
    cache: mgr.cache,
    clock: deps.clock ?? mgr.clock,
    log,
    quietMs: deps.quietMs ?? defaultFileWatchQuietMs,
    adaptiveQuiet: deps.adaptiveQuiet,
    newWatcher: deps.newWatcher,
    poll: deps.poll,
    pollIntervalMs: deps.pollIntervalMs,
    newPollingWatcher: deps.newPollingWatcher,
    detectNoEvents: deps.detectNoEvents,
    batches: deps.batches,
    wake,
  });
  const controller = mgr
    .controller('filewatch', { concurrency: deps.concurrency ?? 4 })
    .for(kind)
    .watches('ConfigMap', disableSourceMapper(mgr.cache, kind))
    .wakes(wake)
    .complete(reconciler);
  mgr.add({ start: () => {}, stop: () => reconciler.close() });
  return { controller, reconciler };
}
