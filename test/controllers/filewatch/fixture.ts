import type { TestContext } from 'node:test';
import type { ConfigMap, FileWatch, FileWatchSpec } from '../../../src/apis/index.ts';
import { silentLogger } from '../../../src/log.ts';
import { Manager, type Clock, type Controller } from '../../../src/runtime/index.ts';
import type { FileWatcher, FileWatcherFactory, FileWatcherOptions } from '../../../src/adapters/watch/file-watcher.ts';
import { setup, type FileWatchReconciler } from '../../../controllers/filewatch/index.ts';
import { startTestApiServer, type TestApiServer } from '../../support/apiserver.ts';
import { waitFor } from '../../support/wait.ts';

/**
 * Fixture runs the FileWatch controller against the embedded API server (memory storage) with
 * the real client, cache and queue. The reconciler's clock and watcher can be replaced.
 */
export class Fixture {
  private constructor(
    readonly server: TestApiServer,
    readonly mgr: Manager,
    readonly controller: Controller,
    readonly reconciler: FileWatchReconciler,
  ) {}

  static async start(t: TestContext, opts: { clock?: Clock; newWatcher?: FileWatcherFactory; quietMs?: number } = {}): Promise<Fixture> {
    const server = await startTestApiServer();
    const mgr = new Manager({ kubeConfig: server.kubeConfig, log: silentLogger() });
    const { controller, reconciler } = setup(mgr, { clock: opts.clock, newWatcher: opts.newWatcher, quietMs: opts.quietMs ?? 50 });
    await mgr.start();
    const f = new Fixture(server, mgr, controller, reconciler);
    t.after(async () => {
      await mgr.stop();
      await server.close();
    });
    return f;
  }

  async create(name: string, spec: FileWatchSpec): Promise<FileWatch> {
    return this.mgr.client.create<FileWatch>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name }, spec });
  }

  async get(name: string): Promise<FileWatch | undefined> {
    return this.mgr.client.get<FileWatch>('FileWatch', name);
  }

  async updateSpec(name: string, spec: FileWatchSpec): Promise<FileWatch> {
    const fw = (await this.get(name))!;
    return this.mgr.client.update<FileWatch>({ ...fw, spec });
  }

  async setConfigMap(name: string, data: Record<string, string>): Promise<void> {
    const cm = await this.mgr.client.get<ConfigMap>('ConfigMap', name);
    if (cm) await this.mgr.client.update<ConfigMap>({ ...cm, data });
    else await this.mgr.client.create<ConfigMap>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name }, data });
  }

  /** waitStatus waits until the FileWatch's status satisfies pred and returns the object. */
  async waitStatus(name: string, pred: (fw: FileWatch) => boolean, message: string): Promise<FileWatch> {
    return waitFor(
      async () => {
        const fw = await this.get(name);
        return fw && pred(fw) ? fw : undefined;
      },
      { message: `${name}: ${message}` },
    );
  }

  /** seen lists every path in the FileWatch's fileEvents. */
  static seen(fw: FileWatch): string[] {
    return (fw.status?.fileEvents ?? []).flatMap((e) => e.seenFiles);
  }

  /** steadyState reconciles once more and reports the resourceVersion before and after. */
  async steadyState(name: string): Promise<{ before?: string; after?: string }> {
    const before = (await this.get(name))?.metadata.resourceVersion;
    await this.reconciler.reconcile({ name });
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
