/**
 * The daemon: the embedded API server (unless an external one is given), the controller
 * manager with every reconciler, and the default objects ferry creates at start.
 * This is the one place that wires the parts together.
 */
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'winston';
import { startApiServer, type ApiServer } from './apiserver/server.ts';
import { writePrivate } from './apiserver/security.ts';
import { Manager } from './runtime/manager.ts';
import { setupControllers, ensureDefaultObjects, type ControllerSettings } from './controllers.ts';
import { apiKubeConfig } from './edges.ts';
import { LogBuffer } from './util/log-buffer.ts';
import { ActivityRegistry, activityPath, activityRoute } from './runtime/activity.ts';
import { logsPath, logsRoute } from './util/log-route.ts';
import { DataDirLock, securePrivateDir } from './data-dir.ts';
import { dashboardFile, startDashboard, type DashboardServer } from './dashboard/server.ts';

export interface DaemonOptions extends ControllerSettings {
  dataDir: string;
  log: Logger;
  host?: string;
  port?: number;
  storage?: 'sqlite' | 'memory';
  /**
   * healthAddr (`host:port`) serves /healthz, /readyz and /metrics over plain HTTP, for probes
   * and scrapers that have no token (e.g. in external mode, where no embedded server runs).
   */
  healthAddr?: string;
  /** kubeconfig of an external API server: no embedded server is started. */
  kubeconfig?: string;
  context?: string;
  version?: string;
  /**
   * dashboard serves the web dashboard on loopback at this port (0: a free one); `fallback`
   * takes a free port when this one is taken. Absent: no dashboard.
   */
  dashboard?: { port: number; fallback?: boolean };
}

export interface Daemon {
  api?: ApiServer;
  /** logs holds build, live update and command output per resource. */
  logs: LogBuffer;
  /** activity is the long work (builds, applies, Compose ups) running now. */
  activity: ActivityRegistry;
  manager: Manager;
  kubeConfig: KubeConfig;
  /** kubeconfigPath clients use: the embedded server's, or the external one given. */
  kubeconfigPath: string;
  /** dashboard is the web dashboard, when asked for. */
  dashboard?: DashboardServer;
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
  let lock: DataDirLock | undefined;
  const logs = opts.logs ?? new LogBuffer();
  const activity = opts.activity ?? new ActivityRegistry();
  if (opts.kubeconfig) {
    kubeConfig = apiKubeConfig({ kubeconfig: opts.kubeconfig, context: opts.context });
    kubeconfigPath = opts.kubeconfig;
  } else {
    // One daemon per data directory: a second would run controllers over the same objects
    // and overwrite the first one's kubeconfig.
    securePrivateDir(opts.dataDir, log);
    lock = DataDirLock.acquire(opts.dataDir);
    api = await startApiServer({
      dataDir: opts.dataDir,
      host: opts.host,
      port: opts.port,
      storage: opts.storage,
      log: log.child({ component: 'apiserver' }),
      ready: () => manager?.ready() ?? false,
      metrics: [metrics],
      version: opts.version,
      routes: { [logsPath]: logsRoute(logs), [activityPath]: activityRoute(activity) },
      // The daemon writes the kubeconfig itself and keeps it after stopping (see below).
      writeKubeconfig: false,
    }).catch((err: unknown) => {
      lock!.release();
      throw err;
    });
    lock.announce(api.url);
    // The kubeconfig stays after a stop: with the default port, and the CA and token kept in
    // the data directory, it is valid again after the next start, so kubectl and contexts merged
    // from it (`ferry kubeconfig --merge`) keep working across restarts.
    writePrivate(api.kubeconfigPath, api.kubeconfig);
    kubeConfig = apiKubeConfig({ kubeconfigText: api.kubeconfig });
    kubeconfigPath = api.kubeconfigPath;
  }
  manager = new Manager({ kubeConfig, log: log.child({ component: 'runtime' }), metrics });
  const extra = setupControllers(manager, { ...opts, log, logs, activity });
  try {
    await manager.start();
    await ensureDefaultObjects(manager, { ...opts, log }, extra.edges);
  } catch (err) {
    await manager.stop().catch(() => undefined);
    await api?.close();
    lock?.release();
    throw err;
  }
  let dashboard: DashboardServer | undefined;
  if (opts.dashboard) {
    try {
      dashboard = await startDashboard({
        cache: manager.cache,
        client: manager.client,
        logs,
        log: log.child({ component: 'dashboard' }),
        port: opts.dashboard.port,
        fallback: opts.dashboard.fallback,
        infoFile: path.join(opts.dataDir, dashboardFile),
        cwd: opts.cwd,
      });
    } catch (err) {
      await manager.stop().catch(() => undefined);
      await extra.stop();
      await api?.close();
      lock?.release();
      throw err;
    }
  }
  const health = opts.healthAddr ? await serveHealth(opts.healthAddr, manager, metrics) : undefined;
  if (health) log.info('Health endpoints listening', { address: health.address });
  log.debug('ferry is ready', { kubeconfig: kubeconfigPath, external: !!opts.kubeconfig });
  let stopping: Promise<void> | undefined;
  return {
    api,
    logs,
    activity,
    manager,
    kubeConfig,
    kubeconfigPath,
    dashboard,
    stop() {
      stopping ??= (async () => {
        log.info('Stopping');
        await dashboard?.close();
        await manager!.stop();
        await extra.stop();
        await health?.close();
        await api?.close();
        lock?.release();
        log.info('Stopped');
      })();
      return stopping;
    },
  };
}

/** serveHealth answers /healthz, /readyz and /metrics on a plain HTTP listener. */
async function serveHealth(addr: string, manager: Manager, metrics: Registry): Promise<{ address: string; close(): Promise<void> }> {
  const m = /^(.*):(\d+)$/.exec(addr);
  if (!m) throw new Error(`--health-addr must be host:port, got "${addr}"`);
  const server = http.createServer(async (req, res) => {
    const p = (req.url ?? '/').split('?')[0];
    if (p === '/healthz' || p === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    } else if (p === '/readyz') {
      const ok = manager.ready();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok' : 'not ready');
    } else if (p === '/metrics') {
      res.writeHead(200, { 'Content-Type': metrics.contentType }).end(await metrics.metrics());
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), m[1] || '127.0.0.1', resolve);
  });
  const a = server.address() as AddressInfo;
  return {
    address: `${a.address}:${a.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
