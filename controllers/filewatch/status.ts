import path from 'node:path';
import type { DisableStatus, FileEvent, FileWatch, FileWatchSpec, FileWatchStatus } from '../../src/apis/index.ts';
import { microTimeString, toMicroTime } from '../../src/apis/index.ts';
import { errorText } from '../../src/util/errors.ts';

/** maxFileEventHistory is how many batches status.fileEvents keeps: the 20 most recent. */
export const maxFileEventHistory = 20;

/**
 * maxSeenFilesChars bounds one batch's seenFiles: 32 KiB of path text. With 20 batches kept, a
 * FileWatch stays well under 1 MiB (etcd's limit is 1.5 MiB), whatever the size of a change.
 */
export const maxSeenFilesChars = 32 * 1024;

/**
 * WatchHistory is the part of the status that survives a watcher restart and a spec change:
 * the batches seen so far.
 */
export interface WatchHistory {
  lastEventTime?: string;
  fileEvents: FileEvent[];
}

/**
 * boundSeenFiles applies the size rule to one batch of changed paths (in arrival order), listing
 * each path once, at its first place:
 *
 * - up to maxSeenFilesChars of path text, the paths are kept as they are;
 * - past it, every path deeper than N directories
 *   is replaced by its ancestor at depth N, for N decreasing from the deepest, until the list
 *   fits. No path is cut above the watched path that contains it, so in the worst case the list
 *   is the watched paths themselves.
 *
 * A directory in seenFiles stands for everything below it that is not ignored: LiveUpdate syncs
 * it by archiving the whole directory (walked with the FileWatch's ignores, the same matcher as
 * initial sync, createIgnoreMatcher), so every changed file is still synced. Files deleted inside
 * such a directory are not listed; a consumer that must propagate deletions replaces the
 * directory's contents in the container rather than adding to them.
 */
export function boundSeenFiles(paths: readonly string[], watchedPaths: readonly string[], maxChars = maxSeenFilesChars): string[] {
  return bound(unique(paths), watchedPaths, maxChars);
}

/** bound shortens a list of unique paths as boundSeenFiles says; a list that fits is returned itself. */
function bound(distinct: string[], watchedPaths: readonly string[], maxChars: number): string[] {
  let list = distinct;
  if (textSize(list) <= maxChars) return list;
  const roots = watchedPaths.map((p) => path.resolve(p));
  const deepest = Math.max(...list.map(depth));
  for (let n = deepest - 1; n >= 0; n--) {
    list = unique(list.map((p) => truncate(p, n, roots)));
    if (textSize(list) <= maxChars) return list;
  }
  return list;
}

function textSize(paths: readonly string[]): number {
  let n = 0;
  for (const p of paths) n += p.length + 4; // JSON quotes and separator
  return n;
}

function unique(paths: readonly string[]): string[] {
  return [...new Set(paths)];
}

function depth(p: string): number {
  return p.split('/').filter(Boolean).length;
}

/** truncate cuts p to its first n components, but never above the watched path holding it. */
function truncate(p: string, n: number, roots: readonly string[]): string {
  const parts = p.split('/').filter(Boolean);
  let floor = 0;
  for (const r of roots) {
    if (p === r || p.startsWith(r === '/' ? '/' : r + '/')) floor = Math.max(floor, depth(r));
  }
  const keep = Math.max(n, floor);
  if (parts.length <= keep) return p;
  return '/' + parts.slice(0, keep).join('/');
}

/**
 * recordBatch adds one flushed batch to the history: a non-empty batch becomes a FileEvent
 * stamped `at` (a Date, or microseconds since the epoch: the time of the batch's last change,
 * so that a sync can be timed from it), lastEventTime moves to it, and only the 20 most recent
 * events are kept. An empty batch changes nothing. When the batch's seenFiles had to be
 * shortened, onShortened is given its event and its exact paths (each once).
 */
export function recordBatch(
  history: WatchHistory,
  paths: readonly string[],
  at: Date | number,
  watchedPaths: readonly string[],
  onShortened?: (ev: FileEvent, exact: string[]) => void,
): WatchHistory {
  if (paths.length === 0) return history;
  const time = typeof at === 'number' ? microTimeString(at) : toMicroTime(at);
  const exact = unique(paths);
  const ev = { time, seenFiles: bound(exact, watchedPaths, maxSeenFilesChars) };
  if (ev.seenFiles !== exact) onShortened?.(ev, exact);
  const fileEvents = [...history.fileEvents, ev];
  return { lastEventTime: time, fileEvents: fileEvents.slice(-maxFileEventHistory) };
}

/** WatcherView is what the status shows of the running watcher. */
export interface WatcherView {
  monitorStartTime?: string;
  error?: string;
  /** polling is set while the watcher polls instead of using kernel events. */
  polling?: PollingState;
}

/** pollAnnotation set to "true" on a FileWatch makes it poll (`ferry serve --filewatch-poll` does it for all). */
export const pollAnnotation = 'ferry.dev/filewatch-poll';

/** pollingCondition is the status condition a polling watcher shows. */
export const pollingCondition = 'Polling';

/** PollingReason says why a watcher polls: its filesystem delivers no events, or the user asked. */
export type PollingReason = 'UnsupportedFilesystem' | 'Requested';

/** PollingState is why and since when a watcher polls. */
export interface PollingState {
  reason: PollingReason;
  message: string;
  /** since is when polling started (a Time, whole seconds). */
  since: string;
}

/**
 * pollingDecision decides whether a FileWatch polls: asked for by the daemon (`--filewatch-poll`)
 * or the FileWatch's annotation pollAnnotation ("true"), or needed because a watched path is on
 * a filesystem that delivers no kernel events (unsupported: what detection found, see
 * src/adapters/watch/filesystem.ts). The annotation "false" turns detection off for that FileWatch.
 */
export function pollingDecision(
  fw: FileWatch,
  daemonPoll: boolean,
  detect: (paths: readonly string[]) => string | undefined,
  intervalMs: number,
): { reason: PollingReason; message: string } | undefined {
  const annotation = fw.metadata.annotations?.[pollAnnotation];
  if (daemonPoll || annotation === 'true') {
    const by = annotation === 'true' ? `the annotation ${pollAnnotation}` : '--filewatch-poll';
    return { reason: 'Requested', message: `polling every ${intervalMs} ms, as ${by} asks` };
  }
  if (annotation === 'false') return undefined;
  const why = detect(fw.spec?.watchedPaths ?? []);
  if (!why) return undefined;
  return { reason: 'UnsupportedFilesystem', message: `polling every ${intervalMs} ms: ${why}, which delivers no file events` };
}

/**
 * fileWatchStatus is the status to store. A disabled FileWatch shows only its disableStatus
 * (the history is dropped with its watcher); otherwise the watcher's state and the history.
 */
export function fileWatchStatus(
  disableStatus: DisableStatus,
  watcher: WatcherView | undefined,
  history: WatchHistory | undefined,
): FileWatchStatus {
  if (disableStatus.state === 'Disabled' || !watcher) return { disableStatus };
  const status: FileWatchStatus = {};
  if (watcher.monitorStartTime) status.monitorStartTime = watcher.monitorStartTime;
  if (history?.lastEventTime) status.lastEventTime = history.lastEventTime;
  if (history && history.fileEvents.length > 0) status.fileEvents = history.fileEvents;
  if (watcher.error) status.error = watcher.error;
  status.disableStatus = disableStatus;
  if (watcher.polling) {
    const p = watcher.polling;
    status.conditions = [{ type: pollingCondition, status: 'True', reason: p.reason, message: p.message, lastTransitionTime: p.since }];
  }
  return status;
}

/**
 * fileTimestampSlackMs widens changedSinceMs: the kernel stamps files with a coarse clock (one
 * scheduler tick, a few milliseconds) that can lag behind the time the daemon reads.
 */
export const fileTimestampSlackMs = 50;

/**
 * changedSinceMs is the wall time from which a new watcher also reports changes made before it
 * was ready (see FileWatcherOptions.changedSinceMs):
 * - a FileWatch no watcher has written to yet (no monitorStartTime, disableStatus or events: it
 *   was just created) reports what changed since its creation, so a file written right after
 *   `kubectl apply` is seen. creationTimestamp has whole seconds: a file changed within the
 *   second the object was created in, a moment before it, may be reported too;
 * - any other (a spec change, enabled again, a restart of the daemon or the watcher) reports
 *   what changed since the reconcile that starts it began.
 */
export function changedSinceMs(fw: FileWatch, reconcileStartMs: number): number {
  const s = fw.status;
  const fresh = !s?.monitorStartTime && !s?.disableStatus && !s?.fileEvents?.length && !s?.error;
  const created = Date.parse(fw.metadata.creationTimestamp ?? '');
  const from = fresh && Number.isFinite(created) ? Math.min(created, reconcileStartMs) : reconcileStartMs;
  return from - fileTimestampSlackMs;
}

/** watchSpecKey identifies what a watcher is built from: a change restarts the watcher. */
export function watchSpecKey(spec: FileWatchSpec): string {
  return JSON.stringify({ watchedPaths: spec.watchedPaths ?? [], ignores: spec.ignores ?? [] });
}

/** Restart backoff after an unexpected close: 1 s, doubling each restart, at most 5 minutes. */
export const initialRestartBackoffMs = 1000;
export const maxRestartBackoffMs = 5 * 60 * 1000;

/** nextBackoffMs is the backoff after one more restart. */
export function nextBackoffMs(currentMs: number): number {
  return Math.min(currentMs * 2, maxRestartBackoffMs);
}

/** Error texts written to status.error. */
export const errorTexts = {
  unexpectedClose: 'unexpected close',
  init: (err: unknown) => `filewatch init: ${errorText(err)}`,
} as const;
