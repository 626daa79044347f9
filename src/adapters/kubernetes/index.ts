/**
 * Kubernetes clusters ferry develops against (not ferry's own API server, see src/client):
 * one kubeconfig resolution shared by every kind, and the cluster prober.
 */
export {
  KubeconfigClusters,
  kubeconfigPathFromEnv,
  kubeconfigResolver,
  type ClusterConnection,
  type ConnectionResolver,
  type KubeconfigClustersOptions,
} from './clusters.ts';
export {
  ClientNodeKubernetesProber,
  localRegistryHosting,
  parseLocalRegistryHosting,
  productOf,
  type KubernetesClusterInfo,
  type KubernetesProber,
} from './prober.ts';
export {
  ClientNodeObjects,
  clientSideApplyPatch,
  kubernetesErrorText,
  lastApplied,
  lastAppliedAnnotation,
  withLastApplied,
  type ApplyOptions,
  type KubeResource,
  type KubernetesObjects,
  type ObjectRef,
} from './objects.ts';
export { PodWatchers, OwnerFetcher, errorMessage as kubeErrorMessage, type NamespaceState, type Waker } from './pod-watchers.ts';
export { ClientNodePodLogs, type PodContainer, type PodInfo, type PodLogLine, type PodLogs } from './pod-logs.ts';
