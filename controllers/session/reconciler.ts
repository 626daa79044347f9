/**
 * SessionReconciler keeps each Session's status: `pid` and `startTime` of this run, a target for
 * every part of every resource, and whether the exit condition is met (see status.ts for the
 * mapping and the rules).
 *
 * A client such as `ferry ci` creates a Session with `exitCondition: ci` (its `ci.timeout` etc.
 * as Go durations, e.g. formatGoDuration from src/apis/go.ts) and watches it until
 * `status.done` is true: `status.error` empty means success, otherwise it says why the run
 * failed. `status.targets` changes as resources progress, for a live view. A Session's run
 * starts when this daemon first reconciles it, or when its spec changes (`status.startTime`);
 * that is what `ci.timeout` counts from, and a new run forgets the previous verdict.
 */
import path from 'node:path';
import type { Logger } from 'winston';
import {
  resourceName,
  toMicroTime,
  type Cluster,
  type Cmd,
  type CmdImage,
  type ConfigMap,
  type DockerComposeService,
  type ImageMap,
  type KubernetesApply,
  type KubernetesDiscovery,
  type LiveUpdate,
  type Session,
} from '../../src/apis/index.ts';
import {
  isAlreadyExists,
  updateStatusIfChanged,
  type Cache,
  type Client,
  type Clock,
  type ReconcileContext,
  type Reconciler,
  type Request,
  type Result,
} from '../../src/runtime/index.ts';
import { computeSessionStatus, disableConfigMapName, type SessionInputs } from './status.ts';

export const kind = 'Session';

/** The kinds a Session summarises; a change to any of them recomputes every Session. */
export const inputKinds = [
  'CmdImage',
  'LiveUpdate',
  'DockerComposeService',
  'KubernetesDiscovery',
  'KubernetesApply',
  'Cmd',
  'ImageMap',
  'ConfigMap',
  'Cluster',
] as const;

/**
 * disableConfigMaps looks up the disable ConfigMap of each resource the inputs name: only these
 * matter to a Session, and the other ConfigMaps may be many.
 */
function disableConfigMaps(cache: Cache, inputs: SessionInputs): ConfigMap[] {
  const resources = new Set<string>();
  for (const objs of [inputs.cmdImages, inputs.liveUpdates, inputs.dockerComposeServices, inputs.kubernetesDiscoveries, inputs.kubernetesApplies, inputs.cmds]) {
    for (const o of objs ?? []) resources.add(resourceName(o));
  }
  const out: ConfigMap[] = [];
  for (const r of resources) {
    const cm = cache.get<ConfigMap>('ConfigMap', disableConfigMapName(r));
    if (cm) out.push(cm);
  }
  return out;
}

/** defaultSessionName is the Session the daemon creates at start, as Tilt does. */
export const defaultSessionName = 'Tiltfile';

export interface SessionReconcilerDeps {
  client: Client;
  cache: Cache;
  clock: Clock;
  log: Logger;
  /** pid is this daemon's process id. Default process.pid. */
  pid?: number;
}

export class SessionReconciler implements Reconciler {
  private readonly deps: SessionReconcilerDeps;
  private readonly pid: number;
  private readonly lastError = new Map<string, string>();
  private readonly runs = new Map<string, { uid: string; generation: number; startTime: string }>();

  constructor(deps: SessionReconcilerDeps) {
    this.deps = deps;
    this.pid = deps.pid ?? process.pid;
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void> {
    const session = this.deps.cache.get<Session>(kind, req.name);
    if (!session || session.metadata.deletionTimestamp) {
      this.lastError.delete(req.name);
      this.runs.delete(req.name);
      return;
    }
    const cache = this.deps.cache;
    const inputs: SessionInputs = {
      cmdImages: cache.list<CmdImage>('CmdImage'),
      liveUpdates: cache.list<LiveUpdate>('LiveUpdate'),
      dockerComposeServices: cache.list<DockerComposeService>('DockerComposeService'),
      kubernetesDiscoveries: cache.list<KubernetesDiscovery>('KubernetesDiscovery'),
      kubernetesApplies: cache.list<KubernetesApply>('KubernetesApply'),
      cmds: cache.list<Cmd>('Cmd'),
      imageMaps: cache.list<ImageMap>('ImageMap'),
      clusters: cache.list<Cluster>('Cluster'),
    };
    inputs.configMaps = disableConfigMaps(cache, inputs);
    const now = this.deps.clock.now();
    const prev = session.status;
    const startTime = this.runStart(session, now);
    const { status, requeueAfterMs } = computeSessionStatus(session, inputs, { pid: this.pid, startTime }, now.getTime());

    if (status.done && !prev?.done) {
      ctx.log.info('Session done', { exitCondition: session.spec?.exitCondition, error: status.error ?? '' });
    } else if (status.error && this.lastError.get(req.name) !== status.error) {
      ctx.log.info('Session failed', { error: status.error });
    }
    this.lastError.set(req.name, status.error ?? '');

    await updateStatusIfChanged(this.deps.client, session, status);
    return requeueAfterMs !== undefined ? { requeueAfterMs: Math.max(0, Math.ceil(requeueAfterMs)) } : undefined;
  }

  /**
   * runStart is when the Session's run started. A run is this daemon's view of one spec of one
   * Session: the start stamped in status by this daemon (or by ensureDefaultSession) is kept;
   * a Session new to this daemon, or one whose spec changed (a new generation), starts a run now.
   */
  private runStart(session: Session, now: Date): string {
    const name = session.metadata.name!;
    const uid = session.metadata.uid ?? '';
    const generation = session.metadata.generation ?? 0;
    const known = this.runs.get(name);
    let startTime: string;
    if (known && known.uid === uid && known.generation === generation) startTime = known.startTime;
    else if (!known && session.status?.pid === this.pid && session.status.startTime) startTime = session.status.startTime;
    else startTime = toMicroTime(now);
    this.runs.set(name, { uid, generation, startTime });
    return startTime;
  }
}

/**
 * ensureDefaultSession creates the Session `Tiltfile` with `exitCondition: manual` when none
 * exists, and stamps the Session with this daemon's pid and start time when they are not
 * already its own. `tiltfilePath` defaults to `Tiltfile` in `cwd` (default process.cwd()).
 */
export async function ensureDefaultSession(
  client: Client,
  run: { pid: number; startTime: Date; cwd?: string; tiltfilePath?: string },
): Promise<Session> {
  let session = await client.get<Session>(kind, defaultSessionName);
  if (!session) {
    const obj: Session = {
      apiVersion: 'tilt.dev/v1alpha1',
      kind,
      metadata: { name: defaultSessionName },
      spec: { tiltfilePath: run.tiltfilePath ?? path.join(run.cwd ?? process.cwd(), 'Tiltfile'), exitCondition: 'manual' },
    };
    try {
      session = await client.create(obj);
    } catch (err) {
      if (!isAlreadyExists(err)) throw new Error('creating the default Session', { cause: err });
      session = await client.get<Session>(kind, defaultSessionName);
      if (!session) throw new Error('the default Session vanished while being created', { cause: err });
    }
  }
  if (session.status?.pid === run.pid && session.status.startTime) return session;
  const status = { pid: run.pid, startTime: toMicroTime(run.startTime), targets: session.status?.targets ?? [], done: false };
  return (await updateStatusIfChanged(client, session, status)) ?? session;
}
