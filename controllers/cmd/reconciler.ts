/**
 * CmdReconciler runs each Cmd's process on this machine and keeps its status: it starts the
 * process when the Cmd appears (or on a start trigger), restarts it on a newer event of a
 * FileWatch named in `restartOn`, on a trigger, or on a change to the process's spec, and stops
 * it (SIGTERM to its process group, SIGKILL after a grace period) when the Cmd is disabled,
 * deleted, or the daemon stops.
 *
 * Triggers: ferry has no UIButton kind. A Cmd's resource listed in the `tilt-trigger-queue`
 * ConfigMap (Tilt's trigger queue) counts as a button press: it starts a Cmd waiting on
 * `startOn` (when later than `startOn.startAfter`) and restarts a running one. Button names in
 * `startOn.uiButtons` / `restartOn.uiButtons` are otherwise not looked at.
 *
 * Paths: a relative `dir` resolves against `deps.cwd`, the working directory of the ferry process.
 */
import { constants as fsConstants, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'winston';
import {
  microTimeValue,
  resourceName,
  toMicroTime,
  triggerQueueName,
  type Cmd,
  type ConfigMap,
  type FileWatch,
} from '../../src/apis/index.ts';
import { updateStatusIfChanged, type Cache, type Client, type Clock, type ReconcileContext, type Reconciler, type Request, type Result } from '../../src/runtime/index.ts';
import { disableStatusFor, lastRestartEventUs, triggerQueueResources } from '../../src/tilt/index.ts';
import { exitStatusString, mergeEnv, type ProcessResult, type ProcessRunner, type RunningProcess } from '../../src/adapters/process/index.ts';
import type { LogBuffer } from '../../src/util/log-buffer.ts';
import { Prober } from './probe.ts';
import {
  cmdStatus,
  cmdWaitingReasons,
  execSpecKey,
  restartDue,
  type RunState,
} from './status.ts';
import { Wake } from '../../src/runtime/index.ts';

export const kind = 'Cmd';

/** defaultStopGraceMs is how long a stopped process group gets between SIGTERM and SIGKILL. */
export const defaultStopGraceMs = 5_000;

/** CmdReconcilerDeps are what the reconciler is built from. */
export interface CmdReconcilerDeps {
  client: Client;
  cache: Cache;
  clock: Clock;
  log: Logger;
  runner: ProcessRunner;
  /** cwd resolves relative `spec.dir`s: the working directory of the ferry process. */
  cwd: string;
  /** logs receives every output line under the Cmd's resource name, for `ferry logs`. */
  logs?: LogBuffer;
  /** stopGraceMs is the time between SIGTERM and SIGKILL. Default 5,000. */
  stopGraceMs?: number;
  /** wake asks for a Cmd to be reconciled (a process exited or its readiness changed). Default: one bound to nothing. */
  wake?: Wake;
}

/** Run is one process started for a Cmd, and what became of it. */
interface Run {
  state: RunState;
  proc?: RunningProcess;
  prober?: Prober;
  /** done resolves when the process has exited (at once for a process that never started). */
  done: Promise<void>;
}

/** Entry is what the reconciler remembers per Cmd. */
interface Entry {
  specKey: string;
  run?: Run;
  /** queued is whether the trigger queue listed the Cmd's resource at the last reconcile. */
  queued: boolean;
}

export class CmdReconciler implements Reconciler {
  private readonly deps: CmdReconcilerDeps;
  private readonly entries = new Map<string, Entry>();
  /** groups are the process groups started and not known to be gone, for stopAll. */
  private readonly groups = new Set<number>();
  private readonly graceMs: number;
  private shuttingDown = false;
  private readonly wake: Wake;

  constructor(deps: CmdReconcilerDeps) {
    this.deps = deps;
    this.graceMs = deps.stopGraceMs ?? defaultStopGraceMs;
    this.wake = deps.wake ?? new Wake();
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void> {
    const name = req.name;
    const cmd = this.deps.cache.get<Cmd>(kind, name);
    if (!cmd || cmd.metadata.deletionTimestamp) {
      const entry = this.entries.get(name);
      this.entries.delete(name);
      if (entry?.run) {
        ctx.log.info('Stopping deleted Cmd', { pid: entry.run.state.pid });
        await this.stopRun(entry.run);
      }
      return;
    }
    if (this.shuttingDown) return;

    const now = this.deps.clock.now();
    const disableStatus = disableStatusFor(this.deps.cache, cmd, now);
    let entry = this.entries.get(name);

    if (disableStatus.disabled) {
      if (entry?.run) {
        ctx.log.info('Stopping disabled Cmd', { pid: entry.run.state.pid, reason: disableStatus.reason });
        await this.stopRun(entry.run);
      }
      this.entries.delete(name);
      await updateStatusIfChanged(this.deps.client, cmd, cmdStatus(undefined, cmdWaitingReasons.disabled, disableStatus));
      return;
    }

    const specKey = execSpecKey(cmd.spec);
    const queued = triggerQueueResources(this.deps.cache.get<ConfigMap>('ConfigMap', triggerQueueName)).has(resourceName(cmd));
    let started = false;

    if (!entry || entry.specKey !== specKey) {
      if (entry?.run) {
        ctx.log.info('Restarting Cmd for a new spec', { pid: entry.run.state.pid });
        await this.stopRun(entry.run);
      }
      // A trigger already in the queue before this spec counts only for a Cmd waiting on one.
      entry = { specKey, queued: cmd.spec?.startOn ? false : queued };
      this.entries.set(name, entry);
      if (!cmd.spec?.startOn) {
        entry.run = await this.start(cmd, ctx);
        started = true;
      }
    }

    if (!started) {
      const triggered = queued && !entry.queued;
      const startAfterUs = microTimeValue(cmd.spec?.startOn?.startAfter);
      const afterStartAfter = Number.isNaN(startAfterUs) || now.getTime() * 1000 > startAfterUs;
      if (!entry.run) {
        if (triggered && afterStartAfter) {
          ctx.log.info('Starting Cmd on trigger');
          entry.run = await this.start(cmd, ctx);
        }
      } else if (triggered) {
        ctx.log.info('Restarting Cmd on trigger', { pid: entry.run.state.pid });
        await this.stopRun(entry.run);
        entry.run = await this.start(cmd, ctx);
      } else if (restartDue(lastRestartEventUs(cmd.spec?.restartOn?.fileWatches, (n) => this.deps.cache.get<FileWatch>('FileWatch', n)), entry.run.state)) {
        ctx.log.info('Restarting Cmd on file change', { pid: entry.run.state.pid });
        await this.stopRun(entry.run);
        entry.run = await this.start(cmd, ctx);
      }
    }
    entry.queued = queued;

    const status = cmdStatus(entry.run?.state, cmdWaitingReasons.waitingForStartTrigger, disableStatus);
    await updateStatusIfChanged(this.deps.client, cmd, status);
  }

  /** start starts the Cmd's process; a process that cannot start is a run that ended at once. */
  private async start(cmd: Cmd, ctx: ReconcileContext): Promise<Run> {
    const name = cmd.metadata.name!;
    const resource = resourceName(cmd);
    const spec = cmd.spec!;
    const dir = path.resolve(this.deps.cwd, spec.dir ?? '.');
    const env = mergeEnv(process.env, spec.env);
    const startedAt = toMicroTime(this.deps.clock.now());
    const source = `Cmd/${name}`;

    const startError = (await checkDir(dir)) ?? (await lookPath(spec.args[0] ?? '', dir, env.PATH));
    if (startError) {
      ctx.log.warn('Cmd cannot start', { reason: startError });
      this.deps.logs?.append(resource, { source, line: startError });
      return { state: { pid: 0, startedAt, ready: false, exited: { exitCode: -1, finishedAt: startedAt, reason: startError } }, done: Promise.resolve() };
    }

    if (this.shuttingDown) {
      return { state: { pid: 0, startedAt, ready: false, exited: { exitCode: -1, finishedAt: startedAt, reason: 'ferry is stopping' } }, done: Promise.resolve() };
    }
    const log = this.deps.log.child({ cmd: name, resource });
    const proc = this.deps.runner.start({
      argv: spec.args,
      dir,
      env,
      onLine: (line, stream) => {
        log.info('Cmd output', { stream, line });
        this.deps.logs?.append(resource, { source, stream, line });
      },
    });
    const state: RunState = { pid: proc.pid ?? 0, startedAt, ready: false };
    const run: Run = { state, proc, done: Promise.resolve() };
    if (proc.pid !== undefined) {
      this.groups.add(proc.pid);
      ctx.log.info('Cmd started', { pid: proc.pid, args: spec.args, dir });
    }

    const probe = spec.readinessProbe;
    if (proc.pid !== undefined) {
      if (probe) {
        run.prober = new Prober(probe, { clock: this.deps.clock, context: { clock: this.deps.clock, runner: this.deps.runner, dir, env } }, (ready, result) => {
          if (run.state.exited) return;
          run.state.ready = ready;
          log.info(ready ? 'Cmd ready' : 'Cmd not ready', result.message ? { detail: result.message } : {});
          this.wake.enqueue(name);
        });
        run.prober.start();
      } else {
        state.ready = true;
      }
    }

    run.done = proc.done.then((result: ProcessResult) => {
      run.prober?.stop();
      const reason = result.exitCode === 0 ? undefined : exitStatusString(result);
      run.state.ready = false;
      run.state.exited = { exitCode: result.exitCode ?? -1, finishedAt: toMicroTime(this.deps.clock.now()), ...(reason ? { reason } : {}) };
      if (result.error) {
        log.warn('Cmd cannot start', { reason });
        this.deps.logs?.append(resource, { source, line: reason ?? '' });
      } else {
        log.info('Cmd exited', { pid: run.state.pid, exitCode: result.exitCode, signal: result.signal });
      }
      this.wake.enqueue(name);
    });
    // A process that could not be spawned has already ended: report that, not a run.
    if (proc.pid === undefined) await run.done;
    return run;
  }

  /**
   * stopRun stops a run's process group: SIGTERM, then SIGKILL once the grace period has passed
   * and something of the group is still alive. Resolves when the group is gone or killed.
   */
  private async stopRun(run: Run): Promise<void> {
    run.prober?.stop();
    const pid = run.proc?.pid;
    if (pid === undefined) return;
    const begun = this.deps.clock.now().getTime();
    if (!run.state.exited) run.proc!.kill(this.graceMs);
    await run.done;
    if (groupAlive(pid)) {
      const left = this.graceMs - (this.deps.clock.now().getTime() - begun);
      if (run.state.exited && left > 0 && !this.shuttingDown) {
        signalGroup(pid, 'SIGTERM');
        await new Promise<void>((resolve) => this.deps.clock.setTimeout(resolve, left));
      }
      signalGroup(pid, 'SIGKILL');
    }
    this.groups.delete(pid);
  }

  /**
   * stopAll stops every process this reconciler started and refuses to start more: the daemon
   * calls it (through the manager) when it stops, so no process outlives it.
   */
  async stopAll(): Promise<void> {
    this.shuttingDown = true;
    const runs = [...this.entries.values()].map((e) => e.run).filter((r): r is Run => !!r);
    this.entries.clear();
    await Promise.all(runs.map((r) => this.stopRun(r)));
    for (const pgid of this.groups) signalGroup(pgid, 'SIGKILL');
    this.groups.clear();
  }

  /** pid is the pid of a Cmd's current process, if it runs (for tests and diagnostics). */
  pid(name: string): number | undefined {
    const run = this.entries.get(name)?.run;
    return run && !run.state.exited ? run.state.pid : undefined;
  }
}

async function checkDir(dir: string): Promise<string | undefined> {
  try {
    const st = await fs.stat(dir);
    return st.isDirectory() ? undefined : `chdir ${dir}: not a directory`;
  } catch {
    return `chdir ${dir}: no such file or directory`;
  }
}

/**
 * lookPath checks that the program can be run, as Go's exec.LookPath does, and says why not:
 * a bare name is searched on PATH; a name with a slash is taken relative to dir.
 */
async function lookPath(file: string, dir: string, pathVar: string | undefined): Promise<string | undefined> {
  if (file === '') return 'exec: no command';
  const executable = async (p: string): Promise<'ok' | 'missing' | 'denied'> => {
    try {
      const st = await fs.stat(p);
      if (st.isDirectory()) return 'denied';
      await fs.access(p, fsConstants.X_OK);
      return 'ok';
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EACCES' ? 'denied' : 'missing';
    }
  };
  if (file.includes('/')) {
    const r = await executable(path.resolve(dir, file));
    if (r === 'ok') return undefined;
    return `fork/exec ${file}: ${r === 'denied' ? 'permission denied' : 'no such file or directory'}`;
  }
  for (const d of (pathVar ?? '').split(':')) {
    if ((await executable(path.resolve(dir, d || '.', file))) === 'ok') return undefined;
  }
  return `exec: ${JSON.stringify(file)}: executable file not found in $PATH`;
}

/**
 * groupAlive is true while a live process of the group exists. On Linux it reads /proc, so that
 * zombies (killed, not yet reaped by init) do not count; elsewhere it asks kill(-pgid, 0).
 */
export function groupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after "(comm)": state ppid pgrp ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[2] === String(pgid) && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}
