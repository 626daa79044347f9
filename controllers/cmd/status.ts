/**
 * Pure decisions of the Cmd controller: what a run looks like as a status, which part of the
 * spec restarts a process, and when a FileWatch event asks for a restart.
 */
import { microTimeValue, type CmdSpec, type CmdStatus, type DisableStatus } from '../../src/apis/index.ts';

/** Waiting reasons the Cmd controller writes (shared with the kinds that read them). */
export { cmdWaitingReasons } from '../../src/tilt/index.ts';

/** RunState is what the controller knows about the last process it started for a Cmd. */
export interface RunState {
  pid: number;
  /** startedAt is a MicroTime. */
  startedAt: string;
  ready: boolean;
  exited?: {
    exitCode: number;
    /** finishedAt is a MicroTime. */
    finishedAt: string;
    /** reason is empty for a clean exit, else `exit status 2`, `signal: killed`, or why it could not start. */
    reason?: string;
  };
}

/**
 * cmdStatus is the status of a Cmd: running, terminated, or waiting with `waitingReason` when
 * there is no run. The disable status is kept as given.
 */
export function cmdStatus(run: RunState | undefined, waitingReason: string, disableStatus: DisableStatus | undefined): CmdStatus {
  const status: CmdStatus = {};
  if (!run) {
    status.waiting = { reason: waitingReason };
    status.ready = false;
  } else if (!run.exited) {
    status.running = { pid: run.pid, startedAt: run.startedAt };
    status.ready = run.ready;
  } else {
    status.terminated = {
      pid: run.pid,
      exitCode: run.exited.exitCode,
      startedAt: run.startedAt,
      finishedAt: run.exited.finishedAt,
      ...(run.exited.reason ? { reason: run.exited.reason } : {}),
    };
    status.ready = false;
  }
  if (disableStatus) status.disableStatus = disableStatus;
  return status;
}

/**
 * execSpecKey identifies the part of the spec that defines the process: a change to it stops the
 * process and starts it again. Triggers (restartOn, startOn) and disableSource are not part of it.
 */
export function execSpecKey(spec: CmdSpec | undefined): string {
  return JSON.stringify({
    args: spec?.args ?? [],
    dir: spec?.dir ?? '',
    env: spec?.env ?? [],
    readinessProbe: spec?.readinessProbe ?? null,
  });
}

/** restartDue is true when an event (µs) is strictly newer than the run's start. */
export function restartDue(eventUs: number, run: RunState | undefined): boolean {
  if (!run || Number.isNaN(eventUs)) return false;
  const started = microTimeValue(run.startedAt);
  return Number.isNaN(started) || eventUs > started;
}
