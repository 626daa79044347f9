import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../util/clock.ts';
import type { IgnoreMatcher } from '../ignore/matcher.ts';
import { isUnder } from '../ignore/matcher.ts';

/**
 * FileWatcherHandlers receive what a FileWatcher sees. Calls never overlap and stop after close().
 */
export interface FileWatcherHandlers {
  /** onChange receives changed absolute paths, unbatched, in arrival order (duplicates possible). */
  onChange(paths: string[]): void;
  /** onError reports a problem that may have lost events; the watcher keeps running if it can. */
  onError(err: Error): void;
  /**
   * onBusy(true) says the watcher is catching up (rescanning after a burst) and more paths of the
   * same burst will follow; onBusy(false) says it is done. A batcher should not flush between.
   */
  onBusy?(busy: boolean): void;
  /** onClose reports that the watcher stopped by itself; it will report nothing more. */
  onClose?(): void;
}

/** FileWatcherOptions are what every FileWatcher implementation is built from. */
export interface FileWatcherOptions {
  /** paths are the watched paths: directories (watched recursively), files, or paths not created yet. */
  paths: readonly string[];
  ignore: IgnoreMatcher;
  clock: Clock;
  handlers: FileWatcherHandlers;
  /**
   * changedSinceMs is a wall time (ms since the epoch): once the watches are registered, start()
   * also reports what changed from then on before the watcher saw it: files whose mtime or
   * ctime is at or after it, and entries that appeared while the trees were walked. Default:
   * none (only changes after start() are reported). FsWatchWatcher honours it.
   */
  changedSinceMs?: number;
}

/**
 * FileWatcher watches files and directories and reports changed paths that are at or under a
 * watched path and not ignored. start() resolves once every watch is registered (changes made
 * after that are reported) and rejects when the paths cannot be watched.
 */
export interface FileWatcher {
  start(): Promise<void>;
  close(): Promise<void>;
}

export type FileWatcherFactory = (opts: FileWatcherOptions) => FileWatcher;

/** RootDirectoryError is the error for a watched path that is, or only exists as, `/`. */
export const rootDirectoryMessage = 'cannot watch root directory';

/** resolveWatchedPaths makes paths absolute and refuses `/`. */
export function resolveWatchedPaths(paths: readonly string[]): string[] {
  const out = paths.map((p) => path.resolve(p));
  if (out.some((p) => p === '/')) throw new Error(rootDirectoryMessage);
  return out;
}

/**
 * nearestExistingDir is p when p is an existing directory, else its closest existing ancestor
 * directory (the parent of an existing file).
 */
export async function nearestExistingDir(p: string): Promise<string> {
  let cur = p;
  for (;;) {
    try {
      const st = await fs.promises.stat(cur);
      if (st.isDirectory()) return cur;
    } catch {
      // missing: try the parent
    }
    const parent = path.dirname(cur);
    if (parent === cur) return cur;
    cur = parent;
  }
}

/**
 * PathFilter decides which paths are reported: at or under a watched path, not ignored, and not
 * a watched directory itself.
 */
export class PathFilter {
  constructor(
    private readonly roots: readonly string[],
    private readonly ignore: IgnoreMatcher,
  ) {}

  inTree(p: string): boolean {
    return this.roots.some((r) => isUnder(p, r));
  }

  reportable(p: string, isWatchedDir = false): boolean {
    if (!this.inTree(p) || this.ignore.matches(p)) return false;
    return !(isWatchedDir && this.roots.includes(p));
  }
}

/** watchLimitMessage explains ENOSPC from inotify_add_watch. */
export function watchLimitMessage(): string {
  let limit = 'its current value';
  try {
    limit = fs.readFileSync('/proc/sys/fs/inotify/max_user_watches', 'utf8').trim();
  } catch {
    // not Linux, or /proc hidden
  }
  return (
    `the inotify watch limit is reached (fs.inotify.max_user_watches = ${limit}). ` +
    'Raise it with `sudo sysctl fs.inotify.max_user_watches=524288` (add it to /etc/sysctl.conf to keep it), ' +
    'or ignore large directories such as node_modules in this FileWatch'
  );
}

/** describeWatchError turns a watch registration failure into an error a user can act on. */
export function describeWatchError(err: unknown, dir: string): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC') return new Error(watchLimitMessage(), { cause: err });
  if (code === 'EMFILE') {
    return new Error(
      'too many inotify instances or open files (fs.inotify.max_user_instances / ulimit -n): raise the limit or stop other watchers',
      { cause: err },
    );
  }
  return new Error(`watching ${dir}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
