/** The LiveUpdate controller: copies changed files into running containers. */
import { Histogram } from 'prom-client';
import type { Logger } from 'winston';
import { resourceName, triggerQueueName, type ConfigMap, type KubeObject, type LiveUpdate } from '../../src/apis/index.ts';
import type { Clock, Controller, Manager } from '../../src/runtime/index.ts';
import type { FileBatches } from '../../src/tilt/index.ts';
import type { LogBuffer } from '../../src/util/log-buffer.ts';
import { LiveUpdateReconciler, type Updaters } from './reconciler.ts';
import { sourcesOf } from './monitor.ts';

export { LiveUpdateReconciler, type LiveUpdateReconcilerDeps, type SyncTiming, type SyncUpdater, type Updaters } from './reconciler.ts';

/** syncLatencyMetric is the histogram of sync latency, by LiveUpdate (labels namespace, name). */
export const syncLatencyMetric = 'ferry_liveupdate_sync_latency_seconds';

/** LiveUpdateSetupDeps are what `ferry serve` gives the LiveUpdate controller; every field but updaters has a default. */
export interface LiveUpdateSetupDeps {
  /** log is the parent logger. Default: the manager's. */
  log?: Logger;
  /** clock for timeouts. Default: the manager's. */
  clock?: Clock;
  /** logs receives each update's lines by resource, for `ferry logs`. */
  logs?: LogBuffer;
  /**
   * updaters reach the containers: `docker` for Docker Compose services, `kubernetes` per Cluster
   * name for pods. The wiring builds them from the shared Docker connection and kubeconfig
   * resolution; tests pass fakes or their own.
   */
  updaters: Updaters;
  /** execTimeoutMs bounds each exec without its own timeout. Default 60,000. */
  execTimeoutMs?: number;
  /** concurrency is how many LiveUpdates sync at once. Default 4. */
  concurrency?: number;
  /** cwd is where file lists in messages are shown from. Default process.cwd(). */
  cwd?: string;
  /** batches holds the exact paths of FileWatch batches shortened in status, from this daemon's FileWatch controller. */
  batches?: FileBatches;
}

const depsIndex = 'liveupdate-deps';

/** dependencyKeys lists `Kind/name` of every object a LiveUpdate reads (for the cache index). */
export function dependencyKeys(lu: LiveUpdate): string[] {
  const spec = lu.spec;
  if (!spec) return [];
  const out = new Set<string>();
  for (const s of sourcesOf(spec)) {
    if (s.fileWatch) out.add(`FileWatch/${s.fileWatch}`);
    if (s.imageMap) out.add(`ImageMap/${s.imageMap}`);
  }
  const k8s = spec.selector?.kubernetes;
  if (k8s?.discoveryName) out.add(`KubernetesDiscovery/${k8s.discoveryName}`);
  if (k8s?.applyName) out.add(`KubernetesApply/${k8s.applyName}`);
  if (k8s?.imageMapName) out.add(`ImageMap/${k8s.imageMapName}`);
  if (spec.selector?.dockerCompose?.service) out.add(`DockerComposeService/${spec.selector.dockerCompose.service}`);
  return [...out];
}

/**
 * setup registers the LiveUpdate controller with the manager: it reconciles LiveUpdates and
 * wakes on their FileWatches, ImageMaps, KubernetesDiscoveries, KubernetesApplies (applyName),
 * DockerComposeServices and the trigger-queue ConfigMap. Each sync's latency (from the newest
 * file change it carries to the container's acknowledgement) goes to the manager's metrics
 * registry as `ferry_liveupdate_sync_latency_seconds{namespace,name}`.
 */
export function setup(mgr: Manager, deps: LiveUpdateSetupDeps): { controller: Controller; reconciler: LiveUpdateReconciler } {
  const cache = mgr.cache;
  const clock = deps.clock ?? mgr.clock;
  const log = deps.log ?? mgr.log;
  cache.addIndex<LiveUpdate>('LiveUpdate', depsIndex, dependencyKeys);
  const referrers = (kind: string) => (obj: KubeObject) =>
    cache.byIndex<LiveUpdate>('LiveUpdate', depsIndex, `${kind}/${obj.metadata.name}`).map((lu) => lu.metadata.name!);
  const existing = mgr.metricsRegistry.getSingleMetric(syncLatencyMetric) as Histogram<'namespace' | 'name'> | undefined;
  const syncLatency =
    existing ??
    new Histogram({
      name: syncLatencyMetric,
      help: 'Latency of live update syncs, from the last file change a sync carries (its FileEvent time) to the container acknowledging it',
      labelNames: ['namespace', 'name'],
      buckets: [0.005, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [mgr.metricsRegistry],
    });
  const reconciler = new LiveUpdateReconciler({
    client: mgr.client,
    reader: cache,
    clock,
    log: log.child({ controller: 'liveupdate' }),
    updaters: deps.updaters,
    execTimeoutMs: deps.execTimeoutMs,
    cwd: deps.cwd,
    batches: deps.batches,
    onLog: deps.logs ? (resource, line) => deps.logs!.append(resource, { source: 'LiveUpdate', line }) : undefined,
    onSynced: (t) => syncLatency.observe({ namespace: t.namespace, name: t.name }, t.latencyMs / 1000),
  });
  const controller = mgr
    .controller('liveupdate', { concurrency: deps.concurrency ?? 4 })
    .for('LiveUpdate')
    .watches('FileWatch', referrers('FileWatch'))
    .watches('ImageMap', referrers('ImageMap'))
    .watches('KubernetesDiscovery', referrers('KubernetesDiscovery'))
    .watches('KubernetesApply', referrers('KubernetesApply'))
    .watches('DockerComposeService', referrers('DockerComposeService'))
    .watches<ConfigMap>('ConfigMap', (cm) => {
      if (cm.metadata.name !== triggerQueueName) return [];
      const queued = new Set(Object.entries(cm.data ?? {}).filter(([k]) => k.endsWith('-name')).map(([, v]) => v));
      return cache
        .list<LiveUpdate>('LiveUpdate')
        .filter((lu) => queued.has(resourceName(lu)))
        .map((lu) => lu.metadata.name!);
    })
    .complete(reconciler);
  return { controller, reconciler };
}
