import { PassThrough, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { sleep, type Clock } from '../../util/clock.ts';
import { ChannelPool, type ChannelSettings } from './channel/pool.ts';
import { DockerAgentTransport } from './channel/docker.ts';
import {
  RunStepFailure,
  displayCommand,
  execErrorMessage,
  goDuration,
  withDeadline,
  type ContainerTarget,
  type ContainerUpdate,
  type ContainerUpdater,
} from './updater.ts';

/** DockerContainerUpdaterDeps configure a DockerContainerUpdater. */
export interface DockerContainerUpdaterDeps {
  docker: Docker;
  clock: Clock;
  /** stepTimeoutMs bounds the deletion, the copy and the restart. Default 60,000. */
  stepTimeoutMs?: number;
  /** livenessIntervalMs is how often a running step checks that the container still runs. Default 1,000. */
  livenessIntervalMs?: number;
  /**
   * channel tunes the channels to retained containers (see ContainerUpdater.retain); false
   * sends everything through the per-call path.
   */
  channel?: false | ChannelSettings;
}

/** maxArgvBytes keeps one `rm -rf` command line well under the kernel's limit. */
const maxArgvBytes = 64 * 1024;

interface ExecOutcome {
  exitCode: number;
  output: string;
}

/**
 * DockerContainerUpdater updates containers through the Docker Engine. Deletions and files go
 * through the container's channel when it has one (a retained container whose image has a
 * shell; a container without `tar` only for batches below the crossover); otherwise `rm -rf`
 * by exec and the files through the archive API with copyUIDGID (extracted by the daemon,
 * owned by the container's user, no `tar` needed in the image). Then the user's commands by exec, then a restart.
 */
export class DockerContainerUpdater implements ContainerUpdater {
  private readonly docker: Docker;
  private readonly clock: Clock;
  private readonly stepTimeoutMs: number;
  private readonly livenessIntervalMs: number;
  private readonly channels: ChannelPool | undefined;

  constructor(deps: DockerContainerUpdaterDeps) {
    this.docker = deps.docker;
    this.clock = deps.clock;
    this.stepTimeoutMs = deps.stepTimeoutMs ?? 60_000;
    this.livenessIntervalMs = deps.livenessIntervalMs ?? 1000;
    if (deps.channel !== false) {
      this.channels = new ChannelPool({ ...deps.channel, transport: new DockerAgentTransport(deps.docker), clock: deps.clock });
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
    const u: ContainerUpdate = this.channels ? await this.channels.through(full, signal) : full;
    const id = u.target.containerId;
    const short = id.slice(0, 10);
    const container = this.docker.getContainer(id);
    const alive = async (): Promise<string | undefined> => {
      const info = await container.inspect();
      return info.State.Running ? undefined : `container ${u.target.containerName || short} is ${info.State.Status}`;
    };

    if (u.deletePaths.length > 0) {
      const prefix = 'rmPathsFromContainer: Error deleting files from container';
      for (const batch of argvBatches(u.deletePaths)) {
        let r: ExecOutcome;
        try {
          r = await this.exec(container, ['rm', '-rf', ...batch], { timeoutMs: this.stepTimeoutMs, alive, signal });
        } catch (err) {
          throw new Error(`${prefix}: ${dockerMessage(err)}`, { cause: err });
        }
        if (r.exitCode !== 0) throw new Error(`${prefix}: ${r.output.trim() || `exit code ${r.exitCode}`}`);
      }
    }

    if (u.archive) {
      try {
        await this.putArchive(container, u.archive(), alive, signal);
      } catch (err) {
        throw new Error(`copying changed files: ${dockerMessage(err)}`, { cause: err });
      }
    }

    for (const step of u.execs) {
      const r = await this.exec(container, step.args, {
        timeoutMs: step.timeoutMs,
        alive,
        signal,
        onOutput: u.onOutput,
      }).catch((err: unknown) => {
        throw new Error(`executing on container ${short}: ${dockerMessage(err)}`, { cause: err });
      });
      if (r.exitCode !== 0) {
        const msg = `executing on container ${short}: ${execErrorMessage(step.args, r.exitCode)}`;
        if (r.exitCode === 137) throw new Error(msg);
        throw new RunStepFailure(msg, r.exitCode);
      }
    }

    if (u.restart) {
      try {
        await withDeadline(container.restart({ t: 0 }), {
          clock: this.clock,
          timeoutMs: this.stepTimeoutMs,
          timeoutMessage: `timed out after ${goDuration(this.stepTimeoutMs)}`,
          signal,
        });
      } catch (err) {
        throw new Error(`ContainerRestart: ${dockerMessage(err)}`, { cause: err });
      }
    }
  }

  private async putArchive(
    container: Docker.Container,
    archive: Readable,
    alive: () => Promise<string | undefined>,
    signal?: AbortSignal,
  ): Promise<void> {
    const abort = new AbortController();
    const archiveFailed = new Promise<never>((_, reject) => archive.once('error', reject));
    archiveFailed.catch(() => abort.abort());
    const put = container.putArchive(archive as unknown as NodeJS.ReadableStream, {
      path: '/',
      copyUIDGID: true,
      abortSignal: abort.signal,
    });
    await withDeadline(Promise.race([put, archiveFailed]), {
      clock: this.clock,
      timeoutMs: this.stepTimeoutMs,
      timeoutMessage: `timed out after ${goDuration(this.stepTimeoutMs)}`,
      alive,
      livenessIntervalMs: this.livenessIntervalMs,
      onGiveUp: () => {
        abort.abort();
        archive.destroy();
      },
      signal,
    });
  }

  private async exec(
    container: Docker.Container,
    argv: string[],
    opts: {
      timeoutMs: number;
      alive: () => Promise<string | undefined>;
      signal?: AbortSignal;
      onOutput?: (text: string) => void;
      timeoutMessage?: string;
    },
  ): Promise<ExecOutcome> {
    const exec = await container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, AttachStdin: false });
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (b: Buffer) => {
      chunks.push(b);
      opts.onOutput?.(b.toString('utf8'));
    });
    this.docker.modem.demuxStream(stream, sink, sink);
    const finished = new Promise<void>((resolve, reject) => {
      stream.once('end', () => resolve());
      stream.once('close', () => resolve());
      stream.once('error', reject);
    }).then(() => this.exitCode(exec));
    const exitCode = await withDeadline(finished, {
      clock: this.clock,
      timeoutMs: opts.timeoutMs,
      timeoutMessage: opts.timeoutMessage ?? `command ${JSON.stringify(displayCommand(argv))} timed out after ${goDuration(opts.timeoutMs)}`,
      alive: opts.alive,
      livenessIntervalMs: this.livenessIntervalMs,
      onGiveUp: () => stream.destroy(),
      signal: opts.signal,
    });
    return { exitCode, output: Buffer.concat(chunks).toString('utf8') };
  }

  /** exitCode waits for the exec to be reported finished: the stream can end a moment before. */
  private async exitCode(exec: Docker.Exec): Promise<number> {
    for (let i = 0; ; i++) {
      const info = await exec.inspect();
      if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return info.ExitCode;
      if (i >= 200) throw new Error('the exec ended but Docker never reported its exit code');
      await sleep(this.clock, 10);
    }
  }
}

function argvBatches(paths: string[]): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const p of paths) {
    if (current.length > 0 && bytes + p.length + 1 > maxArgvBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += p.length + 1;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** dockerMessage is the Engine's own message for an API error, else the error's message. */
export function dockerMessage(err: unknown): string {
  const json = (err as { json?: { message?: string } } | undefined)?.json;
  if (json && typeof json.message === 'string') return json.message.trim();
  if (err instanceof Error) return err.message;
  return String(err);
}
