/**
 * ContainerLogs follows what a container prints, through the Engine's logs API with timestamps,
 * stdout and stderr kept apart (demultiplexed unless the container has a TTY).
 */
import type Docker from 'dockerode';
import { LineSplitter } from '../../util/lines.ts';
import { splitTimestamp, unixSince } from '../../util/log-time.ts';

/** ContainerLogLine is one line a container printed. */
export interface ContainerLogLine {
  stream: 'stdout' | 'stderr';
  /** time is when the Engine received the line, normalised (src/util/log-time.ts). */
  time?: string;
  text: string;
}

/** FollowLogsOptions say from when to read and when to stop. */
export interface FollowLogsOptions {
  /** since is a normalised time: only lines from then on (the Engine's `since`, inclusive). */
  since?: string;
  /** signal stops following; the promise then resolves. */
  signal?: AbortSignal;
}

/** ContainerLogs reads a container's output. */
export interface ContainerLogs {
  /**
   * follow calls onLine with each line the container printed (since opts.since) and prints from
   * now on, resolving when the container stops (or signal aborts) and rejecting when the
   * container does not exist or the stream breaks.
   */
  follow(id: string, opts: FollowLogsOptions, onLine: (line: ContainerLogLine) => void): Promise<void>;
}

/** DockerodeContainerLogs is ContainerLogs over dockerode. */
export class DockerodeContainerLogs implements ContainerLogs {
  constructor(private readonly docker: Docker) {}

  async follow(id: string, opts: FollowLogsOptions, onLine: (line: ContainerLogLine) => void): Promise<void> {
    if (opts.signal?.aborted) return;
    const container = this.docker.getContainer(id);
    let tty: boolean;
    let stream: NodeJS.ReadableStream;
    try {
      tty = (await container.inspect()).Config?.Tty === true;
      // The Engine takes `since` as seconds with a fraction; dockerode's type says number.
      const since = opts.since ? (unixSince(opts.since) as unknown as number) : undefined;
      stream = (await container.logs({ follow: true, stdout: true, stderr: true, timestamps: true, ...(since !== undefined ? { since } : {}) })) as NodeJS.ReadableStream;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw new Error(`container ${id.slice(0, 12)} does not exist`, { cause: err });
      throw new Error('reading container logs', { cause: err });
    }
    const splitters = (['stdout', 'stderr'] as const).map(
      (name) => [name, new LineSplitter((line) => onLine({ stream: name, ...splitTimestamp(line) }))] as const,
    );
    // Written to synchronously, so every line is delivered before the stream's end is seen.
    const [out, errs] = splitters.map(([, s]) => ({ write: (d: Buffer) => (s.write(d), true) }) as unknown as NodeJS.WritableStream);
    if (tty) stream.on('data', (d: Buffer) => out.write(d));
    else this.docker.modem.demuxStream(stream, out, errs);
    const destroy = () => (stream as unknown as { destroy(): void }).destroy();
    opts.signal?.addEventListener('abort', destroy, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', (err) => (opts.signal?.aborted ? resolve() : reject(new Error('reading container logs', { cause: err }))));
      });
    } finally {
      opts.signal?.removeEventListener('abort', destroy);
      for (const [, s] of splitters) s.end();
    }
  }
}
