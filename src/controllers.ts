/**
 * Every reconciler of the daemon, registered with one manager, and the objects the
 * daemon creates when they are missing (the default Clusters and the Session).
 */
import type { Logger } from 'winston';
import type { Manager } from './runtime/manager.ts';
import { LogBuffer } from './util/log-buffer.ts';
import { setupClusterController } from '../controllers/cluster/setup.ts';
import { ensureDefaultClusters } from '../controllers/cluster/defaults.ts';
import { currentKubeContext } from '../controllers/cluster/kubernetes.ts';
import * as cmd from '../controllers/cmd/index.ts';
import * as cmdimage from '../controllers/cmdimage/index.ts';
import * as dockercomposeservice from '../controllers/dockercomposeservice/index.ts';
import * as filewatch from '../controllers/filewatch/index.ts';
import * as imagemap from '../controllers/imagemap/index.ts';
import * as kubernetesdiscovery from '../controllers/kubernetesdiscovery/index.ts';
import * as liveupdate from '../controllers/liveupdate/index.ts';
import * as session from '../controllers/session/index.ts';

export interface ControllerSettings {
  log: Logger;
  /** cwd against which relative paths in objects resolve. Default process.cwd(). */
  cwd?: string;
  /** filewatchQuietMs is the FileWatch batching quiet period. Default 200. */
  filewatchQuietMs?: number;
  /** clusterKubeconfig is the kubeconfig of the dev cluster (Cluster `default`). Default KUBECONFIG or ~/.kube/config. */
  clusterKubeconfig?: string;
  /** buildTimeoutMs bounds every CmdImage build (`--build-timeout`). Default 15 minutes. */
  buildTimeoutMs?: number;
  /** execTimeoutMs bounds every exec of a live update. Default 60,000. */
  execTimeoutMs?: number;
  /** logs receives build, live update and command output for `ferry logs`. Default: a new buffer. */
  logs?: LogBuffer;
}

export interface ControllerExtras {
  logs: LogBuffer;
  /** stop releases what the controllers hold beyond the manager (processes, watchers). */
  stop(): Promise<void>;
}

export function setupControllers(mgr: Manager, s: ControllerSettings): ControllerExtras {
  const logs = s.logs ?? new LogBuffer();
  const cwd = s.cwd ?? process.cwd();
  const log = s.log;
  setupClusterController(mgr, { kubeconfigPath: s.clusterKubeconfig });
  filewatch.setup(mgr, { log, quietMs: s.filewatchQuietMs });
  imagemap.setup(mgr, {});
  const builds = cmdimage.setup(mgr, { log, cwd, logs, buildTimeoutMs: s.buildTimeoutMs });
  const cmds = cmd.setup(mgr, { log, cwd, logs });
  dockercomposeservice.setup(mgr, { log, cwd, onOutput: (resource, line) => logs.append(resource, { source: 'DockerComposeService', line }) });
  kubernetesdiscovery.setup(mgr, { log, kubeconfigPath: s.clusterKubeconfig });
  liveupdate.setup(mgr, { log, logs, cwd, execTimeoutMs: s.execTimeoutMs, clusterKubeconfig: s.clusterKubeconfig });
  session.setup(mgr, { log, cwd });
  return {
    logs,
    async stop() {
      await Promise.all([builds.stopAll(), cmds.stopAll()]);
    },
  };
}

export async function ensureDefaultObjects(mgr: Manager, s: ControllerSettings): Promise<void> {
  await ensureDefaultClusters(mgr.client, { kubeContext: currentKubeContext(s.clusterKubeconfig) });
  await session.ensureDefaultSession(mgr.client, { pid: process.pid, startTime: new Date(), cwd: s.cwd });
}
