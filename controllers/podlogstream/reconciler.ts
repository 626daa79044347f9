/**
 * PodLogStreamReconciler follows what a pod's containers print into the resource's logs
 * (`ferry logs`, source runtime), through the cluster's pod log API with timestamps. A
 * container restarted by the kubelet (a new container id) is marked with a line and followed
 * again; where each container's stream read up to is kept in an annotation (plan.ts), so that
 * a restarted daemon asks for what came after and prints no line twice. A pod that does not
 * exist is reported in status.error and looked for again with backoff. A connection that stops
 * delivering is reconnected from the last line read (stall.ts), as Tilt does.
 *
 * It also makes the stream of every pod a KubernetesDiscovery reports, as Tilt does (named
 * `<discovery>-<namespace>-<pod>`, in the discovery's resource, owned by it, with the fields of
 * the discovery's podLogStreamTemplateSpec; without one, every container and all its logs), and
 * deletes the stream of a pod the discovery no longer reports. Unlike Tilt, which leaves a
 * stream as it made it, the streams follow a change of the template: a user who edits the
 * template expects the pods already running to change with it.
 */
import type { Logger } from 'winston';
import type { KubernetesDiscovery } from '../../src/apis/kubernetesdiscovery.ts';
import type { ContainerLogStreamStatus, PodLogStream, PodLogStreamStatus } from '../../src/apis/podlogstream.ts';
import { annotations, apiVersion, resourceName } from '../../src/apis/meta.ts';
import type { PodContainer, PodInfo, PodLogs } from '../../src/adapters/kubernetes/index.ts';
import { AnnotationWriter, isAlreadyExists, isNotFound, updateStatusIfChanged, type Cache, type Client, type Clock, type ReconcileContext, type Reconciler, type Request, type Result, type Wake } from '../../src/runtime/index.ts';
import { errorText } from '../../src/util/errors.ts';
import { normalizeLogTime } from '../../src/util/log-time.ts';
import type { LogBuffer } from '../../src/util/log-buffer.ts';
import { discoveryStreamSpec, followsTemplate, linePrefix, positionAnnotation, readPositions, selectContainers, streamable, streamName, templateFields, type Position } from './plan.ts';
import { StallWatch } from './stall.ts';

export const kind = 'PodLogStream';
export const discoveryKind = 'KubernetesDiscovery';

/** pollMs is how often a stream with a container not yet (or no longer) streaming looks again. */
const pollMs = 2_000;
/** maxRetryMs caps the pause before looking for a missing pod again. */
const maxRetryMs = 30_000;

/** PodLogStreamReconcilerDeps are what the reconciler needs. */
export interface PodLogStreamReconcilerDeps {
  client: Client;
  /** cache must hold PodLogStreams and KubernetesDiscoveries (setup() arranges it). */
  cache: Cache;
  clock: Clock;
  log: Logger;
  /** podLogs reaches the named Cluster's pods; it throws an Error fit for status when it cannot. */
  podLogs: (cluster: string) => PodLogs;
  /** logs receives the lines under the stream's resource. */
  logs: LogBuffer;
  /** wake asks for a reconcile when a follow ends. */
  wake: Wake;
  /** persistMs is how long read positions wait before they are written. Default 1,000. */
  persistMs?: number;
}

interface Follow {
  container: string;
  abort: AbortController;
  done: Promise<void>;
}

interface Entry {
  specKey: string;
  /** positions are what has been read, by container (kept in the annotation by the positions writer). */
  positions: Record<string, Position>;
  /** follows are the running follows, by container name. */
  follows: Map<string, Follow>;
  /** statuses are the per-container statuses, by container name. */
  statuses: Map<string, ContainerLogStreamStatus>;
  /** ended are the container ids whose output was read to its end, with when (ms). */
  ended: Map<string, number>;
  /** failed are the container ids whose stream broke, with when (ms): followed again after pollMs. */
  failed: Map<string, number>;
  missingSince: number;
}

export class PodLogStreamReconciler implements Reconciler {
  private readonly entries = new Map<string, Entry>();
  private stopped = false;

  private readonly positions: AnnotationWriter;

  constructor(private readonly deps: PodLogStreamReconcilerDeps) {
    this.positions = new AnnotationWriter({ ...deps, kind, key: positionAnnotation, delayMs: deps.persistMs ?? 1_000, what: 'where the log stream read up to' });
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void> {
    const obj = this.deps.cache.get<PodLogStream>(kind, req.name);
    if (!obj) {
      await this.forget(req.name, false);
      await this.createForDiscovery(req.name, ctx);
      return;
    }
    if (obj.metadata.deletionTimestamp || !obj.spec) {
      await this.forget(req.name, false);
      return;
    }
    if (this.stopped) return;
    const kd = this.ownerDiscovery(obj);
    if (kd && (await this.deleteIfPodGone(obj, kd, ctx))) return;
    if (kd && !followsTemplate(obj.spec, templateFields(kd))) {
      // The discovery's template changed: its streams follow it (the update wakes this again).
      const t = templateFields(kd);
      try {
        await this.deps.client.patch(kind, req.name, { spec: { sinceTime: t.sinceTime ?? null, onlyContainers: t.onlyContainers ?? null, ignoreContainers: t.ignoreContainers ?? null } });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      ctx.log.info('PodLogStream follows its discovery\'s template', { discovery: kd.metadata.name });
      return;
    }

    const specKey = JSON.stringify(obj.spec);
    let e = this.entries.get(req.name);
    if (e && e.specKey !== specKey) {
      await this.forget(req.name, true);
      e = undefined;
    }
    if (!e) {
      const fresh = await this.deps.client.get<PodLogStream>(kind, req.name);
      const entry: Entry = {
        specKey,
        positions: fresh ? readPositions(fresh) : readPositions(obj),
        follows: new Map(),
        statuses: new Map(),
        ended: new Map(),
        failed: new Map(),
        missingSince: 0,
      };
      this.positions.track(req.name, () => JSON.stringify(entry.positions), (fresh ?? obj).metadata.annotations?.[positionAnnotation] ?? '{}');
      this.entries.set(req.name, (e = entry));
    }

    const namespace = obj.spec.namespace || 'default';
    const podName = obj.spec.pod ?? '';
    let pods: PodLogs;
    let pod: PodInfo | undefined;
    try {
      pods = this.deps.podLogs(obj.spec.cluster || 'default');
      pod = await pods.pod(namespace, podName);
    } catch (err) {
      await this.writeStatus(obj, e, `reading pod: ${errorText(err)}`);
      return { requeueAfterMs: this.retryMs(e) };
    }
    if (!pod) {
      await this.stopFollows(e);
      e.statuses.clear();
      await this.writeStatus(obj, e, `pod not found: ${namespace}/${podName}`);
      return { requeueAfterMs: this.retryMs(e) };
    }
    e.missingSince = 0;

    const containers = selectContainers(obj.spec, pod.containers);
    const names = new Set(containers.map((c) => c.name));
    for (const name of [...e.statuses.keys()]) if (!names.has(name)) e.statuses.delete(name);
    for (const [name, f] of e.follows) if (!names.has(name)) f.abort.abort();

    let waiting = false;
    for (const c of containers) {
      const status = e.statuses.get(c.name) ?? { name: c.name };
      e.statuses.set(c.name, status);
      if (!streamable(c)) {
        waiting = true;
        continue;
      }
      const running = e.follows.get(c.name);
      if (running?.container === c.id) continue;
      if (running) running.abort.abort();
      const failedAt = e.failed.get(c.id);
      if (failedAt !== undefined && this.deps.clock.now().getTime() - failedAt < pollMs) {
        waiting = true;
        continue;
      }
      const endedAt = e.ended.get(c.id);
      if (endedAt !== undefined) {
        if (c.state === 'terminated') {
          status.terminated = true;
          status.active = false;
          delete status.error;
          continue;
        }
        // The stream ended while the pod still says running: the pod's status may lag, or the
        // API closed the stream; follow again (without repeating lines) if it still runs later.
        if (this.deps.clock.now().getTime() - endedAt < pollMs) {
          waiting = true;
          continue;
        }
        e.ended.delete(c.id);
      }
      this.startFollow(req.name, obj, e, pods, namespace, podName, c, linePrefix(c, containers));
      e.failed.delete(c.id);
      status.active = true;
      status.terminated = false;
      delete status.error;
    }
    await this.writeStatus(obj, e, undefined);
    // A container waiting to start, or one that stopped, is looked at again: the kubelet may restart it.
    if (waiting && !pod.deleting) return { requeueAfterMs: pollMs };
  }

  /** stop ends every follow and writes every read position, as the daemon stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.entries.keys()].map((name) => this.forget(name, true)));
  }

  private retryMs(e: Entry): number {
    const now = this.deps.clock.now().getTime();
    if (!e.missingSince) e.missingSince = now;
    return Math.min(maxRetryMs, Math.max(1_000, (now - e.missingSince) / 2));
  }

  private startFollow(name: string, obj: PodLogStream, e: Entry, pods: PodLogs, namespace: string, pod: string, c: PodContainer, prefix: string): void {
    const resource = resourceName(obj);
    const source = `${kind}/${name}`;
    const prev = e.positions[c.name];
    if (prev && prev.container !== c.id) this.deps.logs.append(resource, { source, stream: 'ferry', line: `${prefix}[container restarted]` });
    const position: Position = { container: c.id, ...(prev?.time ? { time: prev.time } : {}) };
    e.positions[c.name] = position;
    this.positions.changed(name);
    const sinceTime = obj.spec?.sinceTime ? normalizeLogTime(obj.spec.sinceTime) : undefined;
    const abort = new AbortController();
    const append = (text: string) => this.deps.logs.append(resource, { source, stream: 'stdout', line: prefix + text });
    const done = this.follow(name, pods, namespace, pod, c.name, { position, sinceTime, signal: abort.signal }, append)
      .then(
        () => {
          if (!abort.signal.aborted) e.ended.set(c.id, this.deps.clock.now().getTime());
        },
        (err: unknown) => {
          e.failed.set(c.id, this.deps.clock.now().getTime());
          const status = e.statuses.get(c.name);
          if (status) {
            status.active = false;
            status.error = errorText(err);
          }
        },
      )
      .finally(() => {
        if (e.follows.get(c.name)?.abort === abort) e.follows.delete(c.name);
        if (!abort.signal.aborted) this.deps.wake.enqueue(name);
      });
    e.follows.set(c.name, { container: c.id, abort, done });
  }

  /**
   * follow reads what a container prints into append, from after position (else from sinceTime),
   * advancing position, until the container's output ends or signal aborts. A connection that
   * stalls (stall.ts) is replaced by one from the last line read; the API starts at that line's
   * whole second, so lines up to it are dropped again here, and none is appended twice.
   */
  private async follow(
    name: string,
    pods: PodLogs,
    namespace: string,
    pod: string,
    container: string,
    from: { position: Position; sinceTime?: string; signal: AbortSignal },
    append: (text: string) => void,
  ): Promise<void> {
    const { position, sinceTime, signal } = from;
    while (!signal.aborted) {
      const connection = new AbortController();
      const cancel = () => connection.abort();
      signal.addEventListener('abort', cancel, { once: true });
      let stalled = false;
      const watch = new StallWatch(this.deps.clock, () => {
        stalled = true;
        connection.abort();
      });
      try {
        await pods.follow(namespace, pod, container, { since: position.time ?? sinceTime, signal: connection.signal }, (l) => {
          if (connection.signal.aborted) return;
          if (l.time && position.time && l.time <= position.time) return;
          if (l.time && sinceTime && l.time < sinceTime) return;
          append(l.text);
          if (l.time) {
            position.time = l.time;
            this.positions.changed(name);
            // Only a line with a time counts: a reconnect resumes from that time.
            watch.read();
          }
        });
      } catch (err) {
        if (!stalled) throw err;
      } finally {
        watch.stop();
        signal.removeEventListener('abort', cancel);
      }
      if (!stalled) return;
      this.deps.log.debug('Reconnecting a stalled pod log stream', { stream: name, container, since: position.time });
    }
  }

  private async stopFollows(e: Entry): Promise<void> {
    const follows = [...e.follows.values()];
    for (const f of follows) f.abort.abort();
    await Promise.all(follows.map((f) => f.done));
    e.follows.clear();
  }

  /** forget stops following name; with persist, its read positions are written first. */
  private async forget(name: string, persist: boolean): Promise<void> {
    const e = this.entries.get(name);
    if (!e) return;
    this.entries.delete(name);
    await this.stopFollows(e);
    await this.positions.forget(name, persist);
  }



  private async writeStatus(obj: PodLogStream, e: Entry, error: string | undefined): Promise<void> {
    const status: PodLogStreamStatus = {};
    const containers = [...e.statuses.values()].map((s) => {
      const out: ContainerLogStreamStatus = { name: s.name };
      if (s.active) out.active = true;
      if (s.terminated) out.terminated = true;
      if (s.error) out.error = s.error;
      return out;
    });
    if (containers.length) status.containerStatuses = containers;
    if (error) status.error = error;
    await updateStatusIfChanged(this.deps.client, { ...obj, kind }, status);
  }

  /** ownerDiscovery is the KubernetesDiscovery that made the stream, if one did. */
  private ownerDiscovery(obj: PodLogStream): KubernetesDiscovery | undefined {
    const ref = obj.metadata.ownerReferences?.find((r) => r.kind === discoveryKind && r.controller);
    if (!ref) return undefined;
    const kd = this.deps.cache.get<KubernetesDiscovery>(discoveryKind, ref.name);
    return kd?.metadata.uid === ref.uid ? kd : undefined;
  }

  /** deleteIfPodGone deletes a discovery's stream whose pod the discovery no longer reports, as Tilt does. */
  private async deleteIfPodGone(obj: PodLogStream, kd: KubernetesDiscovery, ctx: ReconcileContext): Promise<boolean> {
    if (!kd.status?.pods) return false;
    const namespace = obj.spec?.namespace || 'default';
    if (kd.status.pods.some((p) => p.name === obj.spec?.pod && p.namespace === namespace)) return false;
    await this.forget(obj.metadata.name!, false);
    try {
      await this.deps.client.delete(kind, obj.metadata.name!);
      ctx.log.info('PodLogStream deleted: its pod is gone', { pod: obj.spec?.pod });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return true;
  }

  /** createForDiscovery makes the stream called name when a KubernetesDiscovery reports the pod it is named for. */
  private async createForDiscovery(name: string, ctx: ReconcileContext): Promise<void> {
    for (const kd of this.deps.cache.list<KubernetesDiscovery>(discoveryKind)) {
      if (kd.metadata.deletionTimestamp) continue;
      const pod = kd.status?.pods?.find((p) => streamName(kd.metadata.name!, p.namespace, p.name) === name);
      if (!pod) continue;
      const resource = kd.metadata.annotations?.[annotations.resource];
      const stream: PodLogStream = {
        apiVersion,
        kind,
        metadata: {
          name,
          ...(resource ? { annotations: { [annotations.resource]: resource } } : {}),
          ownerReferences: [{ apiVersion, kind: discoveryKind, name: kd.metadata.name!, uid: kd.metadata.uid!, controller: true, blockOwnerDeletion: true }],
        },
        spec: discoveryStreamSpec(kd, pod),
      };
      try {
        await this.deps.client.create(stream);
        ctx.log.info('PodLogStream created', { discovery: kd.metadata.name, pod: pod.name });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      return;
    }
  }
}
