/**
 * Every reconciler of the daemon, registered with one manager, and the objects the
 * daemon creates when they are missing (the default Clusters and the Session). Each kind's
 * `setup` gets its edges (Docker, Kubernetes clusters, runner, logs) from src/edges.ts.
 */
import path from 'node:path';
import type { Logger } from 'winston';
import type { Manager } from './runtime/manager.ts';
import { FerryClient } from './client/index.ts';
import type { ClusterConnection, KubeconfigClusters } from './adapters/kubernetes/index.ts';
import type { LogBuffer } from './util/log-buffer.ts';
import type { ActivityRegistry } from './runtime/activity.ts';
import { FileBatches } from './tilt/index.ts';
import { buildEdges, clusterHealth, kubernetesTargets, liveUpdaters, podLogs, type Edges } from './edges.ts';
import { setupClusterController } from '../controllers/cluster/setup.ts';
import { ensureDefaultClusters } from '../controllers/cluster/defaults.ts';
import * as cmd from '../controllers/cmd/index.ts';
import * as cmdimage from '../controllers/cmdimage/index.ts';
import * as dockercomposelogstream from '../controllers/dockercomposelogstream/index.ts';
import * as dockercomposeservice from '../controllers/dockercomposeservice/index.ts';
import * as filewatch from '../controllers/filewatch/index.ts';
import * as imagemap from '../controllers/imagemap/index.ts';
import * as kubernetesapply from '../controllers/kubernetesapply/index.ts';
import * as kubernetesdiscovery from '../controllers/kubernetesdiscovery/index.ts';
import * as liveupdate from '../controllers/liveupdate/index.ts';
import * as podlogstream from '../controllers/podlogstream/index.ts';
import * as session from '../controllers/session/index.ts';

export interface ControllerSettings {
  log: Logger;
  /** cwd against which relative paths in objects resolve. Default process.cwd(). */
  cwd?: string;
  /** filewatchQuietMs is the FileWatch base batching quiet period. Default 10 (it grows during a burst). */
  filewatchQuietMs?: number;
  /** filewatchPoll makes every FileWatch poll instead of using kernel events. Default false. */
  filewatchPoll?: boolean;
  /** clusterKubeconfig is the kubeconfig of the dev cluster (Cluster `default`). Default KUBECONFIG or ~/.kube/config. */
  clusterKubeconfig?: string;
  /** buildTimeoutMs bounds every CmdImage build (`--build-timeout`). Default 15 minutes. */
  buildTimeoutMs?: number;
  /** execTimeoutMs bounds every exec of a live update. Default 60,000. */
  execTimeoutMs?: number;
  /** logs receives build, live update and command output for `ferry logs`. Default: a new buffer. */
  logs?: LogBuffer;
  /** dataDir is the daemon's data directory; the Compose files ferry writes live in its `compose/` folder. Default: a temporary folder, removed on stop. */
  dataDir?: string;
  /**
   * keepImages is how many builds of each image keep their tags; older ones are removed unless a
   * container uses them. 0 keeps all. Default `$FERRY_KEEP_IMAGES`, else 3.
   */
  keepImages?: number;
  /**
   * ownImagesOnly: prune only image tags this daemon made, and on stop remove them all but
   * those a container uses (`ferry ci`). Default false.
   */
  ownImagesOnly?: boolean;
  /** activity receives the long work of builds, applies and Compose ups while it runs (`ferry serve` shows it). Default: nobody listens. */
  activity?: ActivityRegistry;
  /** composeProjectSuffix follows every Compose project name (`ferry ci` runs its own projects beside a dev daemon's). Default none. */
  composeProjectSuffix?: string;
}

export interface ControllerExtras {
  logs: LogBuffer;
  /** edges are the connections every kind was given. */
  edges: Edges;
  /** stop releases what the controllers hold beyond the manager (processes, watchers). */
  stop(): Promise<void>;
}

/** setupControllers registers every kind with mgr, each given its edges (default: buildEdges(s) on the manager's clock). */
export function setupControllers(mgr: Manager, s: ControllerSettings, edges: Edges = buildEdges(s, mgr.clock)): ControllerExtras {
  const { logs, runner } = edges;
  const cwd = s.cwd ?? process.cwd();
  const log = s.log;
  setupClusterController(mgr, clusterHealth(edges));
  // The exact paths of large batches, from the FileWatches to the LiveUpdates of this daemon.
  const batches = new FileBatches();
  filewatch.setup(mgr, { log, quietMs: s.filewatchQuietMs, poll: s.filewatchPoll, batches });
  imagemap.setup(mgr, {});
  const builds = cmdimage.setup(mgr, { log, cwd, logs, runner, images: edges.docker.images(), buildTimeoutMs: s.buildTimeoutMs,
    keepImages: s.keepImages ?? keepImagesFromEnv(), pruneOwnOnly: s.ownImagesOnly, activity: s.activity });
  const cmds = cmd.setup(mgr, { log, cwd, logs, runner });
  const compose = dockercomposeservice.setup(mgr, {
    log,
    cwd,
    workDir: s.dataDir ? path.join(s.dataDir, 'compose') : undefined,
    projectSuffix: s.composeProjectSuffix,
    activity: s.activity,
    docker: edges.docker.client(),
    onOutput: (resource, line) => logs.append(resource, { source: 'DockerComposeService', line }),
  });
  dockercomposelogstream.setup(mgr, { log, cwd, logs, docker: edges.docker.client(), containerLogs: edges.docker.containerLogs() });
  kubernetesdiscovery.setup(mgr, { log, resolve: edges.clusters.resolver() });
  podlogstream.setup(mgr, { log, logs, podLogs: podLogs(mgr, edges.clusters) });
  kubernetesapply.setup(mgr, { log, cwd, logs, runner, connect: kubernetesTargets(edges.clusters), activity: s.activity });
  liveupdate.setup(mgr, { log, logs, cwd, batches, execTimeoutMs: s.execTimeoutMs, updaters: liveUpdaters(mgr, edges, { stepTimeoutMs: s.execTimeoutMs, log }) });
  session.setup(mgr, { log, cwd });
  return {
    logs,
    edges,
    async stop() {
      await Promise.all([builds.stopAll(), cmds.stopAll()]);
      await compose.reconciler.stop();
      if (s.ownImagesOnly) await builds.reconciler.removeOwnImages().catch((err: unknown) => log.warn('Could not remove the images built', { error: String(err) }));
    },
  };
}

/** keepImagesFromEnv reads `FERRY_KEEP_IMAGES` (a whole number); undefined when unset or not one. */
function keepImagesFromEnv(): number | undefined {
  const v = process.env.FERRY_KEEP_IMAGES;
  return v && /^\d+$/.test(v) ? Number(v) : undefined;
}

/**
 * ensureDefaultObjects creates the default Clusters (Cluster `default` when the dev kubeconfig
 * has a current context that is not ferry's own API server) and the Session.
 */
export async function ensureDefaultObjects(mgr: Manager, s: ControllerSettings, edges: Edges): Promise<void> {
  const own = mgr.client instanceof FerryClient ? mgr.client.kubeConfig.getCurrentCluster()?.server : undefined;
  const dev = devKubeContext(edges.clusters, own);
  if (dev.ownApi) s.log.warn('The kubeconfig\'s current context is ferry\'s own API server, not a dev cluster: no Cluster default', { context: dev.ownApi });
  await ensureDefaultClusters(mgr.client, { kubeContext: dev.context });
  await session.ensureDefaultSession(mgr.client, { pid: process.pid, startTime: new Date(), cwd: s.cwd });
}

/**
 * devKubeContext is the dev cluster's kubeconfig context (the current one), unless it reaches
 * ownServer, ferry's own API server (then `ownApi` names it); nothing when there is no kubeconfig.
 */
export function devKubeContext(clusters: KubeconfigClusters, ownServer: string | undefined): { context?: string; ownApi?: string } {
  let conn;
  try {
    conn = clusters.resolve();
  } catch {
    return {};
  }
  return devContextOf(conn, ownServer);
}

/** devContextOf is devKubeContext for a connection already resolved. */
export function devContextOf(conn: ClusterConnection, ownServer: string | undefined): { context?: string; ownApi?: string } {
  const server = conn.kubeConfig.getCurrentCluster()?.server;
  if (ownServer && server && sameOrigin(server, ownServer)) return { ownApi: conn.context };
  return { context: conn.context };
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return a === b;
  }
}
