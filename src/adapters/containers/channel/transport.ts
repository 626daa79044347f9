import type { Readable } from 'node:stream';
import type { ContainerTarget } from '../updater.ts';

/** AgentProcess is one long-lived exec in a container, its stdin and stdout attached. */
export interface AgentProcess {
  /** output is the process's stdout. It ends when the exec ends or its connection drops. */
  output: Readable;
  /** write sends bytes to its stdin and resolves when more may be written (backpressure). */
  write(data: Buffer): Promise<void>;
  /** end closes its stdin: the agent then exits. */
  end(): void;
  /** destroy drops the connection at once. */
  destroy(): void;
  /**
   * hold says whether the connection keeps the process running: while an answer is due it
   * does; an idle channel never does (when ferry exits, the agent reads EOF and exits too).
   */
  hold(busy: boolean): void;
  /**
   * exited resolves when the exec is over: its exit code, or undefined when it is unknown (the
   * connection dropped). It never rejects.
   */
  exited: Promise<number | undefined>;
}

/**
 * AgentTransport starts agent processes in containers: Docker's exec API (DockerAgentTransport)
 * or Kubernetes pods/exec over WebSocket (KubernetesAgentTransport).
 */
export interface AgentTransport {
  /**
   * start runs argv in the container as its user, stdin and stdout attached. It rejects when
   * the exec could not be created (the container is not running, the runtime is unreachable).
   * A command the container cannot run (no `sh`) starts and exits 126/127 (or with no code).
   */
  start(target: ContainerTarget, argv: string[]): Promise<AgentProcess>;
  /** kill ends a process in the container by pid (a stuck agent), best effort. */
  kill(target: ContainerTarget, pid: number): Promise<void>;
  /** key names the container a channel belongs to: a new key (a replaced container) is a new channel. */
  key(target: ContainerTarget): string;
}
