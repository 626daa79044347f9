import { PassThrough, type Readable } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.ts';
import {
  RunStepFailure,
  cannotExecTarHelp,
  displayCommand,
  execErrorMessage,
  goDuration,
  permissionDeniedHelp,
  tarCommand,
  tarExitError,
  withDeadline,
  type ContainerTarget,
  type ContainerUpdate,
  type ContainerUpdater,
} from './updater.ts';
import { errorText } from '../../util/errors.ts';
import { ChannelPool, type ChannelSettings } from './channel/pool.ts';
import { KubernetesAgentTransport } from './channel/kubernetes.ts';

/** ExecContainerUpdaterDeps configure an ExecContainerUpdater. */
export interface ExecContainerUpdaterDeps {
  kubeConfig: KubeConfig;
  clock: Clock;
  /** stepTimeoutMs bounds the deletion and the copy. Default 60,000. */
  stepTimeoutMs?: number;
  /**
   * channel tunes the channels to retained containers (see ContainerUpdater.retain); false
   * sends everything through the per-call path.
   */
  channel?: false | ChannelSettings;
}

/** restartUnsupported is the error for `restart: always` on Kubernetes. */
export const restartUnsupported =
  'ExecUpdater does not support `restart_container()` step. If you ran Tilt with `--updateMode=exec`, omit this flag. ' +
  'If you are using a non-Docker container runtime, see https://github.com/tilt-dev/tilt-extensions/tree/master/restart_process for a workaround';

interface ExecOutcome {
  /** exitCode is undefined when the command failed without one (the exec itself failed). */
  exitCode?: number;
  message: string;
  output: string;
}

/** ExecStatusError is an exec that failed without an exit code: the connection or the runtime failed. */
class ExecStatusError extends Error {
  readonly output: string;
  constructor(message: string, output: string) {
    super(message);
    this.output = output;
  }
}

/**
 * ExecContainerUpdater updates containers of Kubernetes pods through pods/exec (client-node's
 * Exec over WebSocket): deletions and files through the container's channel when it has one
 * (a retained container whose image has a shell; one without `tar` only for batches below the
 * crossover), otherwise `rm -rf` and `tar -C / -x -f -` with the archive on stdin; then the
 * user's commands in order, stopping at the first failure. It cannot restart containers.
 */
export class ExecContainerUpdater implements ContainerUpdater {
  private readonly exec: Exec;
  private readonly clock: Clock;
  private readonly stepTimeoutMs: number;
  private readonly channels: ChannelPool | undefined;

  constructor(deps: ExecContainerUpdaterDeps) {
    this.exec = new Exec(deps.kubeConfig);
    this.clock = deps.clock;
    this.stepTimeoutMs = deps.stepTimeoutMs ?? 60_000;
    if (deps.channel !== false) {
      this.channels = new ChannelPool({ ...deps.channel, transport: new KubernetesAgentTransport(deps.kubeConfig), clock: deps.clock });
    }
  }

  retain(owner: string, targets: ContainerTarget[]): void {
    this.channels?.retain(owner, targets);
  }

  /** close closes every channel (ferry is stopping). */
  async close(): Promise<void> {
    await this.channels?.close();
  }

  async update(full: ContainerUpdate, signal?: AbortSignal): Promise<void> {
    if (full.restart) throw new Error(restartUnsupported);
    const u: ContainerUpdate = this.channels ? await this.channels.through(full, signal) : full;

    if (u.deletePaths.length > 0) {
      try {
        const r = await this.run(u, ['rm', '-rf', ...u.deletePaths], { timeoutMs: this.stepTimeoutMs, signal });
        if (r.exitCode !== 0) throw new Error(`${execErrorMessage(['rm', '-rf', ...u.deletePaths], r.exitCode ?? -1)}: ${r.output.trim()}`);
      } catch (err) {
        throw new Error(`removing old files: ${kubeErrorText(err)}`, { cause: err });
      }
    }

    if (u.archive) {
      let r: ExecOutcome;
      try {
        r = await this.run(u, tarCommand, { stdin: u.archive(), timeoutMs: this.stepTimeoutMs, signal });
      } catch (err) {
        throw tarErrorWithoutExitCode(err);
      }
      if (r.exitCode !== 0) throw tarExitError(r.exitCode ?? -1, r.output);
    }

    for (const step of u.execs) {
      let r: ExecOutcome;
      try {
        r = await this.run(u, step.args, { timeoutMs: step.timeoutMs, signal, onOutput: u.onOutput });
      } catch (err) {
        const text = kubeErrorText(err);
        if (text.toLowerCase().includes('executable file not found')) {
          throw new RunStepFailure(execErrorMessage(step.args, 127), 127);
        }
        throw new Error(`executing ${JSON.stringify(displayCommand(step.args))}: ${text}`, { cause: err });
      }
      if (r.exitCode !== 0) {
        const code = r.exitCode ?? -1;
        throw new RunStepFailure(execErrorMessage(step.args, code), code);
      }
    }
  }

  private async run(
    u: ContainerUpdate,
    argv: string[],
    opts: { stdin?: Readable; timeoutMs: number; signal?: AbortSignal; onOutput?: (text: string) => void },
  ): Promise<ExecOutcome> {
    const chunks: Buffer[] = [];
    const out = new PassThrough();
    out.on('data', (b: Buffer) => {
      chunks.push(b);
      opts.onOutput?.(b.toString('utf8'));
    });
    const output = () => Buffer.concat(chunks).toString('utf8');
    let socket: { close(): void; once?(ev: string, fn: () => void): void } | undefined;
    let status: V1Status | undefined;
    const done = new Promise<ExecOutcome>((resolve, reject) => {
      const stdinFailed = (err: Error) => reject(new ExecStatusError(`reading the archive: ${err.message}`, output()));
      opts.stdin?.once('error', stdinFailed);
      this.exec
        .exec(u.target.namespace, u.target.podName, u.target.containerName, argv, out, out, opts.stdin ?? null, false, (s) => {
          status = s;
          try {
            resolve(outcomeOf(s, output()));
          } catch (err) {
            reject(err);
          }
        })
        .then((ws) => {
          socket = ws;
          ws.on('close', () => {
            // The status arrives before the close; without one the command's fate is unknown.
            if (!status) reject(new ExecStatusError('the connection closed before the command reported its exit status', output()));
          });
          ws.on('error', (err: Error) => reject(new ExecStatusError(err.message, output())));
        }, (err: unknown) => reject(new ExecStatusError(connectMessage(err), output())));
    });
    try {
      return await withDeadline(done, {
        clock: this.clock,
        timeoutMs: opts.timeoutMs,
        timeoutMessage: `command ${JSON.stringify(displayCommand(argv))} timed out after ${goDuration(opts.timeoutMs)}`,
        onGiveUp: () => {
          socket?.close();
          opts.stdin?.destroy();
        },
        signal: opts.signal,
      });
    } finally {
      socket?.close();
    }
  }
}

function outcomeOf(s: V1Status, output: string): ExecOutcome {
  if (s.status === 'Success') return { exitCode: 0, message: '', output };
  const cause = s.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause?.message !== undefined && /^\d+$/.test(cause.message)) {
    return { exitCode: Number(cause.message), message: s.message ?? '', output };
  }
  throw new ExecStatusError(s.message || s.reason || 'the command failed', output);
}

function connectMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  const e = err as { message?: string; error?: { message?: string } } | undefined;
  return e?.error?.message || e?.message || String(err);
}

function kubeErrorText(err: unknown): string {
  if (err instanceof ExecStatusError) return err.output.trim() ? `${err.message}: ${err.output.trim()}` : err.message;
  return errorText(err);
}

/** tarErrorWithoutExitCode gives the help texts when the output says why tar failed. */
function tarErrorWithoutExitCode(err: unknown): Error {
  const text = kubeErrorText(err);
  const lower = text.toLowerCase();
  if (lower.includes('permission denied') || lower.includes('cannot open')) return new Error(permissionDeniedHelp(text), { cause: err });
  if (lower.includes('executable file not found')) return new Error(cannotExecTarHelp(text), { cause: err });
  return new Error(`copying changed files: ${text}`, { cause: err });
}
