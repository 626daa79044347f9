import type { Clock } from '../../util/clock.ts';
import type { ClusterConnection } from '../kubernetes/clusters.ts';
import type { ChannelSettings } from './channel/pool.ts';
import { ExecContainerUpdater } from './kubernetes-exec.ts';
import type { ContainerUpdater } from './updater.ts';

/**
 * kubernetesUpdaters gives the pods/exec ContainerUpdater of a cluster by name, one per
 * connection key (kubeconfig, context and server), made on first use. connectionFor resolves
 * the name; it may throw when the cluster cannot be reached, and returns undefined when it has none.
 * stepTimeoutMs bounds each deletion and copy (default 60,000); channel tunes the sync
 * channels (its onEvent hears their fallbacks).
 */
export function kubernetesUpdaters(opts: {
  connectionFor: (cluster: string) => Pick<ClusterConnection, 'key' | 'kubeConfig'> | undefined;
  clock: Clock;
  stepTimeoutMs?: number;
  channel?: ChannelSettings;
}): (cluster: string) => ContainerUpdater | undefined {
  const byKey = new Map<string, ContainerUpdater>();
  return (cluster) => {
    const conn = opts.connectionFor(cluster);
    if (!conn) return undefined;
    let u = byKey.get(conn.key);
    if (!u) {
      u = new ExecContainerUpdater({ kubeConfig: conn.kubeConfig, clock: opts.clock, stepTimeoutMs: opts.stepTimeoutMs, channel: opts.channel });
      byKey.set(conn.key, u);
    }
    return u;
  };
}
