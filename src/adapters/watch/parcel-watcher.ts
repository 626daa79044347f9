import path from 'node:path';
import parcel from '@parcel/watcher';
import {
  PathFilter,
  describeWatchError,
  nearestExistingDir,
  resolveWatchedPaths,
  type FileWatcher,
  type FileWatcherHandlers,
  type FileWatcherOptions,
} from './file-watcher.ts';

/**
 * ParcelWatcher watches with @parcel/watcher (native, one subscription per watched path, events
 * filtered by the ignore matcher afterwards; `ignoreDirs` are pruned natively).
 *
 * Known gaps, why it is not the default: files created together with nested directories
 * (`mkdir -p a/b/c && touch a/b/c/f`) are never reported, nor later changes below `a/b`, and an
 * inotify queue overflow is dropped without notice.
 */
export class ParcelWatcher implements FileWatcher {
  private readonly roots: string[];
  private readonly filter: PathFilter;
  private readonly handlers: FileWatcherHandlers;
  private readonly ignoreDirs: string[];
  private subs: parcel.AsyncSubscription[] = [];
  private closed = false;

  /** constructor: ignoreDirs are absolute directories the native side should not enter. */
  constructor(opts: FileWatcherOptions & { ignoreDirs?: string[] }) {
    this.roots = resolveWatchedPaths(opts.paths);
    this.filter = new PathFilter(this.roots, opts.ignore);
    this.handlers = opts.handlers;
    this.ignoreDirs = opts.ignoreDirs ?? [];
  }

  async start(): Promise<void> {
    for (const root of this.roots) {
      const dir = await nearestExistingDir(root);
      const ignore = this.ignoreDirs.filter((d) => d.startsWith(dir + path.sep)).map((d) => path.relative(dir, d));
      try {
        const sub = await parcel.subscribe(
          dir,
          (err, events) => {
            if (this.closed) return;
            if (err) this.handlers.onError(err);
            const paths = events.map((e) => e.path).filter((p) => this.filter.reportable(p));
            if (paths.length > 0) this.handlers.onChange(paths);
          },
          { ignore },
        );
        this.subs.push(sub);
      } catch (err) {
        await this.close();
        throw describeWatchError(err, dir);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const subs = this.subs;
    this.subs = [];
    await Promise.all(subs.map((s) => s.unsubscribe()));
  }
}
