/**
 * The PodLogStream controller: what pods' containers print, into `ferry logs`. `setup` wires it
 * into a Manager; the manager's stop ends every stream and records where each read up to.
 */
import type { Logger } from 'winston';
import type { KubernetesDiscovery } from '../../src/apis/kubernetesdiscovery.ts';
import type { PodLogStream } from '../../src/apis/podlogstream.ts';
import type { PodLogs } from '../../src/adapters/kubernetes/index.ts';
import { Wake, type Controller, type Manager } from '../../src/runtime/index.ts';
import type { LogBuffer } from '../../src/util/log-buffer.ts';
import { discoveryKind, kind, PodLogStreamReconciler } from './reconciler.ts';
import { streamName } from './plan.ts';

export { PodLogStreamReconciler, type PodLogStreamReconcilerDeps } from './reconciler.ts';
export { positionAnnotation, readPositions, selectContainers, streamName, type Position } from './plan.ts';

/** PodLogStreamSetupDeps are what `setup` needs beyond the manager. */
export interface PodLogStreamSetupDeps {
  /** podLogs reaches a Cluster's pods by the Cluster's name (the wiring resolves it through the shared kubeconfig). */
  podLogs: (cluster: string) => PodLogs;
  /** logs receives the lines for `ferry logs`. */
  logs: LogBuffer;
  /** log is the parent logger. Default: the manager's. */
  log?: Logger;
  /** persistMs is how long read positions wait before they are written. Default 1,000. */
  persistMs?: number;
}

/**
 * setup registers the PodLogStream controller with the manager: it reconciles on changes to the
 * stream, to the KubernetesDiscovery that owns it or reports its pod (whose missing streams it
 * creates), and when a followed container's output ends.
 */
export function setup(mgr: Manager, deps: PodLogStreamSetupDeps): { controller: Controller; reconciler: PodLogStreamReconciler } {
  const log = (deps.log ?? mgr.log).child({ controller: 'podlogstream' });
  const wake = new Wake();
  const reconciler = new PodLogStreamReconciler({
    client: mgr.client,
    cache: mgr.cache,
    clock: mgr.clock,
    log,
    podLogs: deps.podLogs,
    logs: deps.logs,
    wake,
    persistMs: deps.persistMs,
  });
  const byDiscovery = (kd: KubernetesDiscovery) => {
    const names = new Set((kd.status?.pods ?? []).map((p) => streamName(kd.metadata.name!, p.namespace, p.name)));
    for (const s of mgr.cache.list<PodLogStream>(kind)) {
      if (s.metadata.ownerReferences?.some((r) => r.kind === discoveryKind && r.uid === kd.metadata.uid)) names.add(s.metadata.name!);
    }
    return [...names];
  };
  const controller = mgr.controller('podlogstream', { concurrency: 2 }).for(kind).watches<KubernetesDiscovery>(discoveryKind, byDiscovery).wakes(wake).complete(reconciler);
  mgr.add({ start() {}, stop: () => reconciler.stop() });
  return { controller, reconciler };
}
