import type { Logger } from 'winston';
import type { Cluster } from '../../src/apis/cluster.ts';
import type { KubernetesDiscovery } from '../../src/apis/kubernetesdiscovery.ts';
import type { Controller, Manager } from '../../src/runtime/index.ts';
import type { ConnectionResolver } from './connection.ts';
import { PodWatchers } from '../../src/adapters/kubernetes/index.ts';
import { clusterNameOf, KubernetesDiscoveryReconciler, kind } from './reconciler.ts';
import { Wake } from '../../src/runtime/index.ts';

export { KubernetesDiscoveryReconciler, type KubernetesDiscoveryReconcilerDeps, clusterNameOf, defaultClusterName } from './reconciler.ts';
export type { ConnectionResolver } from './connection.ts';
export { PodWatchers, type ClusterConnection } from '../../src/adapters/kubernetes/index.ts';

/** KubernetesDiscoverySetupDeps are what `setup` needs beyond the manager; every field but resolve has a default. */
export interface KubernetesDiscoverySetupDeps {
  /**
   * resolve turns a Cluster into a connection: the wiring passes the shared kubeconfig
   * resolution (KubeconfigClusters.resolver() of src/adapters/kubernetes).
   */
  resolve: ConnectionResolver;
  /** log is the parent logger. Default: the manager's. */
  log?: Logger;
  /** watchRetryMs is the first pause before a failed pod watch restarts, doubling to 30 s. Default 500. */
  watchRetryMs?: number;
}

/**
 * setup registers the KubernetesDiscovery controller with the manager: it reconciles on changes
 * to the object, to its Cluster, and on every pod change in the namespaces it watches. The pod
 * watches stop with the manager.
 */
export function setup(mgr: Manager, deps: KubernetesDiscoverySetupDeps): { controller: Controller; reconciler: KubernetesDiscoveryReconciler } {
  const log = (deps.log ?? mgr.log).child({ controller: 'kubernetesdiscovery' });
  const wake = new Wake();
  const watchers = new PodWatchers({ clock: mgr.clock, log, retryMs: deps.watchRetryMs, wake });
  const reconciler = new KubernetesDiscoveryReconciler({
    client: mgr.client,
    cache: mgr.cache,
    clock: mgr.clock,
    log,
    watchers,
    resolve: deps.resolve,
  });
  const byCluster = (c: Cluster) =>
    mgr.cache.list<KubernetesDiscovery>(kind).filter((kd) => clusterNameOf(kd) === c.metadata.name).map((kd) => kd.metadata.name!);
  const controller = mgr.controller('kubernetesdiscovery', { concurrency: 2 }).for(kind).watches<Cluster>('Cluster', byCluster).wakes(wake).complete(reconciler);
  mgr.add({ start() {}, stop: () => watchers.stop() });
  return { controller, reconciler };
}
