import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.ts';
import { ExecContainerUpdater } from './kubernetes-exec.ts';
import type { ContainerUpdater } from './updater.ts';

/**
 * kubernetesUpdaters gives the pods/exec ContainerUpdater of a cluster by name, one per cluster
 * endpoint (context and server), made on first use. kubeConfigFor resolves the name; it may
 * throw when the cluster cannot be reached, and returns undefined when it has none.
 * stepTimeoutMs bounds each deletion and copy (default 60,000).
 */
export function kubernetesUpdaters(opts: {
  kubeConfigFor: (cluster: string) => KubeConfig | undefined;
  clock: Clock;
  stepTimeoutMs?: number;
}): (cluster: string) => ContainerUpdater | undefined {
  const byEndpoint = new Map<string, ContainerUpdater>();
  return (cluster) => {
    const kc = opts.kubeConfigFor(cluster);
    if (!kc) return undefined;
    const key = `${kc.getCurrentContext()}\u0000${kc.getCurrentCluster()?.server}`;
    let u = byEndpoint.get(key);
    if (!u) {
      u = new ExecContainerUpdater({ kubeConfig: kc, clock: opts.clock, stepTimeoutMs: opts.stepTimeoutMs });
      byEndpoint.set(key, u);
    }
    return u;
  };
}
