/**
 * `ferry serve`: starts the daemon in this process, says where it listens, and stops it
 * gracefully on SIGINT or SIGTERM.
 */
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { createLogger, type LogFormat } from '../log.ts';
import { startDaemon } from '../daemon.ts';
import { exposureWarning } from '../apiserver/server.ts';
import { ActivityRegistry } from '../runtime/activity.ts';
import { realClock } from '../util/clock.ts';
import { CliError, dataDir } from './context.ts';
import { ActivityView, StatusLine, statusLineStream } from './progress.ts';

/** ServeOptions are the flags of `ferry serve`, durations already read. */
export interface ServeOptions {
  dataDir?: string;
  kubeconfig?: string;
  context?: string;
  host: string;
  /** port as given (flag or $FERRY_PORT); 0 picks a free one. */
  port: string;
  storage: 'sqlite' | 'memory';
  logFormat?: string;
  logLevel: string;
  filewatchQuietMs: string;
  /** filewatchPoll watches every FileWatch by polling instead of kernel events. */
  filewatchPoll?: boolean;
  /** keepImages as given: how many builds of each image keep their tags. */
  keepImages?: string;
  buildTimeoutMs: number;
  execTimeoutMs: number;
  clusterKubeconfig?: string;
  healthAddr?: string;
  /** dashboardPort: a port, 0 (no dashboard) or auto (a free one). */
  dashboardPort: string;
  /** dashboardPortSource is commander's source of --dashboard-port: 'default' lets the dashboard take a free port when its own is taken. */
  dashboardPortSource?: string;
  version: string;
  out: (line: string) => void;
}

/**
 * heldLog is a log stream that holds what is written until release, then writes it (and all
 * later lines) to `write`: the daemon's start is logged below the banner, not above it.
 */
function heldLog(write: (text: string) => void): { stream: Writable; release(): void } {
  let held: string[] | undefined = [];
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      if (held) held.push(text);
      else write(text);
      callback();
    },
  });
  const release = () => {
    const lines = held ?? [];
    held = undefined;
    for (const text of lines) write(text);
  };
  return { stream, release };
}

/** serve runs the daemon until a signal stops it. */
export async function serve(o: ServeOptions): Promise<void> {
  const port = Number(o.port);
  if (o.port.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be a port number, got ${o.port}`);
  let dashboard: { port: number; fallback: boolean } | undefined;
  if (o.dashboardPort === 'auto') dashboard = { port: 0, fallback: false };
  else {
    const p = Number(o.dashboardPort);
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new CliError(`--dashboard-port must be a port number, 0 or auto, got ${o.dashboardPort}`);
    if (p !== 0) dashboard = { port: p, fallback: o.dashboardPortSource === 'default' };
  }
  const filewatchQuietMs = Number(o.filewatchQuietMs);
  if (o.filewatchQuietMs.trim() === '' || !(filewatchQuietMs >= 0)) throw new CliError(`--filewatch-quiet-ms must be a number of milliseconds, got "${o.filewatchQuietMs}"`);
  if (o.kubeconfig && !fs.existsSync(o.kubeconfig)) throw new CliError(`cannot read kubeconfig ${o.kubeconfig}: no such file`);
  let keepImages: number | undefined;
  if (o.keepImages !== undefined) {
    if (!/^\d+$/.test(o.keepImages.trim())) throw new CliError(`--keep-images must be a whole number (0 keeps all), got "${o.keepImages}"`);
    keepImages = Number(o.keepImages);
  }
  // Long work (builds, pushes, applies, Compose ups) shows in a status line below the log on a
  // terminal, and as plain log lines elsewhere (or with JSON logs).
  const format = (o.logFormat as LogFormat | undefined) ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const statusLine = process.stderr.isTTY && format !== 'json' ? new StatusLine((t) => process.stderr.write(t), () => process.stderr.columns) : undefined;
  const logStream = statusLine ? statusLineStream(statusLine) : process.stderr;
  // The banner comes first: what the daemon logs while it starts waits below it.
  const held = heldLog((text) => logStream.write(text));
  const log = createLogger({ format, level: o.logLevel, stream: held.stream });
  const out = statusLine ? (line: string) => statusLine.above(() => o.out(line)) : o.out;
  if (o.clusterKubeconfig && !fs.existsSync(o.clusterKubeconfig)) {
    // Read at each use, so a cluster made later is found; a typo would otherwise go unnoticed.
    log.warn('The dev cluster\'s kubeconfig does not exist: Cluster default appears once it does', { clusterKubeconfig: o.clusterKubeconfig });
  }
  const activity = new ActivityRegistry();
  const view = new ActivityView({ activity, clock: realClock, statusLine, log: log.child({ component: 'progress' }) });
  view.start();
  const daemon = await startDaemon({
    activity,
    dashboard,
    dataDir: dataDir(o.dataDir),
    host: o.host,
    port,
    storage: o.storage,
    log,
    kubeconfig: o.kubeconfig,
    context: o.context,
    filewatchQuietMs,
    filewatchPoll: !!o.filewatchPoll,
    keepImages,
    buildTimeoutMs: o.buildTimeoutMs,
    execTimeoutMs: o.execTimeoutMs,
    clusterKubeconfig: o.clusterKubeconfig,
    healthAddr: o.healthAddr,
    cwd: process.cwd(),
    version: o.version,
  }).catch((err: unknown) => {
    // A start that fails shows what was logged before the error.
    held.release();
    // The API's port only: the dashboard says for itself when its port is taken.
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && (err as { port?: number }).port === port) {
      throw new CliError(
        `ferry cannot listen on ${o.host}:${port}: the port is in use (another ferry daemon?). ` +
          'Stop it, or choose another port with `ferry serve --port N` (or $FERRY_PORT); `--port 0` picks a free one.',
      );
    }
    view.stop();
    throw err;
  });
  if (daemon.api) {
    out(`ferry ${o.version} is serving at ${daemon.api.urls.join(', ')}\nkubeconfig: ${daemon.kubeconfigPath}\n  kubectl --kubeconfig ${daemon.kubeconfigPath} get liveupdates`);
    if (daemon.api.exposed) {
      process.stderr.write(`\nWARNING: ferry is listening beyond this machine (--host ${o.host}): ${exposureWarning}.\n\n`);
    }
  } else out(`ferry ${o.version} is running its controllers against ${daemon.kubeConfig.getCurrentCluster()?.server}`);
  if (daemon.dashboard) out(`dashboard: ${daemon.dashboard.loginUrl()}\n  (a one-time link; \`ferry ui\` prints a new one)`);
  held.release();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('Signal received', { signal });
      daemon.stop().finally(() => view.stop()).then(resolve, (err) => {
        log.error('Stop failed', { error: String(err) });
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
