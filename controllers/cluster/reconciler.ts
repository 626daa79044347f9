import type { Cluster, ClusterSpec } from '../../src/apis/cluster.ts';
import type { Client } from '../../src/client/client.ts';
import type { Clock } from '../../src/util/clock.ts';
import type { ReconcileContext, Reconciler, Request, Result } from '../../src/runtime/reconciler.ts';
import { updateStatusIfChanged } from '../../src/runtime/status.ts';
import { defaultDockerHost, type DockerPinger } from '../../src/adapters/docker/index.ts';
import type { KubernetesProber } from '../../src/adapters/kubernetes/index.ts';
import { clusterStatus, noConnectionError, retryDelayMs, type Probe } from './status.ts';
import { errorText } from '../../src/util/errors.ts';

/** ClusterReconcilerDeps are what ClusterReconciler is built from. */
export interface ClusterReconcilerDeps {
  client: Client;
  clock: Clock;
  docker: DockerPinger;
  kubernetes: KubernetesProber;
  /** healthCheckIntervalMs is how often a reachable cluster is checked again. Default 30,000. */
  healthCheckIntervalMs?: number;
  /** initialRetryMs is the first wait before re-probing an unreachable cluster; it doubles. Default 1,000. */
  initialRetryMs?: number;
  /** maxRetryMs caps that wait. Default 30,000. */
  maxRetryMs?: number;
}

/**
 * ClusterReconciler checks that each Cluster can be reached (a Docker Engine, or a Kubernetes
 * cluster through a kubeconfig context) and records what it is in status: version, arch,
 * connection, registry, and `error` while unreachable. An unreachable cluster is probed again
 * with a doubling delay until it answers; a reachable one every healthCheckIntervalMs.
 */
export class ClusterReconciler implements Reconciler {
  private readonly deps: ClusterReconcilerDeps;
  private readonly failures = new Map<string, number>();

  constructor(deps: ClusterReconcilerDeps) {
    this.deps = deps;
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void> {
    const cluster = await this.deps.client.get<Cluster>('Cluster', req.name);
    if (!cluster || cluster.metadata.deletionTimestamp) {
      this.failures.delete(req.name);
      return;
    }
    const spec = cluster.spec ?? {};
    const probe = await this.probe(spec);
    const status = clusterStatus(spec, probe, cluster.status, this.deps.clock.now());
    await updateStatusIfChanged(this.deps.client, cluster, status);

    const wasDown = Boolean(cluster.status?.error);
    if (probe.ok) {
      if (wasDown || !cluster.status?.connectedAt) ctx.log.info('Cluster connected', { version: status.version, arch: status.arch });
      this.failures.delete(req.name);
      return { requeueAfterMs: this.deps.healthCheckIntervalMs ?? 30_000 };
    }
    if (probe.error === noConnectionError) return;
    const failures = (this.failures.get(req.name) ?? 0) + 1;
    this.failures.set(req.name, failures);
    const delayMs = retryDelayMs(failures, this.deps.initialRetryMs ?? 1_000, this.deps.maxRetryMs ?? 30_000);
    if (cluster.status?.error !== probe.error) ctx.log.warn('Cluster unreachable', { error: probe.error, retryInMs: delayMs });
    return { requeueAfterMs: delayMs };
  }

  private async probe(spec: ClusterSpec): Promise<Probe> {
    const conn = spec.connection;
    if (conn?.docker) {
      try {
        return { ok: true, docker: await this.deps.docker.ping(conn.docker.host) };
      } catch (err) {
        return { ok: false, error: errorText(err), connection: { docker: { host: dockerAddress(this.deps.docker, conn.docker.host) } } };
      }
    }
    if (conn?.kubernetes) {
      try {
        return { ok: true, kubernetes: await this.deps.kubernetes.probe(conn.kubernetes) };
      } catch (err) {
        const context = conn.kubernetes.context;
        return { ok: false, error: errorText(err), connection: context ? { kubernetes: { context } } : undefined };
      }
    }
    return { ok: false, error: noConnectionError };
  }
}

/** dockerAddress is where a ping to host goes, as the pinger says, else host or the local socket. */
function dockerAddress(docker: DockerPinger, host: string | undefined): string {
  return docker.address?.(host) ?? (host || defaultDockerHost);
}

