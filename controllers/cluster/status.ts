import type { ClusterSpec, ClusterStatus } from '../../src/apis/cluster.ts';
import { toMicroTime } from '../../src/apis/meta.ts';
import { jsonEqual } from '../../src/runtime/status.ts';
import type { DockerEngineInfo } from '../../src/adapters/docker/index.ts';
import type { KubernetesClusterInfo } from '../../src/adapters/kubernetes/index.ts';

/** Probe is the outcome of trying to reach a cluster. */
export type Probe =
  | { ok: true; docker: DockerEngineInfo }
  | { ok: true; kubernetes: KubernetesClusterInfo }
  | { ok: false; error: string; connection?: ClusterStatus['connection'] };

/** noConnectionError is the status error of a Cluster whose spec names no connection. */
export const noConnectionError = 'cluster has no connection: set spec.connection.docker or spec.connection.kubernetes';

/**
 * clusterStatus computes a Cluster's status from its spec and the latest probe:
 * - reachable Docker: host, version, arch; registry = spec.defaultRegistry;
 * - reachable Kubernetes: context, cluster, namespace, product, version, arch; registry = the
 *   cluster's KEP-1755 registry, else spec.defaultRegistry;
 * - unreachable: only `error` (and the connection tried).
 * connectedAt keeps its previous value while the same connection stays up, so a healthy
 * cluster's status does not change from one check to the next.
 */
export function clusterStatus(spec: ClusterSpec, probe: Probe, prev: ClusterStatus | undefined, now: Date): ClusterStatus {
  if (!probe.ok) {
    const status: ClusterStatus = { error: probe.error };
    if (probe.connection) status.connection = probe.connection;
    return status;
  }
  let status: ClusterStatus;
  if ('docker' in probe) {
    status = {
      arch: probe.docker.arch,
      version: probe.docker.version,
      connection: { docker: { host: probe.docker.host } },
    };
    if (spec.defaultRegistry) status.registry = spec.defaultRegistry;
  } else {
    const k = probe.kubernetes;
    status = {
      arch: k.arch,
      version: k.version,
      connection: {
        kubernetes: { product: k.product, context: k.context, namespace: k.namespace, cluster: k.cluster, configPath: k.configPath },
      },
    };
    const registry = k.registry ?? spec.defaultRegistry;
    if (registry) status.registry = registry;
  }
  const stillConnected = prev && !prev.error && prev.connectedAt && jsonEqual(prev.connection, status.connection);
  status.connectedAt = stillConnected ? prev.connectedAt : toMicroTime(now);
  return status;
}

/** retryDelayMs is the wait before probing an unreachable cluster again after `failures` failures. */
export function retryDelayMs(failures: number, initialMs: number, maxMs: number): number {
  return Math.min(initialMs * 2 ** Math.max(0, failures - 1), maxMs);
}
