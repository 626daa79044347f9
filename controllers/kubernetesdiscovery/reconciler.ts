import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { Cluster } from '../../src/apis/cluster.ts';
import type { KubernetesDiscovery, KubernetesDiscoveryStatus, Pod } from '../../src/apis/kubernetesdiscovery.ts';
import { apiVersion, toMicroTime } from '../../src/apis/meta.ts';
import { updateStatusIfChanged, type Cache, type Client, type Clock, type ReconcileContext, type Reconciler, type Request, type Result } from '../../src/runtime/index.ts';
import type { ConnectionResolver } from './connection.ts';
import type { ClusterConnection, OwnerFetcher, PodWatchers } from '../../src/adapters/kubernetes/index.ts';
import { labelSelectorMatches, podToStatus, restartCount, sortPods } from './status.ts';

export const kind = 'KubernetesDiscovery';

/** defaultClusterName is the Cluster a KubernetesDiscovery watches when its spec names none. */
export const defaultClusterName = 'default';

/** clusterNameOf is the Cluster a KubernetesDiscovery watches. */
export function clusterNameOf(kd: KubernetesDiscovery): string {
  return kd.spec?.cluster || defaultClusterName;
}

/** KubernetesDiscoveryReconcilerDeps are what the reconciler needs. */
export interface KubernetesDiscoveryReconcilerDeps {
  client: Client;
  /** cache must hold KubernetesDiscovery and Cluster (setup() arranges it). */
  cache: Cache;
  clock: Clock;
  log: Logger;
  watchers: PodWatchers;
  resolve: ConnectionResolver;
}

interface DiscoveryState {
  monitorStartTime?: string;
  connectionKey?: string;
  /** baselines: restart counts of pods when first seen, by pod uid. */
  baselines: Map<string, number>;
}

/**
 * KubernetesDiscoveryReconciler reports the pods of the watched objects: every pod in a watched
 * namespace that a watched uid owns (directly or through a ReplicaSet, Deployment, ...) or that
 * an extra selector matches, in the cluster the spec names. Pod watches are shared informers
 * (PodWatchers) that wake the reconciler on every change.
 */
export class KubernetesDiscoveryReconciler implements Reconciler {
  private readonly deps: KubernetesDiscoveryReconcilerDeps;
  private readonly states = new Map<string, DiscoveryState>();

  constructor(deps: KubernetesDiscoveryReconcilerDeps) {
    this.deps = deps;
  }

  async reconcile(req: Request, _ctx: ReconcileContext): Promise<Result | void> {
    const { cache, watchers, clock } = this.deps;
    const cached = cache.get<KubernetesDiscovery>(kind, req.name);
    if (!cached || cached.metadata.deletionTimestamp) {
      watchers.release(req.name);
      this.states.delete(req.name);
      return;
    }
    const kd: KubernetesDiscovery = { ...cached, apiVersion, kind };
    const prev = kd.status ?? {};
    let state = this.states.get(req.name);
    if (!state) {
      state = { baselines: new Map((prev.pods ?? []).filter((p) => p.uid).map((p) => [p.uid!, p.baselineRestartCount ?? 0])) };
      this.states.set(req.name, state);
    }

    const clusterName = clusterNameOf(kd);
    const cluster = cache.get<Cluster>('Cluster', clusterName);
    if (!cluster) {
      watchers.release(req.name);
      state.connectionKey = undefined;
      await this.write(kd, { waiting: { reason: `Cluster ${JSON.stringify(clusterName)} not found` }, pods: prev.pods, monitorStartTime: prev.monitorStartTime });
      return;
    }
    if (cluster.status?.error) {
      watchers.release(req.name);
      state.connectionKey = undefined;
      await this.write(kd, { monitorError: `cluster ${JSON.stringify(clusterName)}: ${cluster.status.error}`, pods: prev.pods, monitorStartTime: prev.monitorStartTime });
      return;
    }
    let connection: ClusterConnection;
    try {
      connection = this.deps.resolve(cluster);
    } catch (err) {
      watchers.release(req.name);
      state.connectionKey = undefined;
      await this.write(kd, { monitorError: `cluster ${JSON.stringify(clusterName)}: ${(err as Error).message}`, pods: prev.pods, monitorStartTime: prev.monitorStartTime });
      return;
    }

    const watches = kd.spec?.watches ?? [];
    const namespaces = [...new Set(watches.map((w) => w.namespace))].sort();
    if (state.connectionKey !== connection.key || !state.monitorStartTime) {
      // A new monitor: new connection, or first start.
      state.monitorStartTime = toMicroTime(clock.now());
      state.connectionKey = connection.key;
    }
    watchers.subscribe(req.name, connection, namespaces);

    const errors: string[] = [];
    let synced = true;
    const candidates: V1Pod[] = [];
    for (const ns of namespaces) {
      const st = watchers.state(connection, ns);
      if (!st) continue;
      if (st.error) errors.push(`watching pods in namespace ${JSON.stringify(ns)}: ${st.error}`);
      if (!st.synced && !st.error) synced = false;
      candidates.push(...st.pods);
    }

    const uids = new Set(watches.map((w) => w.uid).filter((u): u is string => !!u));
    const selectors = kd.spec?.extraSelectors ?? [];
    const owners = this.deps.watchers.ownerFetcher(connection);
    const pods: Pod[] = [];
    const seen = new Set<string>();
    for (const pod of candidates) {
      const match = await matches(pod, uids, selectors, owners);
      if (!match) continue;
      const uid = pod.metadata?.uid ?? '';
      seen.add(uid);
      let baseline = state.baselines.get(uid);
      if (baseline === undefined) {
        baseline = restartCount(pod);
        state.baselines.set(uid, baseline);
      }
      const status = podToStatus(pod, baseline);
      if (match.ancestorUID) status.ancestorUID = match.ancestorUID;
      pods.push(status);
    }
    for (const uid of [...state.baselines.keys()]) if (!seen.has(uid)) state.baselines.delete(uid);

    const status: KubernetesDiscoveryStatus = { monitorStartTime: state.monitorStartTime, pods: sortPods(pods) };
    if (errors.length > 0) status.monitorError = errors.join('; ');
    else if (synced) status.running = { startTime: state.monitorStartTime };
    else {
      status.waiting = { reason: 'Connecting' };
      status.pods = prev.pods ?? [];
    }
    await this.write(kd, status);
  }

  /** watchedNamespaces lists the namespaces whose pods are watched now, for every discovery. */
  watchedNamespaces(): string[] {
    return this.deps.watchers.namespaces();
  }

  private async write(kd: KubernetesDiscovery, status: KubernetesDiscoveryStatus): Promise<void> {
    const clean = Object.fromEntries(Object.entries(status).filter(([, v]) => v !== undefined)) as KubernetesDiscoveryStatus;
    await updateStatusIfChanged(this.deps.client, kd, clean);
  }
}

/**
 * matches says whether the pod is selected: it or one of its ancestors has a watched uid (that
 * uid is its ancestorUID), or an extra selector matches its labels (no ancestorUID).
 */
async function matches(
  pod: V1Pod,
  uids: Set<string>,
  selectors: NonNullable<KubernetesDiscovery['spec']>['extraSelectors'],
  owners: OwnerFetcher,
): Promise<{ ancestorUID?: string } | undefined> {
  const md = pod.metadata ?? {};
  if (uids.size > 0) {
    if (md.uid && uids.has(md.uid)) return { ancestorUID: md.uid };
    const refs = md.ownerReferences ?? [];
    const direct = refs.find((r) => uids.has(r.uid));
    if (direct) return { ancestorUID: direct.uid };
    const ancestors = await owners.ancestorUids(md.namespace ?? '', refs);
    for (const u of ancestors) if (uids.has(u)) return { ancestorUID: u };
  }
  if ((selectors ?? []).some((s) => labelSelectorMatches(s, md.labels))) return {};
  return undefined;
}
