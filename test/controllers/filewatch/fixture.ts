import type { TestContext } from 'node:test';
import type { ConfigMap, FileWatch, FileWatchSpec } from '../../../src/apis/index.ts';
import type { Clock, Controller, Manager } from '../../../src/runtime/index.ts';
import type { FileWatcher, FileWatcherFactory, FileWatcherOptions } from '../../../src/adapters/watch/file-watcher.ts';
import { setup, type FileWatchReconciler } from '../../../controllers/filewatch/index.ts';
import type { FileBatches } from '../../../src/tilt/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';

/**
 * Fixture runs the FileWatch controller (its real setup) on the controller test harness. The
 * reconciler's clock and watcher can be replaced.
 */
export class Fixture {
  private constructor(private readonly h: ControllerHarness<ReturnType<typeof setup>>) {}

  static async start(
    t: TestContext,
    opts: {
      clock?: Clock;
      newWatcher?: FileWatcherFactory;
      quietMs?: number;
      adaptiveQuiet?: boolean;
      poll?: boolean;
      detectNoEvents?: (paths: readonly string[]) => string | undefined;
      batches?: FileBatches;
    } = {},
  ): Promise<Fixture> {
    const h = await ControllerHarness.start(t, {
      dirPrefix: 'ferry-fw-test-',
      setup: (mgr) =>
        setup(mgr, {
          clock: opts.clock,
          newWatcher: opts.newWatcher,
          quietMs: opts.quietMs ?? 50,
          adaptiveQuiet: opts.adaptiveQuiet,
          poll: opts.poll,
          detectNoEvents: opts.detectNoEvents,
          batches: opts.batches,
        }),
    });
    return new Fixture(h);
  }

  get mgr(): Manager {
    return this.h.mgr;
  }

  get controller(): Controller {
    return this.h.wired.controller;
  }

  get reconciler(): FileWatchReconciler {
    return this.h.wired.reconciler;
  }

  create(name: string, spec: FileWatchSpec, annotations?: Record<string, string>): Promise<FileWatch> {
    return this.h.create<FileWatch>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name, ...(annotations ? { annotations } : {}) }, spec });
  }

  get(name: string): Promise<FileWatch | undefined> {
    return this.h.get<FileWatch>('FileWatch', name);
  }

  async updateSpec(name: string, spec: FileWatchSpec): Promise<FileWatch> {
    return this.h.update<FileWatch>({ ...(await this.h.mustGet<FileWatch>('FileWatch', name)), spec });
  }

  async setConfigMap(name: string, data: Record<string, string>): Promise<void> {
    const cm = await this.h.get<ConfigMap>('ConfigMap', name);
    if (cm) await this.h.update<ConfigMap>({ ...cm, data });
    else await this.h.create<ConfigMap>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name }, data });
  }

  /** waitStatus waits until the FileWatch satisfies pred and returns it. */
  waitStatus(name: string, pred: (fw: FileWatch) => boolean, message: string): Promise<FileWatch> {
    return this.h.waitObject<FileWatch>('FileWatch', name, pred, message);
  }

  /** seen lists every path in the FileWatch's fileEvents. */
  static seen(fw: FileWatch): string[] {
    return (fw.status?.fileEvents ?? []).flatMap((e) => e.seenFiles);
  }

  /** steadyState settles, reconciles once more and reports the resourceVersion before and after. */
  async steadyState(name: string): Promise<{ before?: string; after?: string }> {
    await this.h.settle();
    const before = (await this.get(name))?.metadata.resourceVersion;
    await this.h.reconcile('filewatch', name);
    const after = (await this.get(name))?.metadata.resourceVersion;
    return { before, after };
  }
}

/** FakeWatcher is a FileWatcher driven by the test: it reports what the test tells it to. */
export class FakeWatcher implements FileWatcher {
  started = false;
  closed = false;
  constructor(readonly opts: FileWatcherOptions, private readonly failStart?: Error) {}
  async start(): Promise<void> {
    if (this.failStart) throw this.failStart;
    this.started = true;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  change(...paths: string[]): void {
    this.opts.handlers.onChange(paths);
  }
  error(err: Error): void {
    this.opts.handlers.onError(err);
  }
  die(): void {
    this.opts.handlers.onClose?.();
  }
}

/** FakeWatchers records every FakeWatcher made through its factory. */
export class FakeWatchers {
  readonly made: FakeWatcher[] = [];
  failNext?: Error;
  readonly factory: FileWatcherFactory = (opts) => {
    const w = new FakeWatcher(opts, this.failNext);
    this.failNext = undefined;
    this.made.push(w);
    return w;
  };
  get last(): FakeWatcher {
    return this.made[this.made.length - 1]!;
  }
}
