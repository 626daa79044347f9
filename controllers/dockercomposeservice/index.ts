import type { Logger } from 'winston';
import type { DockerComposeService } from '../../src/apis/dockercomposeservice.ts';
import type { ImageMap } from '../../src/apis/imagemap.ts';
import { type Controller, type Manager } from '../../src/runtime/index.ts';
import { disableSourceMapper } from '../../src/tilt/index.ts';
import { ComposeCli, type ComposeRunner } from '../../src/adapters/compose/index.ts';
import type { DockerClient } from '../../src/adapters/docker/index.ts';
import { DockerEventSource } from './events.ts';
import { DockerComposeServiceReconciler, kind } from './reconciler.ts';
import { Wake } from '../../src/runtime/index.ts';
import type { ActivityRegistry } from '../../src/runtime/activity.ts';

export { DockerComposeServiceReconciler, type DockerComposeServiceReconcilerDeps } from './reconciler.ts';
export { DockerEventSource } from './events.ts';

/** SetupDeps are what `setup` needs beyond the manager; every field but docker has a default. */
export interface DockerComposeServiceSetupDeps {
  /** compose runs the Compose CLI. Default: a ComposeCli that detects `docker compose`, else `docker-compose`. */
  compose?: ComposeRunner;
  /** docker reaches the Docker Engine (the wiring passes the shared Docker adapter's client). */
  docker: DockerClient;
  /** log is the parent logger. Default: the manager's. */
  log?: Logger;
  /** workDir holds generated Compose files (reconciler.stop() removes it). Default `<tmpdir>/ferry-compose-<pid>`. */
  workDir?: string;
  /** cwd is what relative paths in specs resolve against. Default process.cwd(). */
  cwd?: string;
  /** projectSuffix follows every Compose project name (`ferry ci` keeps its projects apart). Default none. */
  projectSuffix?: string;
  /** onOutput receives Compose output lines under the object's resource name. */
  onOutput?: (resource: string, line: string) => void;
  /** activity is told of each `up` while it runs. Default: nobody. */
  activity?: ActivityRegistry;
  /** concurrency is how many services are brought up at once. Default 4. */
  concurrency?: number;
}

/**
 * setup registers the DockerComposeService controller with the manager: it reconciles on changes
 * to the object, to the ImageMaps it names, to its disable ConfigMaps, and on Docker container
 * events for its Compose service.
 */
export function setup(mgr: Manager, deps: DockerComposeServiceSetupDeps): { controller: Controller; reconciler: DockerComposeServiceReconciler } {
  const log = (deps.log ?? mgr.log).child({ controller: 'dockercomposeservice' });
  const docker = deps.docker;
  const reconciler = new DockerComposeServiceReconciler({
    client: mgr.client,
    cache: mgr.cache,
    compose: deps.compose ?? new ComposeCli(),
    docker,
    clock: mgr.clock,
    log,
    workDir: deps.workDir,
    cwd: deps.cwd,
    projectSuffix: deps.projectSuffix,
    onOutput: deps.onOutput,
    activity: deps.activity,
  });
  const byImageMap = (im: ImageMap) =>
    mgr.cache.list<DockerComposeService>(kind).filter((o) => o.spec?.imageMaps?.includes(im.metadata.name!)).map((o) => o.metadata.name!);
  const wake = new Wake();
  const controller = mgr
    .controller('dockercomposeservice', { concurrency: deps.concurrency ?? 4 })
    .for(kind)
    .watches<ImageMap>('ImageMap', byImageMap)
    .watches('ConfigMap', disableSourceMapper(mgr.cache, kind))
    .wakes(wake)
    .complete(reconciler);
  mgr.add(new DockerEventSource({ docker, cache: mgr.cache, clock: mgr.clock, log, cwd: deps.cwd, projectSuffix: deps.projectSuffix, wake }));

  return { controller, reconciler };
}
