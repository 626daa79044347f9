/**
 * How KubernetesDiscovery reaches a Cluster: a ConnectionResolver, given by the wiring (the one
 * kubeconfig resolution of src/adapters/kubernetes, shared with LiveUpdate and Cluster).
 */
import type { Cluster } from '../../src/apis/cluster.ts';
import type { ClusterConnection } from '../../src/adapters/kubernetes/index.ts';

/**
 * ConnectionResolver turns a Cluster object into a connection to its Kubernetes API. It throws
 * an Error whose message is fit for status when the cluster cannot be reached that way (no
 * kubeconfig, unknown context).
 */
export type ConnectionResolver = (cluster: Cluster) => ClusterConnection;
