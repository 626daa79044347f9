/**
 * The DockerComposeLogStream controller: what Compose services' containers print, into
 * `ferry logs`. `setup` wires it into a Manager; the manager's stop ends every stream and
 * records where each stream read up to.
 */
import type { Logger } from 'winston';
import type { DockerComposeService } from '../../src/apis/dockercomposeservice.ts';
import type { ContainerLogs, DockerClient } from '../../src/adapters/docker/index.ts';
import { Wake, type Controller, type Manager } from '../../src/runtime/index.ts';
import type { LogBuffer } from '../../src/util/log-buffer.ts';
import { DockerComposeLogStreamReconciler, kind, serviceKind } from './reconciler.ts';

export { DockerComposeLogStreamReconciler, type DockerComposeLogStreamReconcilerDeps } from './reconciler.ts';
export { marker, positionAnnotation, readPosition, type Position } from './position.ts';

/** DockerComposeLogStreamSetupDeps are what `setup` needs beyond the manager. */
export interface DockerComposeLogStreamSetupDeps {
  /** docker finds the service's containers (the wiring passes the shared Docker adapter's client). */
  docker: DockerClient;
  /** containerLogs follows what a container prints. */
  containerLogs: ContainerLogs;
  /** logs receives the lines for `ferry logs`. */
  logs: LogBuffer;
  /** log is the parent logger. Default: the manager's. */
  log?: Logger;
  /** cwd is what relative paths in projects resolve against. Default process.cwd(). */
  cwd?: string;
  /** persistMs is how long read positions wait before they are written. Default 1,000. */
  persistMs?: number;
}

/**
 * setup registers the DockerComposeLogStream controller with the manager: it reconciles on
 * changes to the stream, to the DockerComposeService of the same name (whose container it
 * follows, and whose missing stream it creates), and when a followed container's output ends.
 */
export function setup(mgr: Manager, deps: DockerComposeLogStreamSetupDeps): { controller: Controller; reconciler: DockerComposeLogStreamReconciler } {
  const log = (deps.log ?? mgr.log).child({ controller: 'dockercomposelogstream' });
  const wake = new Wake();
  const reconciler = new DockerComposeLogStreamReconciler({
    client: mgr.client,
    cache: mgr.cache,
    clock: mgr.clock,
    log,
    docker: deps.docker,
    containerLogs: deps.containerLogs,
    logs: deps.logs,
    wake,
    cwd: deps.cwd,
    persistMs: deps.persistMs,
  });
  const controller = mgr
    .controller('dockercomposelogstream', { concurrency: 2 })
    .for(kind)
    .watches<DockerComposeService>(serviceKind, (svc) => [svc.metadata.name!])
    .wakes(wake)
    .complete(reconciler);
  mgr.add({ start() {}, stop: () => reconciler.stop() });
  return { controller, reconciler };
}
