/**
 * Every reconciler of the daemon, registered with one manager, and the objects the
 * daemon creates when they are missing (the default Clusters and the Session).
 */
import type { Logger } from 'winston';
import type { Manager } from './runtime/manager.ts';
import { setupClusterController } from '../controllers/cluster/setup.ts';
import { ensureDefaultClusters } from '../controllers/cluster/defaults.ts';
import { currentKubeContext } from '../controllers/cluster/kubernetes.ts';

export interface ControllerSettings {
  log: Logger;
  /** cwd against which relative paths in objects resolve. Default process.cwd(). */
  cwd?: string;
  /** filewatchQuietMs is the FileWatch batching quiet period. Default 200. */
  filewatchQuietMs?: number;
  /** clusterKubeconfig is the kubeconfig of the dev cluster (Cluster `default`). Default KUBECONFIG or ~/.kube/config. */
  clusterKubeconfig?: string;
}

export interface ControllerExtras {
  /** stop releases what the controllers hold beyond the manager (processes, watchers). */
  stop(): Promise<void>;
}

export function setupControllers(mgr: Manager, s: ControllerSettings): ControllerExtras {
  setupClusterController(mgr, { kubeconfigPath: s.clusterKubeconfig });
  return { async stop() {} };
}

export async function ensureDefaultObjects(mgr: Manager, s: ControllerSettings): Promise<void> {
  await ensureDefaultClusters(mgr.client, { kubeContext: currentKubeContext(s.clusterKubeconfig) });
}
