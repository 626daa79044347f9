/**
 * The Cmd controller: local commands and servers, restarted by FileWatch events and triggers,
 * with readiness probes. `setup` wires it into a Manager; the manager's stop stops every process.
 */
import type { Logger } from 'winston';
import { triggerQueueName, type Cmd, type ConfigMap, type FileWatch } from '../../src/apis/index.ts';
import { LocalProcessRunner, type ProcessRunner } from '../../src/adapters/process/index.ts';
import { type Clock, type Controller, type Manager } from '../../src/runtime/index.ts';
import { disableSourceMapper } from '../../src/tilt/index.ts';
import { LogBuffer } from '../../src/util/log-buffer.ts';
import { CmdReconciler, kind } from './reconciler.ts';
import { Wake } from '../../src/runtime/index.ts';

export { CmdReconciler, defaultStopGraceMs, groupAlive, type CmdReconcilerDeps } from './reconciler.ts';
export { Prober, runCheck, probeDefaults, type CheckResult, type ProbeContext } from './probe.ts';
export { cmdStatus, cmdWaitingReasons, execSpecKey, restartDue, type RunState } from './status.ts';

/** CmdSetupDeps are what `setup` needs beyond the manager. */
export interface CmdSetupDeps {
  /** log is the parent logger. Default: the manager's. */
  log?: Logger;
  /** clock for timestamps, probe schedules and kill grace periods. Default: the manager's. */
  clock?: Clock;
  /** cwd resolves relative `spec.dir`s. Default: process.cwd(), the ferry process's directory. */
  cwd?: string;
  /** logs receives Cmd output per resource for `ferry logs`. Default: a new LogBuffer. */
  logs?: LogBuffer;
  /** runner starts processes. Default: a LocalProcessRunner on the clock. */
  runner?: ProcessRunner;
  /** stopGraceMs is the time between SIGTERM and SIGKILL. Default 5,000. */
  stopGraceMs?: number;
  /** concurrency is how many Cmds are reconciled at once (a stop can take the grace period). Default 4. */
  concurrency?: number;
}

const restartOnIndex = 'restartOn.fileWatches';

/**
 * setup registers the Cmd controller with the manager. It reconciles a Cmd on changes to it, to
 * the FileWatches named in its `restartOn`, to its disable ConfigMaps and to the trigger queue,
 * and when its process exits or its readiness changes. Stopping the manager stops every process.
 */
export function setup(
  mgr: Manager,
  deps: CmdSetupDeps = {},
): { controller: Controller; reconciler: CmdReconciler; logs: LogBuffer; stopAll: () => Promise<void> } {
  const clock = deps.clock ?? mgr.clock;
  const log = (deps.log ?? mgr.log).child({ controller: 'cmd' });
  const logs = deps.logs ?? new LogBuffer();
  const wake = new Wake();
  const reconciler = new CmdReconciler({
    wake,
    client: mgr.client,
    cache: mgr.cache,
    clock,
    log,
    runner: deps.runner ?? new LocalProcessRunner({ clock }),
    cwd: deps.cwd ?? process.cwd(),
    logs,
    stopGraceMs: deps.stopGraceMs,
  });
  mgr.cache.addIndex<Cmd>(kind, restartOnIndex, (c) => c.spec?.restartOn?.fileWatches ?? []);
  const names = (cmds: Cmd[]) => cmds.map((c) => c.metadata.name!);
  const controller = mgr
    .controller('cmd', { concurrency: deps.concurrency ?? 4 })
    .for(kind)
    .watches<FileWatch>('FileWatch', (fw) => names(mgr.cache.byIndex<Cmd>(kind, restartOnIndex, fw.metadata.name ?? '')))
    .watches('ConfigMap', disableSourceMapper(mgr.cache, kind))
    .watches<ConfigMap>('ConfigMap', (cm) => (cm.metadata.name === triggerQueueName ? names(mgr.cache.list<Cmd>(kind)) : []))
    .wakes(wake)
    .complete(reconciler);
  const stopAll = () => reconciler.stopAll();
  mgr.add({ start() {}, stop: stopAll });
  return { controller, reconciler, logs, stopAll };
}
