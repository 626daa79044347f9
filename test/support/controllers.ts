/**
 * The controller test harness: one kind's real `setup()` on a real Manager against the embedded
 * API server (memory storage), with a scratch directory, and the verbs every controller test
 * needs. A test reads as a story:
 *
 *     const f = await ControllerHarness.start(t, { setup: (mgr, env) => setup(mgr, { cwd: env.dir }) });
 *     await f.create<FileWatch>({ kind: 'FileWatch', metadata: { name: 'fw' }, spec: { ... } });
 *     const fw = await f.waitStatus<FileWatch>('FileWatch', 'fw', (s) => !!s.monitorStartTime, 'watching');
 *     await f.steadyState('filewatch', 'FileWatch', 'fw');
 *
 * Writes made through the harness are waited for in the manager's cache before they return, so
 * a `reconcile` that follows sees them, as the next reconcile of a running daemon would.
 * `stop` and `restart` stop the manager and start a new one (setup runs again), as a daemon's
 * restart would; `reconcileResult` resolves with what the reconcile it caused returned.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import type { Logger } from 'winston';
import { kinds, type KubeObject } from '../../src/apis/index.ts';
import { FerryClient } from '../../src/client/index.ts';
import { Manager, realClock, type Clock, type ControllerBuilder, type ControllerOptions, type Reconciler, type Result } from '../../src/runtime/index.ts';
import { silentLogger } from '../../src/log.ts';
import { startTestApiServer, type TestApiServer } from './apiserver.ts';
import { waitFor } from './wait.ts';

/** HarnessEnv is what a setup function gets besides the manager. */
export interface HarnessEnv {
  /** dir is a fresh directory, removed after the test. */
  dir: string;
  log: Logger;
  clock: Clock;
}

/** HarnessOptions configure ControllerHarness.start. */
export interface HarnessOptions<S> {
  /** setup registers the kind under test (its real `setup`) with the manager; its result is kept as `wired`. */
  setup: (mgr: Manager, env: HarnessEnv) => S;
  /** clock for the manager and the kind. Default: the real clock. */
  clock?: Clock;
  /** log is the root logger. Default: a silent one. */
  log?: Logger;
  /** dirPrefix names the scratch directory. Default `ferry-test-`. */
  dirPrefix?: string;
  /** start the manager before returning. Default true. */
  start?: boolean;
  /** cleanup runs after the manager stopped and before the directory goes. */
  cleanup?: () => Promise<void> | void;
  /**
   * api is an API server several tests share (starting one takes a second): the harness leaves
   * it running and, after the test, deletes every object left on it. Default: a server of the test's own.
   */
  api?: TestApiServer;
  /** pollMs is how often waitStatus and waitObject read the object. Default 50. */
  pollMs?: number;
}

/** Run is one reconcile of one key: what it returned, or what it threw. */
type Run = Promise<{ result?: Result | void; error?: unknown }>;

/**
 * HarnessManager is the runtime's Manager, recording each reconcile of each controller so that a
 * test can read what the reconcile it asked for returned (the controller acts on it as usual).
 */
class HarnessManager extends Manager {
  private readonly runs = new Map<string, Run[]>();

  override controller(name: string, opts: ControllerOptions = {}): ControllerBuilder {
    const builder = super.controller(name, opts);
    const complete = builder.complete.bind(builder);
    builder.complete = (reconciler: Reconciler) =>
      complete({
        reconcile: (req, ctx) => {
          const p = reconciler.reconcile(req, ctx);
          this.runsOf(name, req.name).push(p.then((result) => ({ result }), (error: unknown) => ({ error })));
          return p;
        },
      });
    return builder;
  }

  /** runsOf lists the reconciles of key `name` by controller `controller`, in the order they started. */
  runsOf(controller: string, name: string): Run[] {
    const key = `${controller}/${name}`;
    let list = this.runs.get(key);
    if (!list) this.runs.set(key, (list = []));
    return list;
  }
}

/** ControllerHarness runs one controller for a test; see the module comment. */
export class ControllerHarness<S = unknown> {
  private current!: { mgr: HarnessManager; wired: S };

  private constructor(
    readonly api: TestApiServer,
    readonly client: FerryClient,
    readonly dir: string,
    readonly clock: Clock,
    readonly log: Logger,
    private readonly setup: (mgr: Manager, env: HarnessEnv) => S,
    private readonly pollMs: number,
  ) {}

  /** mgr is the running manager (a new one after `restart`). */
  get mgr(): Manager {
    return this.current.mgr;
  }

  /** wired is what the kind's setup returned (for the current manager). */
  get wired(): S {
    return this.current.wired;
  }

  /**
   * start builds the harness, runs `setup` and starts the manager; everything stops after the test
   * (`t` is a test's context, or anything with `after`, e.g. a suite's hook list).
   */
  static async start<S>(t: Pick<TestContext, 'after'> | { after(fn: () => Promise<void>): unknown }, opts: HarnessOptions<S>): Promise<ControllerHarness<S>> {
    const api = opts.api ?? (await startTestApiServer());
    const client = new FerryClient(api.kubeConfig);
    const clock = opts.clock ?? realClock;
    const log = opts.log ?? silentLogger();
    const dir = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), opts.dirPrefix ?? 'ferry-test-')));
    const h = new ControllerHarness(api, client, dir, clock, log, opts.setup, opts.pollMs ?? 50);
    h.wire();
    t.after(async () => {
      await h.stop();
      if (opts.api) await h.deleteAll();
      client.close();
      if (!opts.api) await api.close();
      await opts.cleanup?.();
      await fsp.rm(dir, { recursive: true, force: true });
    });
    if (opts.start !== false) await h.mgr.start();
    return h;
  }

  /** stop stops the manager, as a daemon's stop would: the API server and the directory stay. */
  async stop(): Promise<void> {
    await this.current.mgr.stop();
  }

  /** restart stops the manager and starts a new one, running setup again, as a restarted daemon would. */
  async restart(): Promise<void> {
    await this.stop();
    this.wire();
    await this.current.mgr.start();
  }

  private wire(): void {
    const mgr = new HarnessManager({ kubeConfig: this.api.kubeConfig, log: this.log, clock: this.clock });
    this.current = { mgr, wired: this.setup(mgr, { dir: this.dir, log: this.log, clock: this.clock }) };
  }

  /** deleteAll deletes every object on the API server (a shared one, between tests). */
  private async deleteAll(): Promise<void> {
    await Promise.all(
      kinds.map(async (k) => {
        for (const o of (await this.client.list(k.kind)).items) await this.client.delete(k.kind, o.metadata.name!).catch(() => {});
      }),
    );
  }

  /** create creates obj and waits until the cache has it. */
  async create<T extends KubeObject>(obj: T): Promise<T> {
    const created = await this.client.create<T>(obj);
    await this.cached(created);
    return created;
  }

  /** get reads kind/name from the server; undefined when it does not exist. */
  get<T extends KubeObject>(kind: string, name: string): Promise<T | undefined> {
    return this.client.get<T>(kind, name);
  }

  /** mustGet reads kind/name from the server and fails when it does not exist. */
  async mustGet<T extends KubeObject>(kind: string, name: string): Promise<T> {
    const obj = await this.get<T>(kind, name);
    if (!obj) throw new Error(`no ${kind} ${name}`);
    return obj;
  }

  /** update writes obj (its spec and metadata) and waits until the cache has it. */
  async update<T extends KubeObject>(obj: T): Promise<T> {
    const updated = await this.client.update<T>(obj);
    await this.cached(updated);
    return updated;
  }

  /** setStatus replaces kind/name's status, as its controller would, and waits until the cache has it. */
  async setStatus<T extends KubeObject>(kind: string, name: string, status: T['status']): Promise<T> {
    const obj = await this.mustGet<T>(kind, name);
    const updated = await this.client.updateStatus<T>({ ...obj, status });
    await this.cached(updated);
    return updated;
  }

  /** delete deletes kind/name and waits until the cache no longer has it. */
  async delete(kind: string, name: string): Promise<void> {
    await this.client.delete(kind, name);
    if (!this.mgr.ready() || !this.mgr.cache.kinds().includes(kind)) return;
    await waitFor(() => (this.mgr.cache.get(kind, name) ? undefined : true), { message: `${kind} ${name} gone from the cache`, intervalMs: 2 });
  }

  /** waitStatus waits until kind/name's status satisfies pred, and returns the object. */
  waitStatus<T extends KubeObject>(kind: string, name: string, pred: (s: NonNullable<T['status']>) => boolean, what = 'status', timeoutMs = 20_000): Promise<T> {
    return this.waitObject<T>(kind, name, (obj) => !!obj.status && pred(obj.status as NonNullable<T['status']>), what, timeoutMs);
  }

  /** waitObject waits until kind/name exists and satisfies pred, and returns it. */
  waitObject<T extends KubeObject>(kind: string, name: string, pred: (obj: T) => boolean, what = 'object', timeoutMs = 20_000): Promise<T> {
    return waitFor(
      async () => {
        const obj = await this.get<T>(kind, name);
        return obj && pred(obj) ? obj : undefined;
      },
      { message: `${kind} ${name}: ${what}`, timeoutMs, intervalMs: this.pollMs },
    );
  }

  /** reconcile asks controller `controllerName` to reconcile `name` and waits until it is idle again. */
  async reconcile(controllerName: string, name: string): Promise<void> {
    await this.reconcileResult(controllerName, name);
  }

  /**
   * reconcileResult is reconcile, resolving with what the reconcile it caused returned (undefined
   * when it threw: the controller retries it).
   */
  async reconcileResult(controllerName: string, name: string): Promise<Result | void> {
    const c = this.controller(controllerName);
    const runs = this.current.mgr.runsOf(controllerName, name);
    // The reconcile this asks for is the next one to start: one running now saw older state.
    const next = runs.length;
    c.enqueue(name);
    await c.idle();
    return (await runs[next])?.result;
  }

  /** results lists what each reconcile of `name` by controller `controllerName` returned so far, in order. */
  async results(controllerName: string, name: string): Promise<Array<Result | void>> {
    return (await Promise.all(this.current.mgr.runsOf(controllerName, name))).map((r) => r.result);
  }

  /** settle waits until every controller of the manager is idle. */
  async settle(): Promise<void> {
    for (const name of this.mgr.controllerNames()) await this.controller(name).idle();
  }

  /**
   * steadyState settles, reconciles kind/name once more and fails when that changed the object:
   * a reconcile of an object whose inputs did not change writes nothing. `unchanged` may check more
   * (a fake's recorded calls).
   */
  async steadyState(controllerName: string, kind: string, name: string, unchanged?: { snapshot: () => unknown; what: string }): Promise<void> {
    await this.settle();
    const before = await this.mustGet(kind, name);
    const extra = unchanged?.snapshot();
    await this.reconcile(controllerName, name);
    const after = await this.mustGet(kind, name);
    if (after.metadata.resourceVersion !== before.metadata.resourceVersion) {
      throw new Error(`not steady: ${kind} ${name} changed from ${JSON.stringify(before.status)} to ${JSON.stringify(after.status)}`);
    }
    if (unchanged && JSON.stringify(unchanged.snapshot()) !== JSON.stringify(extra)) throw new Error(`not steady: ${unchanged.what}`);
  }

  private controller(name: string) {
    const c = this.mgr.getController(name);
    if (!c) throw new Error(`no controller ${name}`);
    return c;
  }

  /** cached waits until the manager's cache holds obj at its resourceVersion or later (kinds it caches). */
  private async cached(obj: KubeObject): Promise<void> {
    const kind = obj.kind;
    if (!kind || !this.mgr.ready() || !this.mgr.cache.kinds().includes(kind)) return;
    const want = Number(obj.metadata.resourceVersion);
    await waitFor(
      () => {
        const seen = this.mgr.cache.get(kind, obj.metadata.name!);
        return seen && Number(seen.metadata.resourceVersion) >= want ? true : undefined;
      },
      { message: `${kind} ${obj.metadata.name} at resourceVersion ${want} in the cache`, intervalMs: 2 },
    );
  }
}
