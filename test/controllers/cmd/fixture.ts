import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Cmd, ConfigMap, FileWatch, KubeObject } from '../../../src/apis/index.ts';
import { toMicroTime } from '../../../src/apis/index.ts';
import { FerryClient } from '../../../src/client/index.ts';
import { Manager, realClock, type Clock, type Controller } from '../../../src/runtime/index.ts';
import { setup, type CmdReconciler } from '../../../controllers/cmd/index.ts';
import type { LogBuffer } from '../../../src/util/log-buffer.ts';
import { startTestApiServer, type TestApiServer } from '../../support/apiserver.ts';
import { waitFor } from '../../support/wait.ts';
import { silentLogger } from '../../../src/log.ts';


/**
 * Fixture runs the Cmd controller against the embedded API server (memory storage) with real
 * processes, in a temporary directory that is the controller's working directory.
 */
export class Fixture {
  private stopped = false;
  private constructor(
    readonly dir: string,
    readonly server: TestApiServer,
    readonly client: FerryClient,
    readonly mgr: Manager,
    readonly reconciler: CmdReconciler,
    readonly logs: LogBuffer,
    readonly controller: Controller,
  ) {}

  static async start(opts: { clock?: Clock; stopGraceMs?: number; extra?: (mgr: Manager) => void } = {}): Promise<Fixture> {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-cmd-test-')));
    const server = await startTestApiServer();
    const client = new FerryClient(server.kubeConfig);
    const log = silentLogger();
    const mgr = new Manager({ kubeConfig: server.kubeConfig, log, clock: opts.clock ?? realClock });
    const { reconciler, logs, controller } = setup(mgr, { cwd: dir, stopGraceMs: opts.stopGraceMs ?? 2_000 });
    opts.extra?.(mgr);
    await mgr.start();
    return new Fixture(dir, server, client, mgr, reconciler, logs, controller);
  }

  async create<T extends KubeObject>(obj: T): Promise<T> {
    return this.client.create(obj);
  }

  async cmd(name: string, spec: Cmd['spec'], annotations?: Record<string, string>): Promise<Cmd> {
    return this.create<Cmd>({ kind: 'Cmd', metadata: { name, ...(annotations ? { annotations } : {}) }, spec });
  }

  async get(name: string): Promise<Cmd | undefined> {
    return this.client.get<Cmd>('Cmd', name);
  }

  /** waitStatus waits until the Cmd's status satisfies pred, and returns the Cmd. */
  async waitStatus(name: string, pred: (s: NonNullable<Cmd['status']>) => boolean, what = 'status', timeoutMs = 15_000): Promise<Cmd> {
    return waitFor(
      async () => {
        const c = await this.get(name);
        return c?.status && pred(c.status) ? c : undefined;
      },
      { message: `${name}: ${what}`, timeoutMs },
    );
  }

  async runningPid(name: string): Promise<number> {
    const c = await this.waitStatus(name, (s) => !!s.running, 'running');
    return c.status!.running!.pid;
  }

  /** fileEvent records a file change on FileWatch `name` (creating it), as the FileWatch controller would. */
  async fileEvent(name: string, file = 'Tiltfile'): Promise<string> {
    if (!(await this.client.get<FileWatch>('FileWatch', name))) {
      await this.create<FileWatch>({ kind: 'FileWatch', metadata: { name }, spec: { watchedPaths: [file] } });
    }
    const time = toMicroTime(new Date());
    const fw = await this.client.get<FileWatch>('FileWatch', name);
    const events = [...(fw?.status?.fileEvents ?? []), { time, seenFiles: [path.join(this.dir, file)] }].slice(-20);
    await this.client.patchStatus('FileWatch', name, { status: { lastEventTime: time, fileEvents: events } });
    return time;
  }

  async configMap(name: string, data: Record<string, string>): Promise<void> {
    const cm = await this.client.get<ConfigMap>('ConfigMap', name);
    if (cm) await this.client.update<ConfigMap>({ ...cm, data });
    else await this.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name }, data });
  }

  /** lines returns the output lines the controller recorded for a resource. */
  lines(resource: string): string[] {
    return this.logs.lines({ resource }).map((l) => l.line);
  }

  /** steady reconciles name again and tells whether its stored object stayed the same. */
  async steady(name: string): Promise<boolean> {
    await this.controller.idle();
    const before = (await this.get(name))?.metadata.resourceVersion;
    this.controller.enqueue(name);
    await this.controller.idle();
    return (await this.get(name))?.metadata.resourceVersion === before;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.mgr.stop();
  }

  async close(): Promise<void> {
    await this.stop();
    this.client.close();
    await this.server.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** newFixture starts a Fixture closed after the test. */
export async function newFixture(t: { after(fn: () => Promise<void>): void }, opts?: Parameters<typeof Fixture.start>[0]): Promise<Fixture> {
  const f = await Fixture.start(opts);
  t.after(() => f.close());
  return f;
}

/** pidAlive is true while a process exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
