import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { createIgnoreMatcher } from '../../../src/adapters/ignore/matcher.ts';
import type { IgnoreDef } from '../../../src/apis/index.ts';
import { realClock } from '../../../src/util/clock.ts';
import { FsWatchWatcher } from '../../../src/adapters/watch/fs-watch-watcher.ts';
import type { FileWatcher, FileWatcherOptions } from '../../../src/adapters/watch/file-watcher.ts';
import { waitFor } from '../../support/wait.ts';

/** tempDir makes a directory (symlinks resolved) removed after the test. */
export function tempDir(t: TestContext, prefix = 'ferry-fw-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** write creates p (and its parents) with content. */
export function write(p: string, content = 'x'): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
}

export type WatcherMaker = (opts: FileWatcherOptions) => FileWatcher;

export const fsWatchMaker: WatcherMaker = (opts) => new FsWatchWatcher(opts);

/** Recorder starts a watcher and records every path it reports. */
export class Recorder {
  readonly seen: string[] = [];
  readonly errors: Error[] = [];
  watcher!: FileWatcher;

  static async start(
    t: TestContext,
    paths: string[],
    ignores: IgnoreDef[] = [],
    make: WatcherMaker = fsWatchMaker,
  ): Promise<Recorder> {
    const r = new Recorder();
    r.watcher = make({
      paths,
      ignore: createIgnoreMatcher(ignores),
      clock: realClock,
      handlers: {
        onChange: (ps) => r.seen.push(...ps),
        onError: (err) => r.errors.push(err),
      },
    });
    await r.watcher.start();
    t.after(() => r.watcher.close());
    return r;
  }

  has(p: string): boolean {
    return this.seen.includes(p);
  }

  /** waitFor waits until every path was reported. */
  async waitFor(...ps: string[]): Promise<void> {
    await waitFor(() => ps.every((p) => this.has(p)), {
      message: `events for ${ps.join(', ')} (seen: ${this.seen.slice(-20).join(', ')})`,
    });
  }

  /**
   * sentinel writes a marker file in dir and waits for its event: everything done before it was
   * reported by then, so absences can be asserted.
   */
  async sentinel(dir: string): Promise<void> {
    const marker = path.join(dir, `sentinel-${this.seen.length}-${Math.random().toString(36).slice(2)}`);
    write(marker);
    await this.waitFor(marker);
  }

  clear(): void {
    this.seen.length = 0;
  }
}
