/**
 * PodLogs reads a pod's containers and follows what they print, through a cluster's Kubernetes
 * API (`GET /api/v1/namespaces/{ns}/pods/{name}/log` with follow and timestamps, through
 * client-node's Log).
 */
import { Writable } from 'node:stream';
import { ApiException, CoreV1Api, Log, type KubeConfig, type V1ContainerStatus } from '@kubernetes/client-node';
import { LineSplitter } from '../../util/lines.ts';
import { splitTimestamp, wholeSeconds } from '../../util/log-time.ts';
import { errorMessage } from './pod-watchers.ts';

/** PodContainer is one container of a pod, as its status reports it. */
export interface PodContainer {
  name: string;
  /** id is the runtime's container id without its scheme (`docker://`); empty before it is created. */
  id: string;
  init: boolean;
  state: 'waiting' | 'running' | 'terminated';
}

/** PodInfo is what the log streams need of a pod. */
export interface PodInfo {
  deleting: boolean;
  /** containers are the init containers, then the others, in the pod's order. */
  containers: PodContainer[];
}

/** PodLogLine is one line a container printed. */
export interface PodLogLine {
  /** time is when the runtime received the line, normalised (src/util/log-time.ts). */
  time?: string;
  text: string;
}

/** PodLogs reads pods and their containers' output in one cluster. */
export interface PodLogs {
  /** pod is the pod's containers, or undefined when it does not exist. */
  pod(namespace: string, name: string): Promise<PodInfo | undefined>;
  /**
   * follow calls onLine with each line the container printed since opts.since (a normalised
   * time; the API takes whole seconds, so earlier lines of that second come too) and from now
   * on, resolving when the container stops or signal aborts, rejecting when the API refuses.
   */
  follow(namespace: string, pod: string, container: string, opts: { since?: string; signal?: AbortSignal }, onLine: (line: PodLogLine) => void): Promise<void>;
}

/** ClientNodePodLogs is PodLogs over client-node. */
export class ClientNodePodLogs implements PodLogs {
  private readonly core: CoreV1Api;
  private readonly logs: Log;

  constructor(kubeConfig: KubeConfig) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.logs = new Log(kubeConfig);
  }

  async pod(namespace: string, name: string): Promise<PodInfo | undefined> {
    try {
      const pod = await this.core.readNamespacedPod({ name, namespace });
      const containers = (statuses: V1ContainerStatus[] | undefined, init: boolean): PodContainer[] =>
        (statuses ?? []).map((s) => ({
          name: s.name,
          id: (s.containerID ?? '').replace(/^[a-z]+:\/\//, ''),
          init,
          state: s.state?.running ? 'running' : s.state?.terminated ? 'terminated' : 'waiting',
        }));
      return {
        deleting: !!pod.metadata?.deletionTimestamp,
        containers: [...containers(pod.status?.initContainerStatuses, true), ...containers(pod.status?.containerStatuses, false)],
      };
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw new Error(errorMessage(err), { cause: err });
    }
  }

  async follow(namespace: string, pod: string, container: string, opts: { since?: string; signal?: AbortSignal }, onLine: (line: PodLogLine) => void): Promise<void> {
    if (opts.signal?.aborted) return;
    const lines = new LineSplitter((line) => onLine(splitTimestamp(line)));
    let finished!: () => void;
    let failed!: (err: Error) => void;
    const done = new Promise<void>((resolve, reject) => {
      finished = resolve;
      failed = reject;
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.write(chunk);
        cb();
      },
      final(cb) {
        lines.end();
        cb();
        finished();
      },
    });
    // The response body is piped into sink, which does not end when the body breaks: watch the body itself.
    sink.on('pipe', (body: NodeJS.ReadableStream) => {
      body.once('error', (err: Error) => (opts.signal?.aborted ? finished() : failed(new Error(`reading the logs of ${container}`, { cause: err }))));
      body.once('close', () => {
        lines.end();
        finished();
      });
    });
    let controller: AbortController;
    try {
      controller = await this.logs.log(namespace, pod, container, sink, { follow: true, timestamps: true, ...(opts.since ? { sinceTime: wholeSeconds(opts.since) } : {}) });
    } catch (err) {
      throw new Error(`reading the logs of ${container}: ${errorMessage(err)}`, { cause: err });
    }
    const stop = () => {
      controller.abort();
      finished();
    };
    if (opts.signal?.aborted) stop();
    opts.signal?.addEventListener('abort', stop, { once: true });
    try {
      await done;
    } finally {
      opts.signal?.removeEventListener('abort', stop);
    }
  }
}
