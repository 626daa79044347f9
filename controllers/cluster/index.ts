/** The Cluster controller: is the Docker Engine or the Kubernetes cluster reachable, and what is it. */
export { ClusterReconciler, type ClusterReconcilerDeps } from './reconciler.ts';
export { clusterStatus, noConnectionError, retryDelayMs, type Probe } from './status.ts';
export { ensureDefaultClusters, defaultClusterNames } from './defaults.ts';
export { setupClusterController, type ClusterSetupDeps } from './setup.ts';
