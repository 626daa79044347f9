import fs from 'node:fs';
import path from 'node:path';
import type { Cmd, ConfigMap, FileWatch, KubeObject } from '../../../src/apis/index.ts';
import { toMicroTime } from '../../../src/apis/index.ts';
import type { FerryClient } from '../../../src/client/index.ts';
import type { Clock, Controller, Manager } from '../../../src/runtime/index.ts';
import { setup, type CmdReconciler } from '../../../controllers/cmd/index.ts';
import type { LogBuffer } from '../../../src/util/log-buffer.ts';
import type { TestContext } from 'node:test';
import { ControllerHarness } from '../../support/controllers.ts';


/**
 * Fixture runs the Cmd controller (its real setup) on the controller test harness, with real
 * processes, in a temporary directory that is the controller's working directory.
 */
export class Fixture {
  readonly dir: string;
  readonly client: FerryClient;
  readonly mgr: Manager;
  readonly reconciler: CmdReconciler;
  readonly logs: LogBuffer;
  readonly controller: Controller;

  private constructor(private readonly h: ControllerHarness<ReturnType<typeof setup>>) {
    this.dir = h.dir;
    this.client = h.client;
    this.mgr = h.mgr;
    this.reconciler = h.wired.reconciler;
    this.logs = h.wired.logs;
    this.controller = h.wired.controller;
  }

  static async start(t: TestContext, opts: { clock?: Clock; stopGraceMs?: number; extra?: (mgr: Manager) => void } = {}): Promise<Fixture> {
    const h = await ControllerHarness.start(t, {
      clock: opts.clock,
      dirPrefix: 'ferry-cmd-test-',
      setup: (mgr, env) => {
        const wired = setup(mgr, { cwd: env.dir, stopGraceMs: opts.stopGraceMs ?? 2_000 });
        opts.extra?.(mgr);
        return wired;
      },
    });
    return new Fixture(h);
  }

  async create<T extends KubeObject>(obj: T): Promise<T> {
    return this.h.create(obj);
  }

  async cmd(name: string, spec: Cmd['spec'], annotations?: Record<string, string>): Promise<Cmd> {
    return this.create<Cmd>({ kind: 'Cmd', metadata: { name, ...(annotations ? { annotations } : {}) }, spec });
  }

  async get(name: string): Promise<Cmd | undefined> {
    return this.client.get<Cmd>('Cmd', name);
  }

  /** waitStatus waits until the Cmd's status satisfies pred, and returns the Cmd. */
  async waitStatus(name: string, pred: (s: NonNullable<Cmd['status']>) => boolean, what = 'status', timeoutMs = 15_000): Promise<Cmd> {
    return this.h.waitStatus<Cmd>('Cmd', name, pred, what, timeoutMs);
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
    try {
      await this.h.steadyState('cmd', 'Cmd', name);
      return true;
    } catch {
      return false;
    }
  }

  /** stop stops the manager (the harness also stops it after the test). */
  async stop(): Promise<void> {
    await this.mgr.stop();
  }
}

/** newFixture starts a Fixture that stops after the test. */
export function newFixture(t: TestContext, opts?: Parameters<typeof Fixture.start>[1]): Promise<Fixture> {
  return Fixture.start(t, opts);
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
