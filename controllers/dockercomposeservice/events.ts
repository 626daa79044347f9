import type { Logger } from 'winston';
import type { DockerComposeService } from '../../src/apis/dockercomposeservice.ts';
import type { Cache } from '../../src/runtime/cache.ts';
import type { Clock } from '../../src/util/clock.ts';
import type { DockerClient, DockerEvent } from '../../src/adapters/docker/index.ts';
import { projectName } from './project.ts';
import { composeLabels, kind } from './reconciler.ts';
import type { Wake } from '../../src/runtime/index.ts';

/** containerActions are the container events that can change what status reports. */
const containerActions = new Set([
  'create', 'start', 'restart', 'stop', 'kill', 'die', 'oom', 'pause', 'unpause', 'destroy', 'rename', 'update',
]);

/** DockerEventSourceDeps are what the event source needs. */
export interface DockerEventSourceDeps {
  docker: DockerClient;
  cache: Cache;
  clock: Clock;
  log: Logger;
  /** wake asks for the reconcile of one DockerComposeService. */
  wake: Wake;
  /** cwd is what relative paths in specs resolve against (it can name the project). Default process.cwd(). */
  cwd?: string;
  /** projectSuffix follows every project name, as the reconciler's. Default none. */
  projectSuffix?: string;
  /** retryMs is the first pause before reconnecting a broken stream, doubling to 30 s. Default 500. */
  retryMs?: number;
}

/**
 * DockerEventSource follows the Docker Engine's event stream and wakes the DockerComposeService
 * whose Compose project and service a container event concerns. When the stream breaks it
 * reconnects with backoff and then wakes every DockerComposeService, since events were missed.
 */
export class DockerEventSource {
  private readonly deps: DockerEventSourceDeps;
  private abort?: AbortController;
  private loop?: Promise<void>;

  constructor(deps: DockerEventSourceDeps) {
    this.deps = deps;
  }

  start(): void {
    if (this.abort) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.abort = undefined;
    this.loop = undefined;
  }

  /** namesFor maps a container event to the DockerComposeServices it concerns. */
  namesFor(ev: DockerEvent): string[] {
    if (ev.type !== 'container' || !containerActions.has(ev.action)) return [];
    const project = ev.attributes[composeLabels.project];
    const service = ev.attributes[composeLabels.service];
    if (!project || !service) return [];
    return this.deps.cache
      .list<DockerComposeService>(kind)
      .filter((o) => o.spec?.service === service && projectName(o, this.deps.cwd, this.deps.projectSuffix) === project)
      .map((o) => o.metadata.name!);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { docker, log, clock } = this.deps;
    const firstRetryMs = this.deps.retryMs ?? 500;
    let retryMs = firstRetryMs;
    let failing = false;
    for (let attempt = 0; !signal.aborted; attempt++) {
      // Events may have been missed while the stream was down: look at every service again.
      if (attempt > 0) for (const o of this.deps.cache.list<DockerComposeService>(kind)) this.deps.wake.enqueue(o.metadata.name!);
      try {
        for await (const ev of docker.events({ types: ['container'], labels: [composeLabels.project], signal })) {
          retryMs = firstRetryMs;
          failing = false;
          for (const name of this.namesFor(ev)) this.deps.wake.enqueue(name);
        }
      } catch (err) {
        if (signal.aborted) return;
        if (!failing) log.warn('Docker event stream broken', { error: String(err), cause: String((err as Error).cause ?? '') });
        failing = true;
      }
      if (signal.aborted) return;
      await abortableSleep(clock, retryMs, signal);
      retryMs = Math.min(retryMs * 2, 30_000);
    }
  }
}

function abortableSleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(done, ms);
    function done() {
      clock.clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
