import { watch, type FSWatcher } from 'chokidar';
import {
  PathFilter,
  describeWatchError,
  resolveWatchedPaths,
  type FileWatcher,
  type FileWatcherHandlers,
  type FileWatcherOptions,
} from './file-watcher.ts';

/** defaultPollIntervalMs is how often a polling ChokidarWatcher stats each file: every 100 ms. */
export const defaultPollIntervalMs = 100;

/** ChokidarOptions tune a ChokidarWatcher beyond the FileWatcherOptions. */
export interface ChokidarOptions {
  /**
   * pollIntervalMs, when set, polls (stats every file and directory at this interval) instead
   * of using kernel events: for filesystems that deliver none (network and FUSE mounts, shared
   * folders, WSL's Windows drives). Default: kernel events.
   */
  pollIntervalMs?: number;
}

/**
 * ChokidarWatcher watches with chokidar 5. Directories the ignore matcher ignores entirely are
 * not entered. chokidar 5 holds one inotify watch per file as well as per directory, which makes
 * it slow to start and large on big trees (see bench/filewatch.ts); FsWatchWatcher is the default
 * for kernel events, and ChokidarWatcher the one that polls.
 */
export class ChokidarWatcher implements FileWatcher {
  private readonly roots: string[];
  private readonly filter: PathFilter;
  private readonly handlers: FileWatcherHandlers;
  private readonly opts: FileWatcherOptions;
  private watcher: FSWatcher | undefined;
  private closed = false;

  private readonly pollIntervalMs: number | undefined;

  constructor(opts: FileWatcherOptions & ChokidarOptions) {
    this.pollIntervalMs = opts.pollIntervalMs;
    this.roots = resolveWatchedPaths(opts.paths);
    this.filter = new PathFilter(this.roots, opts.ignore);
    this.handlers = opts.handlers;
    this.opts = opts;
  }

  async start(): Promise<void> {
    const ignore = this.opts.ignore;
    const w = watch(this.roots, {
      ignoreInitial: true,
      followSymlinks: false,
      atomic: false,
      persistent: false,
      ...(this.pollIntervalMs ? { usePolling: true, interval: this.pollIntervalMs, binaryInterval: this.pollIntervalMs } : {}),
      // A path is skipped (not entered, not watched) only when nothing below it can be reported.
      ignored: (p: string) => ignore.matchesEntireDir(p),
    });
    this.watcher = w;
    // Listen before 'ready': a change chokidar reports as it becomes ready is not lost.
    w.on('all', (event, p, stats) => {
      if (this.closed) return;
      const isDir = event === 'addDir' || event === 'unlinkDir' || !!stats?.isDirectory();
      if (this.filter.reportable(p, isDir)) this.handlers.onChange([p]);
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: unknown) => reject(describeWatchError(err, this.roots.join(', ')));
      w.once('error', onError);
      w.once('ready', () => {
        w.off('error', onError);
        resolve();
      });
    });
    w.on('error', (err) => {
      if (!this.closed) this.handlers.onError(describeWatchError(err, this.roots.join(', ')));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.close();
  }
}
