/**
 * The one way ferry reaches a development cluster: a kubeconfig file and a context, resolved the
 * way kubectl does, for a Cluster object or for a context name. KubernetesDiscovery, LiveUpdate
 * and the Cluster kind all go through one KubeconfigClusters.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Cluster } from '../../apis/cluster.ts';

/** ClusterConnection is a Kubernetes cluster's client configuration, and a key that is equal for equal endpoints. */
export interface ClusterConnection {
  /** key is the kubeconfig file, context and server: connections with equal keys reach the same cluster the same way. */
  key: string;
  kubeConfig: KubeConfig;
  /** configPath is the kubeconfig file read. */
  configPath: string;
  /** context is the kubeconfig context selected. */
  context: string;
}

/**
 * ConnectionResolver turns a Cluster object into a connection to its Kubernetes API. It throws
 * an Error whose message is fit for status when the cluster cannot be reached that way (no
 * kubeconfig, unknown context).
 */
export type ConnectionResolver = (cluster: Cluster) => ClusterConnection;

/**
 * kubeconfigPathFromEnv is the kubeconfig kubectl would read: the first existing KUBECONFIG
 * entry (else the first one, so errors name it), else ~/.kube/config when it exists.
 */
export function kubeconfigPathFromEnv(env: NodeJS.ProcessEnv = process.env, homeDir = os.homedir()): string | undefined {
  const fromEnv = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  if (fromEnv.length > 0) return fromEnv.find((f) => existsSync(f)) ?? fromEnv[0];
  const home = path.join(homeDir, '.kube', 'config');
  return existsSync(home) ? home : undefined;
}

/** KubeconfigClustersOptions configure KubeconfigClusters; every field has a default. */
export interface KubeconfigClustersOptions {
  /** kubeconfigPath is the dev cluster's kubeconfig (`--cluster-kubeconfig`). Default: KUBECONFIG, else ~/.kube/config, looked up at each use. */
  kubeconfigPath?: string;
  /** env supplies KUBECONFIG. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** homeDir holds .kube/config. Default os.homedir(). */
  homeDir?: string;
}

/**
 * KubeconfigClusters resolves clusters through kubeconfig files. The file is read at each
 * resolution, so a recreated cluster's new credentials are picked up; callers keep one client
 * per connection key.
 */
export class KubeconfigClusters {
  private readonly kubeconfigPath?: string;
  private readonly env?: NodeJS.ProcessEnv;
  private readonly homeDir?: string;

  constructor(opts: KubeconfigClustersOptions = {}) {
    this.kubeconfigPath = opts.kubeconfigPath;
    this.env = opts.env;
    this.homeDir = opts.homeDir;
  }

  /** defaultConfigPath is the kubeconfig used when no Cluster status names one. */
  defaultConfigPath(): string | undefined {
    return this.kubeconfigPath || kubeconfigPathFromEnv(this.env ?? process.env, this.homeDir);
  }

  /**
   * resolve selects `context` (default: the file's current context) in `configPath` (default:
   * defaultConfigPath()); `namespace` replaces the context's default namespace (what objects
   * without one are applied to). Throws an Error fit for status when the file or the context is
   * missing or unusable.
   */
  resolve(opts: { configPath?: string; context?: string; namespace?: string } = {}): ClusterConnection {
    const file = opts.configPath || this.defaultConfigPath();
    if (!file) throw new Error('no kubeconfig found (KUBECONFIG or ~/.kube/config)');
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new Error(`reading kubeconfig ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (opts.context) {
      if (!kc.getContextObject(opts.context)) throw new Error(`context ${JSON.stringify(opts.context)} not found in kubeconfig ${file}`);
      kc.setCurrentContext(opts.context);
    }
    const context = kc.getCurrentContext();
    if (!context || !kc.getContextObject(context)) throw new Error(`context ${JSON.stringify(context ?? '')} not found in kubeconfig ${file}`);
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new Error(`kubeconfig ${file}: context ${JSON.stringify(context)} has no cluster`);
    const namespace = opts.namespace;
    if (namespace) kc.contexts = kc.contexts.map((c) => (c.name === context ? { ...c, namespace } : c));
    return { key: `${file}\u0000${context}\u0000${server}`, kubeConfig: kc, configPath: file, context };
  }

  /**
   * forCluster resolves a Cluster object: through the kubeconfig its status says it connected
   * with (`status.connection.kubernetes.configPath`), else defaultConfigPath(); with the spec's
   * `connection.kubernetes.context`, else the one the status names, else the file's current one.
   * The spec's `connection.kubernetes.namespace`, when set, is the default namespace (the
   * connection key does not change with it: pods and applied objects carry their namespace).
   */
  forCluster(cluster: Cluster): ClusterConnection {
    const k8sStatus = cluster.status?.connection?.kubernetes;
    return this.resolve({
      configPath: k8sStatus?.configPath,
      context: cluster.spec?.connection?.kubernetes?.context || k8sStatus?.context,
      namespace: cluster.spec?.connection?.kubernetes?.namespace,
    });
  }

  /** resolver is forCluster as a ConnectionResolver. */
  resolver(): ConnectionResolver {
    return (cluster) => this.forCluster(cluster);
  }

  /** currentContext is the current context of the default kubeconfig, or undefined when there is none. */
  currentContext(): string | undefined {
    try {
      return this.resolve().context;
    } catch {
      return undefined;
    }
  }
}

/** kubeconfigResolver is a ConnectionResolver over a KubeconfigClusters made with opts. */
export function kubeconfigResolver(opts: KubeconfigClustersOptions = {}): ConnectionResolver {
  return new KubeconfigClusters(opts).resolver();
}
