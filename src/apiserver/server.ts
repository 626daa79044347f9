/**
 * The embedded API server: a Kubernetes-compatible REST server for tilt.dev/v1alpha1
 * over HTTPS with a bearer token, backed by the ObjectStore. kubectl and client-node
 * talk to it as they talk to a kube-apiserver.
 */
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'winston';
import type { Registry } from 'prom-client';
import { MemoryStorage, SqliteStorage } from './storage.ts';
import { ObjectStore } from './store.ts';
import { Resources } from './rest.ts';
import type { Watch } from './watch.ts';
import { GarbageCollector } from './gc.ts';
import { ensureCredentials, hostAllowlist, isLoopbackHost, isWildcardHost, kubeconfigYAML, machineHosts, writePrivate } from './security.ts';
import type { ServerContext } from './handlers.ts';
import { createRouter, type Route } from './router.ts';

export interface ApiServerOptions {
  /** dataDir holds the credentials, the kubeconfig and (with sqlite storage) the objects. */
  dataDir: string;
  /** host to listen on. Default 127.0.0.1: loopback only. */
  host?: string;
  /** port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** storage: 'sqlite' (default, durable) or 'memory'. */
  storage?: 'sqlite' | 'memory';
  log: Logger;
  /** historySize is how many change events watches can resume from. Default 10,000. */
  historySize?: number;
  /** historyBytes bounds the watch history by size (see ObjectStore). Default 64 MiB. */
  historyBytes?: number;
  /** watchMaxBufferedBytes: a watch this far behind is closed (see Watch). Default 16 MiB. */
  watchMaxBufferedBytes?: number;
  /** bookmarkIntervalMs between BOOKMARK events on watches that allow them. Default 60,000. */
  bookmarkIntervalMs?: number;
  /** maxBodyBytes is the largest request body accepted. Default 3 MiB. */
  maxBodyBytes?: number;
  /** ready tells /readyz whether the daemon is ready (e.g. caches synced). Default: always. */
  ready?: () => boolean;
  /** metrics registries served at /metrics. */
  metrics?: Registry[];
  /**
   * routes are extra GET endpoints of the daemon (e.g. `/ferry/v1/logs`), served after the
   * same token check as the API.
   */
  routes?: Record<string, Route>;
  /** maxWatches is how many watches may be open at once; more get 429. Default 2,000. */
  maxWatches?: number;
  /**
   * headersTimeoutMs is how long a client may take to send a request's headers before the
   * connection is closed. Default 32,000 (kube-apiserver's ReadHeaderTimeout).
   */
  headersTimeoutMs?: number;
  /**
   * requestTimeoutMs is how long a client may take to send a whole request, body included:
   * a stalled or trickled upload is answered 408 and closed. Responses are not limited, so
   * watches stay open as long as they like. Default 60,000.
   */
  requestTimeoutMs?: number;
  /** idleTimeoutMs closes a kept-alive connection with no request for this long. Default 90,000. */
  idleTimeoutMs?: number;
  /** writeKubeconfig: write `<dataDir>/kubeconfig` once the server answers. Default true. */
  writeKubeconfig?: boolean;
  version?: string;
}

/** exposureWarning is what a server listening beyond loopback tells its user. */
export const exposureWarning =
  'anyone who can reach these addresses and holds the token can run commands on this machine (builds, execs into containers); listen on 127.0.0.1 unless you mean it';

export interface ApiServer {
  /** url is the address in the kubeconfig: loopback when listening on every interface. */
  url: string;
  /** urls are every address the server answers on. */
  urls: string[];
  /** exposed is true when the server listens beyond loopback. */
  exposed: boolean;
  port: number;
  token: string;
  caCert: string;
  kubeconfig: string;
  kubeconfigPath: string;
  store: ObjectStore;
  resources: Resources;
  close(): Promise<void>;
}

/** startApiServer starts the embedded API server and writes its kubeconfig. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const log = opts.log;
  const host = opts.host ?? '127.0.0.1';
  // Beyond loopback, clients may name the machine by any of its names and addresses: the
  // serving certificate covers them all, and the Host check accepts them.
  const ownHosts = isLoopbackHost(host) ? [] : machineHosts();
  const creds = await ensureCredentials(opts.dataDir, isWildcardHost(host) ? ownHosts : [host, ...ownHosts]);
  const storage = opts.storage === 'memory' ? new MemoryStorage() : new SqliteStorage(opts.dataDir);
  const store = new ObjectStore({
    storage,
    historySize: opts.historySize,
    historyBytes: opts.historyBytes,
    onSubscriberError: (err, ev) => log.error('A change subscriber failed', { resource: ev.resource, name: ev.object.metadata.name, error: (err as Error).stack ?? String(err) }),
  });
  const resources = new Resources({ store });
  const gc = new GarbageCollector({ store, resources, log });
  gc.start();
  const ctx: ServerContext = {
    store,
    resources,
    log,
    watches: new Set<Watch>(),
    maxBodyBytes: opts.maxBodyBytes ?? 3 * 1024 * 1024,
    maxWatches: opts.maxWatches ?? 2000,
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
    watchMaxBufferedBytes: opts.watchMaxBufferedBytes,
    version: opts.version ?? '0.0.0',
    ready: opts.ready ?? (() => true),
    metrics: opts.metrics ?? [],
  };
  const handler = createRouter(ctx, { token: creds.token, hostAllowed: hostAllowlist(host, ownHosts) }, opts.routes);

  const requestTimeout = opts.requestTimeoutMs ?? 60_000;
  const headersTimeout = Math.min(opts.headersTimeoutMs ?? 32_000, requestTimeout);
  const server = https.createServer(
    {
      key: creds.serverKey,
      cert: creds.serverCert,
      minVersion: 'TLSv1.2',
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: opts.idleTimeoutMs ?? 90_000,
      // How often the two timeouts above are checked; at most a quarter of the shorter one.
      connectionsCheckingInterval: Math.max(10, Math.min(30_000, Math.floor(headersTimeout / 4))),
    },
    (req, res) => {
      handler(req, res).catch((err) => log.error('Request handler crashed', { error: (err as Error).stack }));
    },
  );
  // No inactivity timeout on sockets: a watch may be quiet for minutes.
  server.timeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const httpsURL = (h: string) => `https://${h.includes(':') ? `[${h}]` : h}:${port}`;
  // On every interface, the kubeconfig of this machine talks to it over loopback.
  const url = httpsURL(isWildcardHost(host) ? '127.0.0.1' : host);
  const urls = isWildcardHost(host) ? listeningAddresses(host, ownHosts).map(httpsURL) : [url];
  const kubeconfig = kubeconfigYAML(url, creds.caCert, creds.token);
  const kubeconfigPath = path.join(opts.dataDir, 'kubeconfig');
  if (opts.writeKubeconfig !== false) writePrivate(kubeconfigPath, kubeconfig);
  log.debug('API server listening', { url, urls, storage: opts.storage ?? 'sqlite', kubeconfig: kubeconfigPath });
  if (!isLoopbackHost(host)) log.warn('API server reachable beyond this machine', { urls, warning: exposureWarning });

  let closing: Promise<void> | undefined;
  return {
    url,
    urls,
    exposed: !isLoopbackHost(host),
    port,
    token: creds.token,
    caCert: creds.caCert,
    kubeconfig,
    kubeconfigPath,
    store,
    resources,
    close() {
      closing ??= (async () => {
        gc.stop();
        for (const w of ctx.watches) w.end();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        store.close();
        if (opts.writeKubeconfig !== false) {
          try {
            if (fs.readFileSync(kubeconfigPath, 'utf8') === kubeconfig) fs.rmSync(kubeconfigPath);
          } catch {
            // Already gone.
          }
        }
      })();
      return closing;
    },
  };
}

/**
 * listeningAddresses are the addresses a wildcard bind answers on: every IPv4 interface
 * address for 0.0.0.0, and every address but IPv6 link-local ones (which need a zone) for ::.
 */
function listeningAddresses(host: string, ownHosts: string[]): string[] {
  const addrs = ownHosts.filter((h) => net.isIPv4(h) || (host !== '0.0.0.0' && net.isIPv6(h) && !h.startsWith('fe80:')));
  return addrs.sort((a, b) => Number(isLoopbackHost(a)) - Number(isLoopbackHost(b)) || Number(net.isIPv6(a)) - Number(net.isIPv6(b)));
}
