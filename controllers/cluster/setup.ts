import type { Controller } from '../../src/runtime/controller.ts';
import type { Manager } from '../../src/runtime/manager.ts';
import type { DockerPinger } from '../../src/adapters/docker/index.ts';
import type { KubernetesProber } from '../../src/adapters/kubernetes/index.ts';
import { ClusterReconciler, type ClusterReconcilerDeps } from './reconciler.ts';

/** ClusterSetupDeps are what `setupClusterController` needs beyond the manager. */
export type ClusterSetupDeps = {
  /** docker pings Docker Engines (the wiring passes the shared Docker adapter's pinger). */
  docker: DockerPinger;
  /** kubernetes probes clusters through kubeconfig contexts (the wiring passes one over the shared kubeconfig resolver). */
  kubernetes: KubernetesProber;
} & Pick<ClusterReconcilerDeps, 'healthCheckIntervalMs' | 'initialRetryMs' | 'maxRetryMs'>;

/** setupClusterController registers the Cluster controller with mgr, reconciling every Cluster. */
export function setupClusterController(mgr: Manager, deps: ClusterSetupDeps): Controller {
  const reconciler = new ClusterReconciler({
    client: mgr.client,
    clock: mgr.clock,
    docker: deps.docker,
    kubernetes: deps.kubernetes,
    healthCheckIntervalMs: deps.healthCheckIntervalMs,
    initialRetryMs: deps.initialRetryMs,
    maxRetryMs: deps.maxRetryMs,
  });
  return mgr.controller('cluster').for('Cluster').complete(reconciler);
}
