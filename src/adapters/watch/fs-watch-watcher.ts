import fs from 'node:fs';
import path from 'node:path';
import type { Clock, TimerHandle } from '../../util/clock.ts';
import { isUnder, type IgnoreMatcher } from '../ignore/matcher.ts';
import {
  PathFilter,
  describeWatchError,
  nearestExistingDir,
  rootDirectoryMessage,
  resolveWatchedPaths,
  type FileWatcher,
  type FileWatcherHandlers,
  type FileWatcherOptions,
} from './file-watcher.ts';

/** defaultBurstQuietMs is how long without raw events ends a burst (and may start its rescan). */
export const defaultBurstQuietMs = 100;

/**
 * defaultRescanThreshold is the number of raw events delivered in one event-loop turn past which
 * the tree is rescanned once the burst ends: a quarter of the kernel's inotify queue
 * (fs.inotify.max_queued_events, 16,384 by default). Node reads the whole queue in one turn, so
 * that many events at once means the loop fell behind and the queue may have overflowed, which
 * drops events without Node saying so. A steady stream of changes never triggers it.
 */
export function defaultRescanThreshold(): number {
  try {
    const n = Number(fs.readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8').trim());
    if (Number.isFinite(n) && n > 0) return Math.max(64, Math.floor(n / 4));
  } catch {
    // not Linux
  }
  return 4096;
}

/** rescanSlackMs widens the rescan's "changed since" window for coarse file timestamps. */
const rescanSlackMs = 1000;

interface DirWatch {
  watcher: fs.FSWatcher;
  /** ino tells a directory from another created at the same path later. */
  ino: number;
  /** names of the entries, for directories inside a watched tree (not for approach directories). */
  names?: Set<string>;
}

/**
 * FsWatchWatcher watches with one non-recursive `fs.watch` (one inotify watch) per directory:
 * - trees are walked once at start; directories the ignore matcher ignores entirely are never
 *   entered, so they cost no watch;
 * - a new directory is watched and walked, and everything already in it is reported;
 * - a watched path that does not exist yet is watched through its nearest existing ancestor
 *   and picked up when it appears (also after it is deleted and created again);
 * - symbolic links are reported as entries and never followed;
 * - after rescanThreshold raw events arrive in one event-loop turn, and after a watch error, the
 *   tree is rescanned once the burst ends: new and vanished entries, and files whose ctime or mtime lies in the burst, are
 *   reported unless already reported in the burst. The kernel drops events silently when its
 *   queue overflows; the rescan finds them.
 */
export class FsWatchWatcher implements FileWatcher {
  private readonly roots: string[];
  private readonly ignore: IgnoreMatcher;
  private readonly clock: Clock;
  private readonly handlers: FileWatcherHandlers;
  private readonly filter: PathFilter;
  private readonly rescanThreshold: number;
  private readonly burstQuietMs: number;
  private readonly changedSinceMs: number | undefined;
  private readonly dirs = new Map<string, DirWatch>();
  private closed = false;
  private started = false;

  private outbox: string[] = [];
  private outboxScheduled = false;

  private burstStartMs = 0;
  private burstCount = 0;
  private turnCount = 0;
  private burstSeen = new Set<string>();
  private burstTimer: TimerHandle | undefined;
  private rescanWanted = false;
  private rescanning: Promise<void> | undefined;
  /** checks serializes follow-up work (stat, walk, unwatch) so it happens in event order. */
  private checks: Promise<void> = Promise.resolve();

  /**
   * constructor refuses `/` as a watched path. rescanThreshold defaults to
   * defaultRescanThreshold(), burstQuietMs to defaultBurstQuietMs.
   */
  constructor(opts: FileWatcherOptions & { rescanThreshold?: number; burstQuietMs?: number }) {
    this.roots = resolveWatchedPaths(opts.paths);
    this.ignore = opts.ignore;
    this.clock = opts.clock;
    this.handlers = opts.handlers;
    this.filter = new PathFilter(this.roots, this.ignore);
    this.rescanThreshold = opts.rescanThreshold ?? defaultRescanThreshold();
    this.burstQuietMs = opts.burstQuietMs ?? defaultBurstQuietMs;
    this.changedSinceMs = opts.changedSinceMs;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('watcher already started');
    this.started = true;
    try {
      for (const root of this.roots) await this.attachRoot(root, false, true);
    } catch (err) {
      await this.close();
      throw err;
    }
    if (this.changedSinceMs !== undefined) await this.reportChangedSince(this.changedSinceMs);
  }

  /**
   * reportChangedSince reports, once the watches are registered, what changed at or after
   * sinceMs that no event will report: the watches did not exist yet when it changed.
   */
  private async reportChangedSince(sinceMs: number): Promise<void> {
    try {
      for (const root of this.roots) {
        if (this.dirs.get(root)?.names) {
          await this.rescanDir(root, sinceMs);
          continue;
        }
        const st = await lstatOrUndefined(root);
        if (st && !st.isDirectory() && Math.max(st.mtimeMs, st.ctimeMs) >= sinceMs) this.report(root);
      }
    } catch (err) {
      if (!this.closed) this.handlers.onError(new Error('looking for changes made before the watch started', { cause: err }));
    }
    // What it reported counts as one burst's: a later rescan must not skip those paths.
    if (this.burstCount === 0) this.burstSeen.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.burstTimer) this.clock.clearTimeout(this.burstTimer);
    for (const d of this.dirs.values()) d.watcher.close();
    this.dirs.clear();
    this.outbox = [];
  }

  /** watchCount is the number of directories watched (one inotify watch each). */
  watchCount(): number {
    return this.dirs.size;
  }

  /** watchedDirs lists the watched directories. */
  watchedDirs(): string[] {
    return [...this.dirs.keys()];
  }

  /**
   * attachRoot registers what one watched path needs: its tree when it is a directory, its
   * parent (to see it replaced or deleted), or its nearest existing ancestor while it is missing.
   */
  private async attachRoot(root: string, report: boolean, starting: boolean): Promise<void> {
    const st = await statOrUndefined(root);
    if (st?.isDirectory()) {
      if (!this.ignore.matchesEntireDir(root)) await this.walk(root, report, starting);
    }
    const parent = path.dirname(root);
    if (st) {
      if (parent !== '/') await this.watchDir(parent, starting);
      return;
    }
    const anchor = await nearestExistingDir(parent);
    if (anchor === '/') {
      const err = new Error(`${rootDirectoryMessage}: no ancestor of ${root} exists below /`);
      if (starting) throw err;
      this.handlers.onError(err);
      return;
    }
    await this.watchDir(anchor, starting);
  }

  /** watchDir adds a watch on dir unless it has one. */
  private async watchDir(dir: string, starting: boolean): Promise<DirWatch | undefined> {
    const existing = this.dirs.get(dir);
    if (existing || this.closed) return existing;
    const st = await statOrUndefined(dir);
    if (!st?.isDirectory() || this.closed) return undefined;
    const again = this.dirs.get(dir);
    if (again) return again;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(dir, { persistent: false }, (type, name) => this.onRaw(dir, type, name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      const e = describeWatchError(err, dir);
      if (starting) throw e;
      this.handlers.onError(e);
      return undefined;
    }
    watcher.on('error', () => {
      this.rescanWanted = true;
      this.noteBurst();
      this.enqueueCheck(dir, true);
    });
    const w: DirWatch = { watcher, ino: st.ino };
    this.dirs.set(dir, w);
    return w;
  }

  /**
   * walk watches dir and every directory below it that is not ignored entirely. With report,
   * every entry found that is not ignored is reported (a new directory's contents).
   */
  private async walk(dir: string, report: boolean, starting: boolean): Promise<void> {
    if (this.closed) return;
    const w = await this.watchDir(dir, starting);
    if (!w) return;
    if (w.names) return;
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch {
      return; // vanished meanwhile: its parent's event cleans up
    }
    w.names = new Set(entries.map((e) => e.name));
    const subdirs: Promise<void>[] = [];
    for (const e of entries) {
      const child = path.join(dir, e.name);
      if (report && this.filter.reportable(child)) this.emit(child);
      if (e.isDirectory() && !this.ignore.matchesEntireDir(child)) subdirs.push(this.walk(child, report, starting));
    }
    await Promise.all(subdirs);
  }

  /** unwatch closes the watches of dir and of everything below it. */
  private unwatch(dir: string): void {
    for (const [d, w] of this.dirs) {
      if (isUnder(d, dir)) {
        w.watcher.close();
        this.dirs.delete(d);
      }
    }
  }

  private onRaw(dir: string, type: string, name: string | Buffer | null): void {
    if (this.closed) return;
    this.noteBurst();
    if (name == null) {
      this.rescanWanted = true;
      return;
    }
    const child = path.join(dir, name.toString());
    // A watched directory that is deleted or moved reports itself under its own name.
    if (name.toString() === path.basename(dir) && !fs.existsSync(dir)) {
      this.enqueueCheck(dir, true);
      return;
    }
    // Writes and attribute changes on a directory are not changes to report.
    const isDir = this.dirs.has(child);
    if (!(type === 'change' && isDir) && this.filter.reportable(child, isDir)) this.emit(child);
    const w = this.dirs.get(dir);
    if (type === 'rename' || !w?.names || this.roots.includes(child)) this.enqueueCheck(child, type === 'rename');
  }

  private enqueueCheck(p: string, renamed = false): void {
    this.checks = this.checks.then(() => this.check(p, renamed)).catch((err) => {
      if (!this.closed) this.handlers.onError(err as Error);
    });
  }

  /**
   * check brings the watches in line with what p now is (new directory, deleted, root appeared).
   * A renamed directory's watches are dropped and it is walked afresh: an inotify watch follows
   * its directory when it moves, and a deleted directory may come back under the same inode.
   */
  private async check(p: string, renamed: boolean): Promise<void> {
    if (this.closed) return;
    const st = await lstatOrUndefined(p);
    const parent = this.dirs.get(path.dirname(p))?.names;
    const base = path.basename(p);
    const known = this.dirs.get(p);
    if (known && (renamed || !st || known.ino !== st.ino)) this.unwatch(p);
    if (!st) {
      parent?.delete(base);
    } else {
      parent?.add(base);
      if (st.isDirectory() && this.filter.inTree(p) && !this.dirs.get(p)?.names && !this.ignore.matchesEntireDir(p)) {
        await this.walk(p, true, false);
      }
    }
    // A watched path at or below p may have appeared or vanished.
    for (const root of this.roots) {
      if (isUnder(root, p)) await this.attachRoot(root, true, false);
    }
  }

  private emit(p: string): void {
    this.burstSeen.add(p);
    this.outbox.push(p);
    if (!this.outboxScheduled) {
      this.outboxScheduled = true;
      setImmediate(() => {
        this.outboxScheduled = false;
        const out = this.outbox;
        this.outbox = [];
        if (!this.closed && out.length > 0) this.handlers.onChange(out);
      });
    }
  }

  private noteBurst(): void {
    // Wall time, not the clock: it is compared with the files' own timestamps.
    if (this.burstCount === 0) this.burstStartMs = Date.now();
    this.burstCount++;
    if (this.turnCount++ === 0) setImmediate(() => (this.turnCount = 0));
    if (this.turnCount === this.rescanThreshold && !this.rescanWanted) {
      this.rescanWanted = true;
      this.handlers.onBusy?.(true);
    }
    if (this.burstTimer) this.clock.clearTimeout(this.burstTimer);
    this.burstTimer = this.clock.setTimeout(() => this.endBurst(), this.burstQuietMs);
  }

  private endBurst(): void {
    this.burstTimer = undefined;
    if (this.closed) return;
    if (!this.rescanWanted) {
      this.burstCount = 0;
      this.burstSeen.clear();
      return;
    }
    if (this.rescanning) return;
    const since = this.burstStartMs - rescanSlackMs;
    this.rescanWanted = false;
    this.rescanning = this.checks
      .then(() => this.rescan(since))
      .catch((err) => {
        if (!this.closed) this.handlers.onError(new Error('rescan after a burst of file events', { cause: err }));
      })
      .finally(() => {
        this.rescanning = undefined;
        this.burstCount = 0;
        this.burstSeen.clear();
        if (!this.closed) setImmediate(() => this.handlers.onBusy?.(false));
      });
  }

  /** rescan compares every watched tree with what the watcher knows and reports the differences. */
  async rescan(sinceMs: number): Promise<void> {
    for (const root of this.roots) {
      await this.attachRoot(root, true, false);
      if (this.dirs.get(root)?.names) await this.rescanDir(root, sinceMs);
    }
  }

  private async rescanDir(dir: string, sinceMs: number): Promise<void> {
    if (this.closed) return;
    const w = this.dirs.get(dir);
    if (!w?.names) return;
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch {
      this.unwatch(dir);
      this.report(dir);
      return;
    }
    const now = new Set(entries.map((e) => e.name));
    for (const old of w.names) {
      if (now.has(old)) continue;
      const child = path.join(dir, old);
      this.report(child);
      this.unwatch(child);
    }
    const known = w.names;
    w.names = now;
    const files: string[] = [];
    const subdirs: Promise<void>[] = [];
    for (const e of entries) {
      const child = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (this.ignore.matchesEntireDir(child)) continue;
        if (!known.has(e.name)) this.report(child);
        if (this.dirs.get(child)?.names) subdirs.push(this.rescanDir(child, sinceMs));
        else subdirs.push(this.walk(child, true, false));
      } else if (!known.has(e.name)) {
        this.report(child);
      } else if (!this.burstSeen.has(child) && this.filter.reportable(child)) {
        files.push(child);
      }
    }
    const stats = await Promise.all(files.map((f) => lstatOrUndefined(f)));
    stats.forEach((st, i) => {
      if (!st || Math.max(st.mtimeMs, st.ctimeMs) >= sinceMs) this.report(files[i]!);
    });
    await Promise.all(subdirs);
  }

  /** report emits p once per burst. */
  private report(p: string): void {
    if (this.burstSeen.has(p) || !this.filter.reportable(p)) return;
    this.emit(p);
  }
}

async function statOrUndefined(p: string): Promise<fs.Stats | undefined> {
  try {
    return await fs.promises.stat(p);
  } catch {
    return undefined;
  }
}

async function lstatOrUndefined(p: string): Promise<fs.Stats | undefined> {
  try {
    return await fs.promises.lstat(p);
  } catch {
    return undefined;
  }
}
