import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Cluster } from '../../src/apis/cluster.ts';
import type { ClusterConnection } from './pod-watcher.ts';

/**
 * ConnectionResolver turns a Cluster object into a connection to its Kubernetes API. It throws
 * an Error whose message is fit for status when the cluster cannot be reached that way (no
 * kubeconfig, unknown context).
 */
export type ConnectionResolver = (cluster: Cluster) => ClusterConnection;

/** kubeconfigPathFromEnv is the kubeconfig kubectl would read: the first existing KUBECONFIG entry, else ~/.kube/config. */
export function kubeconfigPathFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  if (fromEnv.length > 0) return fromEnv.find((f) => existsSync(f)) ?? fromEnv[0];
  const home = path.join(os.homedir(), '.kube', 'config');
  return existsSync(home) ? home : undefined;
}

/**
 * kubeconfigResolver resolves a Cluster through a kubeconfig file: the one the Cluster's status
 * says it connected with (`status.connection.kubernetes.configPath`), else `kubeconfigPath`
 * (the daemon's `--cluster-kubeconfig`), else KUBECONFIG or ~/.kube/config. The context is the
 * spec's `connection.kubernetes.context`, else the one the status names, else the file's
 * current context.
 */
export function kubeconfigResolver(opts: { kubeconfigPath?: string } = {}): ConnectionResolver {
  return (cluster) => {
    const k8sStatus = cluster.status?.connection?.kubernetes;
    const file = k8sStatus?.configPath || opts.kubeconfigPath || kubeconfigPathFromEnv();
    if (!file) throw new Error('no kubeconfig found (KUBECONFIG or ~/.kube/config)');
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new Error(`reading kubeconfig ${file}: ${(err as Error).message}`, { cause: err });
    }
    const context = cluster.spec?.connection?.kubernetes?.context || k8sStatus?.context;
    if (context) {
      if (!kc.getContextObject(context)) throw new Error(`context ${JSON.stringify(context)} not found in kubeconfig ${file}`);
      kc.setCurrentContext(context);
    }
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new Error(`kubeconfig ${file}: context ${JSON.stringify(kc.getCurrentContext())} has no cluster`);
    return { key: `${file}\u0000${kc.getCurrentContext()}\u0000${server}`, kubeConfig: kc };
  };
}
