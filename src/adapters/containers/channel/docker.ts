import { PassThrough, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { ContainerTarget } from '../updater.ts';
import type { AgentProcess, AgentTransport } from './transport.ts';

/**
 * DockerAgentTransport runs agents through the Engine's exec API: one exec, hijacked, stdin
 * attached, as the container's user (no user override).
 */
export class DockerAgentTransport implements AgentTransport {
  constructor(private readonly docker: Docker) {}

  key(t: ContainerTarget): string {
    return t.containerId;
  }

  async start(t: ContainerTarget, argv: string[]): Promise<AgentProcess> {
    const exec = await this.docker.getContainer(t.containerId).exec({ Cmd: argv, AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
    const output = new PassThrough();
    const stderr = new PassThrough();
    stderr.resume();
    this.docker.modem.demuxStream(stream, output, stderr);
    stream.on('error', () => undefined);
    const over = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
    });
    void over.then(() => output.end());
    const exited = over.then(() => exitCode(exec));
    return {
      output,
      exited,
      write: (data) =>
        new Promise<void>((resolve, reject) => {
          if (stream.destroyed || stream.writableEnded) return reject(new Error('the agent connection is closed'));
          if (stream.write(data)) return resolve();
          const done = () => {
            stream.off('drain', done);
            stream.off('close', done);
            resolve();
          };
          stream.once('drain', done);
          stream.once('close', done);
        }),
      end: () => stream.end(),
      destroy: () => stream.destroy(),
      hold: (busy) => {
        const socket = stream as Duplex & { ref?: () => void; unref?: () => void };
        if (busy) socket.ref?.();
        else socket.unref?.();
      },
    };
  }

  async kill(t: ContainerTarget, pid: number): Promise<void> {
    const exec = await this.docker.getContainer(t.containerId).exec({ Cmd: ['sh', '-c', `kill -9 ${pid}`], AttachStdout: true, AttachStderr: true });
    const stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
    stream.on('error', () => undefined);
    stream.resume();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      timer.unref();
      stream.once('end', resolve);
      stream.once('close', resolve);
    });
    stream.destroy();
  }
}

/** exitCode asks the Engine how the exec ended: undefined when it cannot say (the container is gone). */
async function exitCode(exec: Docker.Exec): Promise<number | undefined> {
  for (let i = 0; i < 50; i++) {
    try {
      const info = await exec.inspect();
      if (!info.Running) return info.ExitCode ?? undefined;
    } catch {
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
}
