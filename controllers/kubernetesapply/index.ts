/**
 * The KubernetesApply controller: deploys YAML (or runs an apply command) to a Kubernetes
 * cluster with the ImageMaps' images injected, re-applies when an image or the spec changes, on
 * restartOn events and triggers, cleans up what it no longer applies, and owns the
 * KubernetesDiscovery of the applied objects. `setup` wires it into a Manager.
 */
import type { Logger } from 'winston';
import { resourceName, triggerQueueName, type Cluster, type ConfigMap, type FileWatch, type ImageMap, type KubernetesApply } from '../../src/apis/index.ts';
import type { ProcessRunner } from '../../src/adapters/process/index.ts';
import { generationChanged, type Controller, type Manager } from '../../src/runtime/index.ts';
import { disableSourceMapper, triggerQueueResources } from '../../src/tilt/index.ts';
import type { LogBuffer } from '../../src/util/log-buffer.ts';
import type { ActivityRegistry } from '../../src/runtime/activity.ts';
import { defaultClusterName, indexes, kind, KubernetesApplyReconciler, type ClusterConnector, type KubernetesInjector } from './reconciler.ts';

export {
  KubernetesApplyReconciler,
  cleanupFinalizer,
  injectKubernetes,
  fieldManager,
  type ClusterConnector,
  type ClusterTarget,
  type KubernetesApplyReconcilerDeps,
  type KubernetesInjector,
} from './reconciler.ts';
export * from './plan.ts';
export { readyToApplyCondition, jobConditions, waitingCondition } from './status.ts';

/** KubernetesApplySetupDeps are what `setup` needs beyond the manager. */
export interface KubernetesApplySetupDeps {
  /** connect reaches a Cluster's Kubernetes API (the wiring passes the shared kubeconfig resolution of src/edges.ts). */
  connect: ClusterConnector;
  /** inject prepares the objects for applying. Default: the images adapter's Kubernetes injector. */
  inject?: KubernetesInjector;
  /** runner starts apply and delete commands. */
  runner: ProcessRunner;
  /** log is the parent logger. Default: the manager's. */
  log?: Logger;
  /** logs receives apply output per resource for `ferry logs`. */
  logs?: LogBuffer;
  /** cwd is where commands run when their dir is empty. Default process.cwd(). */
  cwd?: string;
  /** baseEnv is the environment commands start from. Default: the daemon's. */
  baseEnv?: NodeJS.ProcessEnv;
  /** activity is told of each apply while it runs. Default: nobody. */
  activity?: ActivityRegistry;
  /** concurrency is how many KubernetesApplies are reconciled (applied) at once. Default 4. */
  concurrency?: number;
}

/**
 * setup registers the KubernetesApply controller with the manager. A KubernetesApply is
 * reconciled on changes to it, to the spec of the KubernetesDiscovery it owns (or its deletion;
 * not the pods it reports), to its ImageMaps, its
 * Cluster, the FileWatches of its restartOn, its disable ConfigMaps and the trigger queue
 * naming its resource.
 */
export function setup(mgr: Manager, deps: KubernetesApplySetupDeps): { controller: Controller; reconciler: KubernetesApplyReconciler } {
  const { cache } = mgr;
  const log = (deps.log ?? mgr.log).child({ controller: 'kubernetesapply' });
  const reconciler = new KubernetesApplyReconciler({
    client: mgr.client,
    cache,
    clock: mgr.clock,
    log,
    connect: deps.connect,
    inject: deps.inject,
    runner: deps.runner,
    logs: deps.logs,
    cwd: deps.cwd ?? process.cwd(),
    baseEnv: deps.baseEnv,
    activity: deps.activity,
  });
  cache.addIndex<KubernetesApply>(kind, indexes.imageMap, (ka) => ka.spec?.imageMaps ?? []);
  cache.addIndex<KubernetesApply>(kind, indexes.cluster, (ka) => [ka.spec?.cluster || defaultClusterName]);
  cache.addIndex<KubernetesApply>(kind, indexes.restartOn, (ka) => ka.spec?.restartOn?.fileWatches ?? []);
  cache.addIndex<KubernetesApply>(kind, indexes.resource, (ka) => [resourceName(ka)]);
  cache.inform('CmdImage');
  const names = (objs: KubernetesApply[]) => objs.map((o) => o.metadata.name!);
  const by = (index: string) => (obj: { metadata: { name?: string } }) => names(cache.byIndex<KubernetesApply>(kind, index, obj.metadata.name ?? ''));
  const controller = mgr
    .controller('kubernetesapply', { concurrency: deps.concurrency ?? 4 })
    .for(kind)
    .owns('KubernetesDiscovery', generationChanged)
    .watches<ImageMap>('ImageMap', by(indexes.imageMap))
    .watches<Cluster>('Cluster', by(indexes.cluster))
    .watches<FileWatch>('FileWatch', by(indexes.restartOn))
    .watches('ConfigMap', disableSourceMapper(cache, kind))
    .watches<ConfigMap>('ConfigMap', (cm) => {
      if (cm.metadata.name !== triggerQueueName) return [];
      return [...triggerQueueResources(cm)].flatMap((r) => names(cache.byIndex<KubernetesApply>(kind, indexes.resource, r)));
    })
    .complete(reconciler);
  return { controller, reconciler };
}
