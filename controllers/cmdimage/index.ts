/**
 * The CmdImage controller: builds images with their own commands, tags and pushes them, fills
 * the ImageMaps, and builds again on a spec change, a new dependency image, a trigger, or file
 * changes no LiveUpdate can apply. `setup` wires it into a Manager.
 */
import { Histogram } from 'prom-client';
import type { Logger } from 'winston';
import type { CmdImage, ConfigMap, FileWatch, ImageMap, LiveUpdate, Cluster } from '../../src/apis/index.ts';
import { resourceName, triggerQueueName } from '../../src/apis/index.ts';
import type { ImageClient } from '../../src/adapters/images/index.ts';
import { LocalProcessRunner, type ProcessRunner } from '../../src/adapters/process/index.ts';
import { type Clock, type Controller, type Manager } from '../../src/runtime/index.ts';
import { disableSourceConfigMaps, triggerQueueResources, type Disableable } from '../../src/tilt/index.ts';
import { LogBuffer } from '../../src/util/log-buffer.ts';
import { CmdImageReconciler, indexes, kind } from './reconciler.ts';
import { clusterName, fileWatchImageMap, liveUpdateImageMaps, targetImageMapName } from './status.ts';
import { Wake } from '../../src/runtime/index.ts';
import type { ActivityRegistry } from '../../src/runtime/activity.ts';

export { CmdImageReconciler, indexes, defaultBuildTimeoutMs, defaultKeepImages, type CmdImageReconcilerDeps } from './reconciler.ts';
export { runBuild, BuildError, buildPhases, type BuildOutcome, type BuildDeps, type BuildPhase } from './builder.ts';
export { planBuild, registryFromCluster, isComposeCluster, composeRef, buildTagPrefix, type BuildPlan, type PlanInput } from './plan.ts';
export {
  buildReasons,
  waitReasons,
  timeoutReason,
  buildReasonsFor,
  waitFor,
  initialMemory,
  targetImageMapName,
  clusterName,
  newImageMap,
  fileWatchImageMap,
  liveUpdateImageMaps,
  type BuildReason,
  type WaitReason,
  type BuildMemory,
  type BuildInputs,
} from './status.ts';

/** CmdImageSetupDeps are what `setup` needs beyond the manager; every field but images has a default. */
export interface CmdImageSetupDeps {
  /** log is the parent logger. Default: the manager's. */
  log?: Logger;
  /** clock for build timestamps. Default: the manager's. */
  clock?: Clock;
  /** images is the Docker Engine's image store builds inspect, tag and push with (the wiring passes the shared Docker adapter's; tests use FakeImageClient). */
  images: ImageClient;
  /** cwd is where builds run when spec.dir is empty. Default: process.cwd(). */
  cwd?: string;
  /** logs receives build output per resource for `ferry logs`. Default: a new LogBuffer. */
  logs?: LogBuffer;
  /** runner starts build commands. Default: a LocalProcessRunner on the clock. */
  runner?: ProcessRunner;
  /** baseEnv is the environment builds start from. Default: the daemon's. */
  baseEnv?: NodeJS.ProcessEnv;
  /**
   * buildTimeoutMs bounds each build; past it the build is killed and fails with reason Timeout.
   * Default defaultBuildTimeoutMs (15 minutes); set by `ferry serve --build-timeout`.
   */
  buildTimeoutMs?: number;
  /** keepImages is how many builds of a ref keep their tags (0 keeps all). Default 3. */
  keepImages?: number;
  /** pruneOwnOnly prunes only tags this daemon made. Default false. */
  pruneOwnOnly?: boolean;
  /** activity is told of each build while it runs. Default: nobody. */
  activity?: ActivityRegistry;
  /** concurrency is how many CmdImages are reconciled at once (builds themselves run beside). Default 4. */
  concurrency?: number;
}

/**
 * setup registers the CmdImage controller with the manager. A CmdImage is reconciled on changes
 * to it; to the ImageMap it fills and those it depends on; to its Cluster; to the trigger queue
 * naming its resource; to the FileWatches annotated `tilt.dev/target-id: image:<its ImageMap>`;
 * to the LiveUpdates using its ImageMap; to the ConfigMaps disabling its ImageMap; and when a
 * build ends. A spec change kills the running build and starts the new one; a build that runs
 * past buildTimeoutMs is killed and fails with reason Timeout. Stopping the manager kills running builds. Build durations go to the manager's
 * metrics registry as `ferry_cmdimage_build_duration_seconds{result}`.
 */
export function setup(
  mgr: Manager,
  deps: CmdImageSetupDeps,
): { controller: Controller; reconciler: CmdImageReconciler; logs: LogBuffer; stopAll: () => Promise<void> } {
  const clock = deps.clock ?? mgr.clock;
  const log = (deps.log ?? mgr.log).child({ controller: 'cmdimage' });
  const logs = deps.logs ?? new LogBuffer();
  const existing = mgr.metricsRegistry.getSingleMetric('ferry_cmdimage_build_duration_seconds') as Histogram<'result'> | undefined;
  const buildDuration =
    existing ??
    new Histogram({
      name: 'ferry_cmdimage_build_duration_seconds',
      help: 'Duration of CmdImage builds, from start to finish, by result (ok or error)',
      labelNames: ['result'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers: [mgr.metricsRegistry],
    });
  const wake = new Wake();
  const reconciler = new CmdImageReconciler({
    wake,
    client: mgr.client,
    cache: mgr.cache,
    clock,
    log,
    runner: deps.runner ?? new LocalProcessRunner({ clock }),
    images: deps.images,
    logs,
    cwd: deps.cwd ?? process.cwd(),
    baseEnv: deps.baseEnv,
    buildTimeoutMs: deps.buildTimeoutMs,
    keepImages: deps.keepImages,
    pruneOwnOnly: deps.pruneOwnOnly,
    activity: deps.activity,
    onBuildDone: ({ durationMs, ok }) => buildDuration.observe({ result: ok ? 'ok' : 'error' }, durationMs / 1000),
  });

  const { cache } = mgr;
  cache.addIndex<CmdImage>(kind, indexes.target, (c) => [targetImageMapName(c)]);
  cache.addIndex<CmdImage>(kind, indexes.dependency, (c) => c.spec?.imageMaps ?? []);
  cache.addIndex<CmdImage>(kind, indexes.cluster, (c) => [clusterName(c)]);
  cache.addIndex<CmdImage>(kind, indexes.resource, (c) => [resourceName(c)]);
  cache.addIndex<FileWatch>('FileWatch', indexes.fileWatchImageMap, (fw) => {
    const im = fileWatchImageMap(fw);
    return im ? [im] : [];
  });
  cache.addIndex<LiveUpdate>('LiveUpdate', indexes.liveUpdateImageMap, liveUpdateImageMaps);
  cache.addIndex<ImageMap>('ImageMap', indexes.imageMapDisable, (im) => disableSourceConfigMaps(im as Disableable));

  const names = (objs: CmdImage[]) => objs.map((o) => o.metadata.name ?? '');
  const byImageMap = (name: string) => [
    ...names(cache.byIndex<CmdImage>(kind, indexes.target, name)),
    ...names(cache.byIndex<CmdImage>(kind, indexes.dependency, name)),
  ];
  const controller = mgr
    .controller('cmdimage', { concurrency: deps.concurrency ?? 4 })
    .for(kind)
    .watches<ImageMap>('ImageMap', (im) => byImageMap(im.metadata.name ?? ''))
    .watches<Cluster>('Cluster', (c) => names(cache.byIndex<CmdImage>(kind, indexes.cluster, c.metadata.name ?? '')))
    .watches<FileWatch>('FileWatch', (fw) => {
      const im = fileWatchImageMap(fw);
      return im ? names(cache.byIndex<CmdImage>(kind, indexes.target, im)) : [];
    })
    .watches<LiveUpdate>('LiveUpdate', (lu) =>
      liveUpdateImageMaps(lu).flatMap((im) => names(cache.byIndex<CmdImage>(kind, indexes.target, im))),
    )
    .watches<ConfigMap>('ConfigMap', (cm) => {
      if (cm.metadata.name === triggerQueueName) {
        return [...triggerQueueResources(cm)].flatMap((r) => names(cache.byIndex<CmdImage>(kind, indexes.resource, r)));
      }
      return cache
        .byIndex<ImageMap>('ImageMap', indexes.imageMapDisable, cm.metadata.name ?? '')
        .flatMap((im) => names(cache.byIndex<CmdImage>(kind, indexes.target, im.metadata.name ?? '')));
    })
    .wakes(wake)
    .complete(reconciler);
  const stopAll = () => reconciler.stopAll();
  mgr.add({ start() {}, stop: stopAll });
  return { controller, reconciler, logs, stopAll };
}
