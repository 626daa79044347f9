/**
 * DockerComposeLogStreamReconciler follows what a Compose service's container prints into the
 * resource's logs (`ferry logs`, source runtime). It finds the container by the Compose project
 * and service labels, follows its output through the Engine with timestamps, marks a restart
 * or a new container with a line, and keeps where it read up to in an annotation
 * (position.ts), so that a restarted daemon asks the Engine for what came after and prints no
 * line twice. It also creates the stream of each DockerComposeService that has none, as Tilt
 * does: same name and resource, owned by the service.
 */
import type { DockerComposeLogStream, DockerComposeLogStreamStatus } from '../../src/apis/dockercomposelogstream.ts';
import type { DockerComposeService } from '../../src/apis/dockercomposeservice.ts';
import { annotations, apiVersion, resourceName, toMicroTime } from '../../src/apis/meta.ts';
import type { ContainerDetails, ContainerLogs, DockerClient } from '../../src/adapters/docker/index.ts';
import { AnnotationWriter, isAlreadyExists, updateStatusIfChanged, type Cache, type Client, type Clock, type ReconcileContext, type Reconciler, type Request, type Result, type Wake } from '../../src/runtime/index.ts';
import type { Logger } from 'winston';
import { errorText } from '../../src/util/errors.ts';
import { normalizeLogTime } from '../../src/util/log-time.ts';
import type { LogBuffer } from '../../src/util/log-buffer.ts';
import { after, marker, pickContainer, positionAnnotation, projectName, readPosition, type Position } from './position.ts';

export const kind = 'DockerComposeLogStream';
export const serviceKind = 'DockerComposeService';

/** composeLabels are the labels Compose puts on a service's containers. */
const composeLabels = { project: 'com.docker.compose.project', service: 'com.docker.compose.service' } as const;

/**
 * idlePollMs is how often a stream without a running container looks for one; with a
 * DockerComposeService of its name, whose status changes wake it, only as a safety net.
 */
const idlePollMs = 5_000;
const idlePollWithServiceMs = 30_000;
/** maxRetryMs caps the pause before following again after the stream broke. */
const maxRetryMs = 30_000;

/** DockerComposeLogStreamReconcilerDeps are what the reconciler needs. */
export interface DockerComposeLogStreamReconcilerDeps {
  client: Client;
  /** cache must hold DockerComposeLogStreams and DockerComposeServices (setup() arranges it). */
  cache: Cache;
  clock: Clock;
  log: Logger;
  docker: DockerClient;
  containerLogs: ContainerLogs;
  /** logs receives the lines under the stream's resource. */
  logs: LogBuffer;
  /** wake asks for a reconcile when a follow ends. */
  wake: Wake;
  /** cwd is what relative paths in the project resolve against. Default process.cwd(). */
  cwd?: string;
  /** persistMs is how long read positions wait before they are written. Default 1,000. */
  persistMs?: number;
}

interface Follow {
  abort: AbortController;
  done: Promise<void>;
}

interface Entry {
  specKey: string;
  /** position is what has been read (kept in the annotation by the reconciler's positions writer). */
  position?: Position;
  follow?: Follow;
  /** ended is the container run whose output was read to its end: not followed again until it restarts. */
  ended?: { container: string; startedAt?: string };
  error?: string;
  failures: number;
  failedAtMs: number;
  startedAt?: string;
}

export class DockerComposeLogStreamReconciler implements Reconciler {
  private readonly entries = new Map<string, Entry>();
  private readonly cwd: string;
  private readonly positions: AnnotationWriter;
  private stopped = false;

  constructor(private readonly deps: DockerComposeLogStreamReconcilerDeps) {
    this.cwd = deps.cwd ?? process.cwd();
    this.positions = new AnnotationWriter({ ...deps, kind, key: positionAnnotation, delayMs: deps.persistMs ?? 1_000, what: 'where the log stream read up to' });
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void> {
    const obj = this.deps.cache.get<DockerComposeLogStream>(kind, req.name);
    if (!obj) {
      await this.forget(req.name, false);
      await this.createForService(req.name, ctx);
      return;
    }
    if (obj.metadata.deletionTimestamp || !obj.spec) {
      await this.forget(req.name, false);
      return;
    }
    if (this.stopped) return;
    const spec = obj.spec;
    const specKey = JSON.stringify(obj.spec);
    let e = this.entries.get(req.name);
    if (!e) {
      const entry: Entry = { specKey, position: readPosition(obj), failures: 0, failedAtMs: 0 };
      this.positions.track(req.name, () => (entry.position ? JSON.stringify(entry.position) : undefined), obj.metadata.annotations?.[positionAnnotation]);
      this.entries.set(req.name, (e = entry));
    }
    if (e.specKey !== specKey) {
      await this.stopFollow(e);
      e.specKey = specKey;
      e.ended = undefined;
      e.error = undefined;
      e.failures = 0;
    }
    if (e.follow) return;

    let container: ContainerDetails | undefined;
    try {
      const list = await this.deps.docker.listContainers({ labels: { [composeLabels.project]: projectName(obj, this.cwd), [composeLabels.service]: spec.service } });
      const pick = pickContainer(list);
      container = pick ? await this.deps.docker.inspectContainer(pick.id) : undefined;
    } catch (err) {
      await this.writeStatus(obj, { startedAt: e.startedAt, error: `finding the container: ${errorText(err)}` });
      return { requeueAfterMs: idlePollMs };
    }
    const pollMs = this.deps.cache.get(serviceKind, req.name) ? idlePollWithServiceMs : idlePollMs;
    if (!container) {
      await this.writeStatus(obj, { startedAt: e.startedAt });
      return { requeueAfterMs: pollMs };
    }
    const run = { container: container.id, startedAt: container.state.startedAt };
    const sameRun = (r: { container: string; startedAt?: string } | undefined) => r?.container === run.container && r.startedAt === run.startedAt;
    if (e.error === undefined && sameRun(e.ended)) {
      // Read to its end already: wait for a restart or a new container (a container that still
      // says running here is about to say otherwise).
      return { requeueAfterMs: pollMs };
    }
    if (e.error !== undefined && sameRun(e.position)) {
      const waitMs = Math.min(maxRetryMs, 500 * 2 ** Math.min(e.failures - 1, 10)) - (this.deps.clock.now().getTime() - e.failedAtMs);
      if (waitMs > 0) {
        await this.writeStatus(obj, { startedAt: e.startedAt, error: e.error });
        return { requeueAfterMs: waitMs };
      }
    }
    this.startFollow(req.name, obj, e, run);
    await this.writeStatus(obj, { startedAt: e.startedAt });
  }

  /** stop ends every follow and writes every read position, as the daemon stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.entries.keys()].map((name) => this.forget(name, true)));
  }

  private startFollow(name: string, obj: DockerComposeLogStream, e: Entry, run: { container: string; startedAt?: string }): void {
    const resource = resourceName(obj);
    const source = `${kind}/${name}`;
    const line = marker(e.position, run);
    if (line) this.deps.logs.append(resource, { source, stream: 'ferry', line });
    const position: Position = { container: run.container, ...(run.startedAt ? { startedAt: run.startedAt } : {}), ...(e.position?.time ? { time: e.position.time } : {}) };
    e.position = position;
    this.positions.changed(name);
    const sinceTime = obj.spec?.sinceTime ? normalizeLogTime(obj.spec.sinceTime) : undefined;
    const since = position.time ?? sinceTime;
    const abort = new AbortController();
    const done = this.deps.containerLogs
      .follow(run.container, { since, signal: abort.signal }, (l) => {
        if (l.time && position.time && !after(l.time, position.time)) return;
        if (l.time && sinceTime && l.time < sinceTime) return;
        this.deps.logs.append(resource, { source, stream: l.stream, line: l.text });
        if (l.time) {
          position.time = l.time;
          this.positions.changed(name);
        }
      })
      .then(
        () => {
          e.error = undefined;
          e.failures = 0;
          e.ended = run;
        },
        (err: unknown) => {
          e.error = `following the container's output: ${errorText(err)}`;
          e.failures++;
          e.failedAtMs = this.deps.clock.now().getTime();
          this.deps.log.debug('Container output stream broke', { name, error: e.error });
        },
      )
      .finally(() => {
        if (e.follow?.abort === abort) e.follow = undefined;
        if (!abort.signal.aborted) this.deps.wake.enqueue(name);
      });
    e.follow = { abort, done };
    e.startedAt = toMicroTime(this.deps.clock.now());
    e.error = undefined;
  }

  private async stopFollow(e: Entry): Promise<void> {
    const f = e.follow;
    if (!f) return;
    f.abort.abort();
    await f.done;
    e.follow = undefined;
  }

  /** forget stops following name; with persist, its read position is written first. */
  private async forget(name: string, persist: boolean): Promise<void> {
    const e = this.entries.get(name);
    if (!e) return;
    this.entries.delete(name);
    await this.stopFollow(e);
    await this.positions.forget(name, persist);
  }



  private async writeStatus(obj: DockerComposeLogStream, status: DockerComposeLogStreamStatus): Promise<void> {
    const clean: DockerComposeLogStreamStatus = {};
    if (status.startedAt) clean.startedAt = status.startedAt;
    if (status.error) clean.error = status.error;
    await updateStatusIfChanged(this.deps.client, { ...obj, kind }, clean);
  }

  /**
   * createForService creates the stream of the DockerComposeService of that name when there is
   * one, as Tilt does: same name, same resource, owned by the service so that it goes with it.
   */
  private async createForService(name: string, ctx: ReconcileContext): Promise<void> {
    const svc = this.deps.cache.get<DockerComposeService>(serviceKind, name);
    if (!svc || svc.metadata.deletionTimestamp || !svc.spec) return;
    if (svc.status?.disableStatus?.state === 'Disabled') return;
    const resource = svc.metadata.annotations?.[annotations.resource];
    const stream: DockerComposeLogStream = {
      apiVersion,
      kind,
      metadata: {
        name,
        ...(resource ? { annotations: { [annotations.resource]: resource } } : {}),
        ownerReferences: [{ apiVersion, kind: serviceKind, name, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: { service: svc.spec.service, project: svc.spec.project },
    };
    try {
      await this.deps.client.create(stream);
      ctx.log.info('DockerComposeLogStream created', { service: name });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}
