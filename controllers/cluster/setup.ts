import type { Controller } from '../../src/runtime/controller.ts';
import type { Manager } from '../../src/runtime/manager.ts';
import { DockerodePinger, type DockerPinger } from './docker.ts';
import { ClientNodeKubernetesProber, type KubernetesProber } from './kubernetes.ts';
import { ClusterReconciler, type ClusterReconcilerDeps } from './reconciler.ts';

/**
 * setupClusterController registers the Cluster controller with mgr. The Docker Engine and the
 * kubeconfig (default: KUBECONFIG or ~/.kube/config, read at each probe) can be replaced.
 */
export function setupClusterController(
  mgr: Manager,
  opts: {
    docker?: DockerPinger;
    kubernetes?: KubernetesProber;
    kubeconfigPath?: string;
  } & Pick<ClusterReconcilerDeps, 'healthCheckIntervalMs' | 'initialRetryMs' | 'maxRetryMs'> = {},
): Controller {
  const reconciler = new ClusterReconciler({
    client: mgr.client,
    clock: mgr.clock,
    docker: opts.docker ?? new DockerodePinger(),
    kubernetes: opts.kubernetes ?? new ClientNodeKubernetesProber({ kubeconfigPath: opts.kubeconfigPath }),
    healthCheckIntervalMs: opts.healthCheckIntervalMs,
    initialRetryMs: opts.initialRetryMs,
    maxRetryMs: opts.maxRetryMs,
  });
  return mgr.controller('cluster').for('Cluster').complete(reconciler);
}
