/**
 * `ferry serve`: starts the daemon in this process, says where it listens, and stops it
 * gracefully on SIGINT or SIGTERM.
 */
import { createLogger, type LogFormat } from '../log.ts';
import { startDaemon } from '../daemon.ts';
import { exposureWarning } from '../apiserver/server.ts';
import { CliError, dataDir } from './context.ts';

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
  buildTimeoutMs: number;
  execTimeoutMs: number;
  clusterKubeconfig?: string;
  healthAddr?: string;
  version: string;
  out: (line: string) => void;
}

/** serve runs the daemon until a signal stops it. */
export async function serve(o: ServeOptions): Promise<void> {
  const port = Number(o.port);
  if (o.port.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be a port number, got ${o.port}`);
  const log = createLogger({ format: o.logFormat as LogFormat | undefined, level: o.logLevel });
  const daemon = await startDaemon({
    dataDir: dataDir(o.dataDir),
    host: o.host,
    port,
    storage: o.storage,
    log,
    kubeconfig: o.kubeconfig,
    context: o.context,
    filewatchQuietMs: Number(o.filewatchQuietMs),
    buildTimeoutMs: o.buildTimeoutMs,
    execTimeoutMs: o.execTimeoutMs,
    clusterKubeconfig: o.clusterKubeconfig,
    healthAddr: o.healthAddr,
    cwd: process.cwd(),
    version: o.version,
  }).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(
        `ferry cannot listen on ${o.host}:${port}: the port is in use (another ferry daemon?). ` +
          'Stop it, or choose another port with `ferry serve --port N` (or $FERRY_PORT); `--port 0` picks a free one.',
      );
    }
    throw err;
  });
  if (daemon.api) {
    o.out(`ferry ${o.version} is serving at ${daemon.api.urls.join(', ')}\nkubeconfig: ${daemon.kubeconfigPath}\n  kubectl --kubeconfig ${daemon.kubeconfigPath} get liveupdates`);
    if (daemon.api.exposed) {
      process.stderr.write(`\nWARNING: ferry is listening beyond this machine (--host ${o.host}): ${exposureWarning}.\n\n`);
    }
  } else o.out(`ferry ${o.version} is running its controllers against ${daemon.kubeConfig.getCurrentCluster()?.server}`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('Signal received', { signal });
      daemon.stop().then(resolve, (err) => {
        log.error('Stop failed', { error: String(err) });
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
