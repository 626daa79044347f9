import { PassThrough } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import type { ContainerTarget } from '../updater.ts';
import type { AgentProcess, AgentTransport } from './transport.ts';

/** highWaterBytes: writes wait while the WebSocket holds more than this unsent. */
const highWaterBytes = 1024 * 1024;

/**
 * KubernetesAgentTransport runs agents through pods/exec (client-node's Exec over WebSocket),
 * stdin attached, as the container's user.
 */
export class KubernetesAgentTransport implements AgentTransport {
  private readonly exec: Exec;

  constructor(kubeConfig: KubeConfig) {
    this.exec = new Exec(kubeConfig);
  }

  key(t: ContainerTarget): string {
    return `${t.namespace}/${t.podName}/${t.containerName}/${t.containerId}`;
  }

  async start(t: ContainerTarget, argv: string[]): Promise<AgentProcess> {
    const stdin = new PassThrough();
    const output = new PassThrough();
    const stderr = new PassThrough();
    stderr.resume();
    let exit: (code: number | undefined) => void = () => undefined;
    const exited = new Promise<number | undefined>((resolve) => (exit = resolve));
    const ws = await this.exec.exec(t.namespace, t.podName, t.containerName, argv, output, stderr, stdin, false, (s) => exit(exitCodeOf(s)));
    const over = () => {
      exit(undefined);
      if (!output.writableEnded) output.end();
    };
    ws.on('close', over);
    ws.on('error', over);
    const open = () => ws.readyState === ws.OPEN;
    return {
      output,
      exited,
      async write(data) {
        if (!open()) throw new Error('the agent connection is closed');
        stdin.write(data);
        // client-node sends stdin as it comes, without backpressure: wait for the socket instead.
        while (open() && ws.bufferedAmount > highWaterBytes) await new Promise((r) => setTimeout(r, 2));
      },
      end: () => stdin.end(),
      destroy: () => {
        stdin.destroy();
        ws.terminate();
        over();
      },
      hold: (busy) => {
        const socket = (ws as unknown as { _socket?: { ref?: () => void; unref?: () => void } })._socket;
        if (busy) socket?.ref?.();
        else socket?.unref?.();
      },
    };
  }

  async kill(t: ContainerTarget, pid: number): Promise<void> {
    const ws = await this.exec.exec(t.namespace, t.podName, t.containerName, ['sh', '-c', `kill -9 ${pid}`], null, null, null, false);
    ws.on('error', () => undefined);
  }
}

/** exitCodeOf reads the exit code from the exec's final status; 127 for a command not found. */
function exitCodeOf(s: V1Status): number | undefined {
  if (s.status === 'Success') return 0;
  const cause = s.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause?.message !== undefined && /^\d+$/.test(cause.message)) return Number(cause.message);
  if (/executable file not found|no such file or directory/i.test(s.message ?? '')) return 127;
  return undefined;
}
