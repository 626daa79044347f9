/**
 * The edges of the daemon, built in one place: the Docker connection (one reading of
 * DOCKER_HOST, the TLS settings and the docker context), the Kubernetes clusters (one kubeconfig
 * resolution, one exec client per cluster endpoint), ferry's own API connection, the clock, the
 * process runner and the log buffer. Kinds get what they need through their `setup` deps and
 * never build a client themselves.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { Cluster } from './apis/cluster.ts';
import { kubernetesUpdaters, logChannelEvents, type ContainerUpdater } from './adapters/containers/index.ts';
import { DockerEngine, type DockerPinger } from './adapters/docker/index.ts';
import { ClientNodeKubernetesProber, ClientNodeObjects, ClientNodePodLogs, KubeconfigClusters, type PodLogs, type ClusterConnection, type KubernetesObjects, type KubernetesProber } from './adapters/kubernetes/index.ts';
import { LocalProcessRunner, type ProcessRunner } from './adapters/process/index.ts';
import { loadKubeConfig } from './client/kubeconfig.ts';
import type { Clock } from './util/clock.ts';
import type { Manager } from './runtime/manager.ts';
import { LogBuffer } from './util/log-buffer.ts';

/** EdgeSettings say where the edges are; every field but log has a default. */
export interface EdgeSettings {
  log: Logger;
  /** clusterKubeconfig is the dev cluster's kubeconfig (`--cluster-kubeconfig`). Default KUBECONFIG or ~/.kube/config. */
  clusterKubeconfig?: string;
  /** logs receives build, live update and command output for `ferry logs`. Default: a new buffer. */
  logs?: LogBuffer;
  /** env supplies DOCKER_HOST, DOCKER_CONTEXT, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and KUBECONFIG. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Edges are the connections to the world outside the daemon's core, shared by every kind. */
export interface Edges {
  /** docker is the one Docker Engine connection: containers, images, updates and health. */
  docker: DockerEngine;
  /** clusters resolves every Kubernetes cluster through one kubeconfig reading. */
  clusters: KubeconfigClusters;
  /** clock drives every timer (the manager's). */
  clock: Clock;
  /** runner starts local processes (Cmds and image builds). */
  runner: ProcessRunner;
  /** logs holds output per resource for `ferry logs`. */
  logs: LogBuffer;
}

/**
 * buildEdges makes the daemon's edges on clock. Throws when the Docker address (DOCKER_HOST or
 * the current docker context) is unusable; nothing is dialled yet.
 */
export function buildEdges(s: EdgeSettings, clock: Clock): Edges {
  const env = s.env ?? process.env;
  let docker: DockerEngine;
  try {
    docker = DockerEngine.connect({ env });
  } catch (err) {
    throw new Error('finding the Docker Engine (DOCKER_HOST or the current docker context)', { cause: err });
  }
  s.log.debug('Docker Engine found', { host: docker.host, source: docker.connection.source });
  return {
    docker,
    clusters: new KubeconfigClusters({ kubeconfigPath: s.clusterKubeconfig, env }),
    clock,
    runner: new LocalProcessRunner({ clock }),
    logs: s.logs ?? new LogBuffer(),
  };
}

/**
 * clusterConnections resolves a Cluster by name through the manager's cache (a Cluster not yet
 * seen resolves by its name alone: the default kubeconfig and context), for LiveUpdate's
 * updaters. It makes the cache inform on Clusters.
 */
export function clusterConnections(mgr: Manager, clusters: KubeconfigClusters): (name: string) => ClusterConnection {
  mgr.cache.inform('Cluster');
  return (name) => clusters.forCluster(mgr.cache.get<Cluster>('Cluster', name) ?? ({ metadata: { name } } as Cluster));
}

/**
 * kubernetesTargets reaches a Cluster's Kubernetes API for applying objects (KubernetesApply):
 * its objects client, the kubeconfig file (for apply commands) and the context's namespace,
 * through the shared kubeconfig resolution. Throws an Error fit for status when the Cluster
 * cannot be resolved.
 */
export function kubernetesTargets(clusters: KubeconfigClusters): (cluster: Cluster) => { objects: KubernetesObjects; configPath: string; defaultNamespace: string } {
  return (cluster) => {
    const conn = clusters.forCluster(cluster);
    return {
      objects: new ClientNodeObjects(conn.kubeConfig),
      configPath: conn.configPath,
      defaultNamespace: conn.kubeConfig.getContextObject(conn.context)?.namespace || 'default',
    };
  };
}

/**
 * podLogs reaches a Cluster's pods and their output by the Cluster's name (PodLogStream), one
 * client per cluster endpoint. It throws an Error fit for status when the Cluster cannot be resolved.
 */
export function podLogs(mgr: Manager, clusters: KubeconfigClusters): (cluster: string) => PodLogs {
  const connectionFor = clusterConnections(mgr, clusters);
  const clients = new Map<string, PodLogs>();
  return (name) => {
    const conn = connectionFor(name);
    let client = clients.get(conn.key);
    if (!client) clients.set(conn.key, (client = new ClientNodePodLogs(conn.kubeConfig)));
    return client;
  };
}

/** clusterHealth is what the Cluster kind needs of the edges: a Docker pinger and a Kubernetes prober. */
export function clusterHealth(edges: Edges): { docker: DockerPinger; kubernetes: KubernetesProber } {
  return { docker: edges.docker.pinger(), kubernetes: new ClientNodeKubernetesProber({ clusters: edges.clusters }) };
}

/**
 * liveUpdaters are LiveUpdate's container updaters over the edges; stepTimeoutMs defaults to
 * 60,000. With log, the sync channels' fallbacks are logged (logChannelEvents).
 */
export function liveUpdaters(
  mgr: Manager,
  edges: Edges,
  opts: { stepTimeoutMs?: number; log?: Logger } = {},
): { docker: ContainerUpdater; kubernetes: (cluster: string) => ContainerUpdater | undefined } {
  const channel = opts.log ? { onEvent: logChannelEvents(opts.log) } : undefined;
  return {
    docker: edges.docker.containerUpdater({ clock: edges.clock, stepTimeoutMs: opts.stepTimeoutMs, channel }),
    kubernetes: kubernetesUpdaters({ connectionFor: clusterConnections(mgr, edges.clusters), clock: edges.clock, stepTimeoutMs: opts.stepTimeoutMs, channel }),
  };
}

/**
 * apiKubeConfig is the connection to ferry's own API server: the embedded server's kubeconfig
 * text, or an external server's kubeconfig file and context.
 */
export function apiKubeConfig(from: { kubeconfigText: string } | { kubeconfig: string; context?: string }): KubeConfig {
  if ('kubeconfig' in from) return loadKubeConfig(from.kubeconfig, from.context);
  const kc = new KubeConfig();
  kc.loadFromString(from.kubeconfigText);
  return kc;
}
