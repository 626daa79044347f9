/**
 * ContainerUpdater applies one live update to one running container: delete paths, copy an
 * archive, run commands, restart. Implementations: DockerContainerUpdater (Docker Engine) and
 * ExecContainerUpdater (Kubernetes pods/exec).
 */
import type { Readable } from 'node:stream';
import type { Clock } from '../../util/clock.ts';
import type { ArchiveEntry } from '../tar/archive.ts';
import { formatGoDuration } from '../../apis/go.ts';

/** ContainerTarget names the container to update. Docker Compose containers have no pod. */
export interface ContainerTarget {
  containerId: string;
  containerName: string;
  podName: string;
  namespace: string;
}

/** ExecStep is one command to run in the container after the files are in place. */
export interface ExecStep {
  args: string[];
  /** timeoutMs bounds the command; it fails the update when exceeded. */
  timeoutMs: number;
}

/** ContainerUpdate is everything one container receives in one live update. */
export interface ContainerUpdate {
  target: ContainerTarget;
  /** deletePaths are absolute container paths removed (`rm -rf`) before the copy. */
  deletePaths: string[];
  /** archive returns a fresh tar to extract at `/`; absent when nothing is copied. */
  archive?: () => Readable;
  /**
   * entries are the planned entries `archive()` streams. With them an updater may send the
   * files through a container's channel instead (see retain); without them it uses `archive`.
   */
  entries?: ArchiveEntry[];
  execs: ExecStep[];
  /** restart the container after the execs (Docker only). */
  restart: boolean;
  /** onOutput receives the output of the execs as it comes. */
  onOutput?: (text: string) => void;
  /** onNotice receives a line for the sync log when the update's files leave the channel for the per-call path. */
  onNotice?: (line: string) => void;
}

/** ContainerUpdater is what the LiveUpdate reconciler needs from a container runtime. */
export interface ContainerUpdater {
  /**
   * update applies the update. It resolves once the container acknowledged every deletion and
   * file, and the execs and restart are done. It rejects with a RunStepFailure when one of the
   * user's execs exited non-zero (the files are in place), and with any other error when the
   * update itself failed. It never waits longer than the step timeouts.
   */
  update(update: ContainerUpdate, signal?: AbortSignal): Promise<void>;
  /**
   * retain sets the containers one owner (a LiveUpdate, `namespace/name`) selects now. The
   * updater keeps a channel open to each (so the first update is already fast) and closes
   * every channel no owner retains any more, leaving no process behind; `retain(owner, [])`
   * releases all of the owner's. Updates to containers nobody retains use the per-call path.
   */
  retain?(owner: string, targets: ContainerTarget[]): void;
}

/**
 * RunStepFailure is a user's command that exited non-zero: the update itself worked, and the
 * message belongs in the container's `lastExecError`.
 */
export class RunStepFailure extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = 'RunStepFailure';
    this.exitCode = exitCode;
  }
}

/** displayCommand renders argv as Tilt does: `sh -c X` as X, arguments with spaces quoted. */
export function displayCommand(args: string[]): string {
  if (args.length === 3 && args[0] === 'sh' && args[1] === '-c') return args[2]!;
  return args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ');
}

/** execErrorMessage is `command "<cmd>" failed with exit code: N` plus the reason for 126/127/137. */
export function execErrorMessage(args: string[], exitCode: number): string {
  let msg = `command ${JSON.stringify(displayCommand(args))} failed with exit code: ${exitCode}`;
  if (exitCode === 137) msg += ' (killed by container runtime)';
  else if (exitCode === 126 || exitCode === 127) msg += ' (not found in PATH or not executable)';
  return msg;
}

/** tarCommand extracts an archive from stdin at the container root. */
export const tarCommand = ['tar', '-C', '/', '-x', '-f', '-'];

/** permissionDeniedHelp explains a tar that could not write (exit code 2). */
export function permissionDeniedHelp(err: string): string {
  return (
    `${err}\nThis usually means the container filesystem denied access. Please check:\n` +
    '  1) That the container image has writable files\n' +
    "  2) That the container image's default user has write access to the files\n" +
    '  3) That the Pod spec has no SecurityContext that blocks writes'
  );
}

/** cannotExecTarHelp explains a tar that could not be run (exit codes 126 and 127). */
export function cannotExecTarHelp(err: string): string {
  return (
    `${err}\nThis usually means that the live update could not exec \`tar\`.\n` +
    'Please check that the container image includes `tar` in $PATH.\n' +
    'Minimal images, such as those built `FROM scratch`, cannot be live-updated this way.'
  );
}

/** tarExitError maps the exit code of `tar -C / -x -f -` to the message the user sees. */
export function tarExitError(exitCode: number, output: string): Error {
  const base = execErrorMessage(tarCommand, exitCode) + (output.trim() ? `: ${output.trim()}` : '');
  if (exitCode === 2) return new Error(permissionDeniedHelp(base));
  if (exitCode === 126 || exitCode === 127) return new Error(cannotExecTarHelp(base));
  return new Error(execErrorMessage(tarCommand, exitCode));
}

/** goDuration formats milliseconds as Go's time.Duration does (`30s`, `1m0s`, `1.5s`, `250ms`). */
export const goDuration = formatGoDuration;

/** DeadlineOptions bound a step in time and tie it to the container being alive. */
export interface DeadlineOptions {
  clock: Clock;
  timeoutMs: number;
  /** timeoutMessage is the error when the step takes longer than timeoutMs. */
  timeoutMessage: string;
  /** alive resolves an error message when the container is gone, undefined while it lives. */
  alive?: () => Promise<string | undefined>;
  /** livenessIntervalMs is the time between two liveness checks. Default 1,000. */
  livenessIntervalMs?: number;
  /** onGiveUp is called when the step is abandoned (timeout, dead container, abort). */
  onGiveUp?: () => void;
  signal?: AbortSignal;
}

/**
 * withDeadline races a step against its timeout, a liveness check of the container and an
 * abort signal. Whatever comes first decides; the step's own later outcome is ignored.
 */
export function withDeadline<T>(step: Promise<T>, opts: DeadlineOptions): Promise<T> {
  const intervalMs = opts.livenessIntervalMs ?? 1000;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let livenessTimer: ReturnType<Clock['setTimeout']> | undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.clock.clearTimeout(timeoutTimer);
      if (livenessTimer) opts.clock.clearTimeout(livenessTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const giveUp = (err: Error) =>
      finish(() => {
        opts.onGiveUp?.();
        reject(err);
      });
    const onAbort = () => giveUp(new Error('live update aborted: ferry is stopping'));
    const timeoutTimer = opts.clock.setTimeout(() => giveUp(new Error(opts.timeoutMessage)), opts.timeoutMs);
    const checkAlive = () => {
      livenessTimer = opts.clock.setTimeout(async () => {
        if (settled || !opts.alive) return;
        let dead: string | undefined;
        try {
          dead = await opts.alive();
        } catch {
          dead = undefined; // an unanswered check proves nothing; the timeout still holds
        }
        if (dead) giveUp(new Error(dead));
        else if (!settled) checkAlive();
      }, intervalMs);
    };
    // The step's outcome is always taken in, even when it no longer decides: a step abandoned
    // that fails later must not be an unhandled rejection (it would end the process).
    step.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e)),
    );
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    if (opts.alive) checkAlive();
  });
}
