/**
 * The daemon: the embedded API server (unless an external one is given), the controller
 * manager with every reconciler, and the default objects ferry creates at start.
 * This is the one place that wires the parts together.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'winston';
import { startApiServer, type ApiServer } from './apiserver/server.ts';
import { loadKubeConfig } from './client/kubeconfig.ts';
import { Manager } from './runtime/manager.ts';
import { setupControllers, ensureDefaultObjects, type ControllerSettings } from './controllers.ts';

export interface DaemonOptions extends ControllerSettings {
  dataDir: string;
  log: Logger;
  host?: string;
  port?: number;
  storage?: 'sqlite' | 'memory';
  /** kubeconfig of an external API server: no embedded server is started. */
  kubeconfig?: string;
  context?: string;
  version?: string;
}

export interface Daemon {
  api?: ApiServer;
  manager: Manager;
  kubeConfig: KubeConfig;
  /** kubeconfigPath clients use: the embedded server's, or the external one given. */
  kubeconfigPath: string;
  stop(): Promise<void>;
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const log = opts.log;
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: 'ferry_' });
  let manager: Manager | undefined;
  let api: ApiServer | undefined;
  let kubeConfig: KubeConfig;
  let kubeconfigPath: string;
  if (opts.kubeconfig) {
    kubeConfig = loadKubeConfig(opts.kubeconfig, opts.context);
    kubeconfigPath = opts.kubeconfig;
  } else {
    api = await startApiServer({
      dataDir: opts.dataDir,
      host: opts.host,
      port: opts.port,
      storage: opts.storage,
      log: log.child({ component: 'apiserver' }),
      ready: () => manager?.ready() ?? false,
      metrics: [metrics],
      version: opts.version,
    });
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(api.kubeconfig);
    kubeconfigPath = api.kubeconfigPath;
  }
  manager = new Manager({ kubeConfig, log: log.child({ component: 'runtime' }), metrics });
  const extra = setupControllers(manager, { ...opts, log });
  try {
    await manager.start();
    await ensureDefaultObjects(manager, { ...opts, log });
  } catch (err) {
    await manager.stop().catch(() => undefined);
    await api?.close();
    throw err;
  }
  log.info('ferry is ready', { kubeconfig: kubeconfigPath, external: !!opts.kubeconfig });
  let stopping: Promise<void> | undefined;
  return {
    api,
    manager,
    kubeConfig,
    kubeconfigPath,
    stop() {
      stopping ??= (async () => {
        log.info('Stopping');
        await manager!.stop();
        await extra.stop();
        await api?.close();
        log.info('Stopped');
      })();
      return stopping;
    },
  };
}
