/**
 * How KubernetesDiscovery reaches a Cluster: a ConnectionResolver, given by the wiring (the one
 * kubeconfig resolution of src/adapters/kubernetes, shared with LiveUpdate and Cluster).
 */
export type { ConnectionResolver } from '../../src/adapters/kubernetes/index.ts';
