/**
 * The dashboard server: a plain HTTP listener on loopback, next to the API server, that serves
 * the compiled page and its data.
 *
 * - Data comes from the runtime's shared cache (the informers the controllers use, so it works
 *   against an external API server too) and the daemon's LogBuffer; buttons write through the
 *   daemon's own client. The API's bearer token never leaves this process.
 * - One stream per page (`GET /api/events`, server-sent events) carries every resource change and
 *   log line; a reconnect sends Last-Event-ID and gets what it missed (or a fresh snapshot).
 * - Routes: `GET /` (the page; `/?token=` logs in, or just opens the page in a browser that is
 *   logged in already), `GET /assets/*`, `GET /api/events`,
 *   `GET /api/resources/<name>`, `GET /api/logs?resource=<name>`,
 *   `POST /api/resources/<name>/{trigger,disable,enable}`.
 * See auth.ts for who may use it.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Logger } from 'winston';
import type { Cache, Client } from '../runtime/index.ts';
import type { LogBuffer, LogLine } from '../util/log-buffer.ts';
import { errorText } from '../util/errors.ts';
import { allowedHosts, mintToken, newKey, sameOrigin, Sessions } from './auth.ts';
import { DashboardModel, watchedKinds } from './model.ts';
import { setDisabled, trigger } from './actions.ts';
import type { LogCategory, LogEntry, ResourceSummary } from './wire.ts';

/** defaultDashboardPort is where `ferry serve` puts the dashboard (Tilt's is 10350). */
export const defaultDashboardPort = 10352;

/** dashboardFile is the file in the data directory that tells `ferry ui` where the dashboard is. */
export const dashboardFile = 'dashboard.json';

/** DashboardInfo is what dashboard.json holds (mode 0600: the key mints login links). */
export interface DashboardInfo {
  url: string;
  key: string;
  pid: number;
}

export interface DashboardOptions {
  cache: Cache;
  client: Client;
  logs: LogBuffer;
  log: Logger;
  /** port to listen on; 0 picks a free one. */
  port: number;
  /** fallback: when `port` is taken, pick a free one instead of failing (for the default port). */
  fallback?: boolean;
  /** host is the loopback address to listen on. Default 127.0.0.1. */
  host?: string;
  /** infoFile is where to write DashboardInfo (removed on close). */
  infoFile?: string;
  /** assetsDir holds the compiled page. Default: found beside this module (see assetsDir()). */
  assetsDir?: string;
  /** cwd resolves relative LiveUpdate base paths, as the daemon does. */
  cwd?: string;
}

export interface DashboardServer {
  /** url is the dashboard's address, without a token. */
  url: string;
  port: number;
  /** loginUrl mints a one-time login link. */
  loginUrl(): string;
  close(): Promise<void>;
}

/**
 * findAssetsDir finds the compiled page: `dist/dashboard` of the package, from the sources
 * (src/dashboard) or from the compiled code (dist/src/dashboard). Undefined when not built.
 */
export function findAssetsDir(): string | undefined {
  const here = import.meta.dirname;
  for (const dir of [path.resolve(here, '../../dist/dashboard'), path.resolve(here, '../../dashboard')]) {
    if (fs.existsSync(path.join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

const securityHeaders = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
};

/** ringSize is how many resource changes a reconnecting page can catch up on. */
const ringSize = 5000;
/** maxReplayLogs bounds the log lines replayed on a resume. */
const maxReplayLogs = 20_000;
const heartbeatMs = 15_000;

interface StateEvent {
  seq: number;
  type: 'resource' | 'removed';
  data: string;
}

/** category says whether a log line came from a build, a sync or the runtime. */
export function category(source: string): LogCategory {
  const kind = source.split('/')[0];
  if (kind === 'CmdImage') return 'build';
  if (kind === 'LiveUpdate' || kind === 'FileWatch') return 'sync';
  return 'runtime';
}

function entry(l: LogLine): LogEntry {
  return { ...l, category: category(l.source) };
}

/** startDashboard starts the dashboard server and begins following the cache and the logs. */
export async function startDashboard(opts: DashboardOptions): Promise<DashboardServer> {
  const log = opts.log;
  const host = opts.host ?? '127.0.0.1';
  const model = new DashboardModel({ cwd: opts.cwd });
  const key = newKey();
  const clients = new Set<{ res: http.ServerResponse }>();
  const ring: StateEvent[] = [];
  let stateSeq = 0;
  let logSeq = 0;
  let dirty = new Set<string>();
  let pendingLogs: LogEntry[] = [];
  let flushScheduled = false;

  const schedule = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flush);
  };
  function flush(): void {
    flushScheduled = false;
    const names = dirty;
    dirty = new Set();
    let out = '';
    for (const c of model.changed(names)) {
      const ev: StateEvent = c.summary
        ? { seq: ++stateSeq, type: 'resource', data: JSON.stringify(c.summary) }
        : { seq: ++stateSeq, type: 'removed', data: JSON.stringify({ name: c.name }) };
      ring.push(ev);
      out += frame(ev.type, ev.data);
    }
    if (ring.length > ringSize) ring.splice(0, ring.length - ringSize);
    let logOut = '';
    if (pendingLogs.length > 0) {
      logSeq = pendingLogs[pendingLogs.length - 1].seq;
      logOut = frame('log', JSON.stringify(pendingLogs));
      pendingLogs = [];
    }
    if (!out && !logOut) return;
    for (const c of clients) c.res.write(out + logOut);
  }
  const frame = (type: string, data: string) => `id: ${stateSeq}.${logSeq}\nevent: ${type}\ndata: ${data}\n\n`;

  const unsubscribe: Array<() => void> = [];
  for (const kind of watchedKinds) {
    const inf = opts.cache.inform(kind);
    unsubscribe.push(
      inf.onEvent((ev) => {
        for (const r of model.apply(kind, ev.obj, ev.type === 'delete')) dirty.add(r);
        schedule();
      }),
    );
  }
  // The Session summarises targets from the other kinds: apply it last, once they are known.
  const seedOrder = [...watchedKinds.filter((k) => k !== 'Session'), 'Session'];
  await opts.cache.waitForSync();
  for (const kind of seedOrder) for (const o of opts.cache.list(kind)) model.apply(kind, o);
  // What the seed holds goes out in snapshots; later changes are compared with it.
  model.changed(model.names());
  unsubscribe.push(
    opts.logs.subscribe((l) => {
      pendingLogs.push(entry(l));
      schedule();
    }),
  );

  const assets = opts.assetsDir ?? findAssetsDir();
  let sessions!: Sessions;
  let hosts!: Set<string>;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.warn('Dashboard request failed', { url: req.url, error: errorText(err) });
      if (!res.headersSent) sendJson(res, 500, { error: errorText(err) });
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!hosts.has((req.headers.host ?? '').toLowerCase())) {
      return sendText(res, 403, 'This address is not the dashboard\'s: open it at 127.0.0.1 or localhost.');
    }
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const token = url.searchParams.get('token');
    if (req.method === 'GET' && url.pathname === '/' && token !== null) {
      const id = sessions.login(token);
      // A browser that is logged in already (the printed link clicked again) just gets the page.
      if (!id && !sessions.authenticated(req)) return sendText(res, 401, 'This login link is not valid or was used already. Run `ferry ui` for a new one.');
      res.writeHead(303, { ...securityHeaders, ...(id ? { 'Set-Cookie': sessions.cookie(id) } : {}), Location: '/' }).end();
      return;
    }
    if (!sessions.authenticated(req)) {
      return sendText(res, 401, 'Not logged in. Open the link `ferry serve` printed, or run `ferry ui` for a new one.');
    }
    if (req.method === 'POST') {
      if (!sameOrigin(req, hosts)) return sendJson(res, 403, { error: 'cross-origin request refused' });
      req.resume();
      const m = /^\/api\/resources\/([^/]+)\/(trigger|disable|enable)$/.exec(url.pathname);
      if (!m) return sendJson(res, 404, { error: 'not found' });
      const name = decodeURIComponent(m[1]);
      if (!model.summary(name)) return sendJson(res, 404, { error: `resource ${name} not found` });
      if (m[2] === 'trigger') {
        const queued = await trigger(opts.client, name);
        log.info('Dashboard triggered a resource', { resource: name, queued });
        return sendJson(res, 200, { queued });
      }
      await setDisabled(opts.client, name, model.objectsOf(name), m[2] === 'disable');
      log.info('Dashboard changed a resource', { resource: name, action: m[2] });
      return sendJson(res, 200, { disabled: m[2] === 'disable' });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
    if (url.pathname === '/api/events') return stream(req, res, url);
    if (url.pathname === '/api/logs') {
      const resource = url.searchParams.get('resource') ?? undefined;
      return sendJson(res, 200, opts.logs.lines({ resource }).slice(-maxReplayLogs).map(entry));
    }
    const rm = /^\/api\/resources\/([^/]+)$/.exec(url.pathname);
    if (rm) {
      const detail = model.detail(decodeURIComponent(rm[1]));
      return detail ? sendJson(res, 200, detail) : sendJson(res, 404, { error: 'resource not found' });
    }
    if (url.pathname.startsWith('/api/')) return sendJson(res, 404, { error: 'not found' });
    return serveAsset(res, url.pathname);
  }

  function stream(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    res.writeHead(200, { ...securityHeaders, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    res.socket?.setNoDelay(true);
    const last = String(req.headers['last-event-id'] ?? url.searchParams.get('lastEventId') ?? '');
    const m = /^(\d+)\.(\d+)$/.exec(last);
    let out = 'retry: 1000\n\n';
    const since = m ? Number(m[1]) : -1;
    const oldest = ring.length > 0 ? ring[0].seq : stateSeq + 1;
    if (m && since <= stateSeq && since >= oldest - 1) {
      for (const ev of ring) if (ev.seq > since) out += frame(ev.type, ev.data);
    } else {
      out += frame('snapshot', JSON.stringify({ resources: model.all() satisfies ResourceSummary[] }));
    }
    if (m) {
      const missed = opts.logs.lines({ afterSeq: Number(m[2]) }).filter((l) => l.seq <= logSeq).slice(-maxReplayLogs);
      if (missed.length > 0) out += frame('log', JSON.stringify(missed.map(entry)));
    }
    res.write(out);
    const client = { res };
    clients.add(client);
    const beat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
    const done = () => {
      clearInterval(beat);
      clients.delete(client);
    };
    req.on('close', done);
    res.on('error', done);
  }

  function serveAsset(res: http.ServerResponse, pathname: string): void {
    if (!assets) return sendText(res, 503, 'The dashboard page is not built: run `npm run build` in the ferry checkout.');
    let rel = pathname === '/' || !pathname.startsWith('/assets/') ? 'index.html' : decodeURIComponent(pathname.slice(1));
    if (pathname === '/favicon.svg') rel = 'favicon.svg';
    const file = path.resolve(assets, rel);
    if (!file.startsWith(assets + path.sep)) return sendText(res, 404, 'not found');
    fs.readFile(file, (err, body) => {
      if (err) return sendText(res, 404, 'not found');
      const hashed = rel.startsWith('assets/');
      res.writeHead(200, {
        ...securityHeaders,
        'Content-Type': contentTypes[path.extname(file)] ?? 'application/octet-stream',
        ...(hashed ? { 'Cache-Control': 'private, max-age=31536000, immutable' } : {}),
      });
      res.end(body);
    });
  }

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
  try {
    await listen(opts.port);
  } catch (err) {
    if (!(opts.fallback && (err as NodeJS.ErrnoException).code === 'EADDRINUSE')) {
      for (const u of unsubscribe) u();
      throw new Error(`the dashboard cannot listen on ${host}:${opts.port}: ${errorText(err)}`, { cause: err });
    }
    log.warn('Dashboard port is taken; using a free one', { port: opts.port });
    await listen(0);
  }
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(host, port);
  sessions = new Sessions(key, port);
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  if (opts.infoFile) {
    const info: DashboardInfo = { url: base, key, pid: process.pid };
    fs.mkdirSync(path.dirname(opts.infoFile), { recursive: true, mode: 0o700 });
    fs.writeFileSync(opts.infoFile, JSON.stringify(info) + '\n', { mode: 0o600 });
    fs.chmodSync(opts.infoFile, 0o600);
  }
  if (!assets) log.warn('Dashboard page is not built; run npm run build', {});
  let closing: Promise<void> | undefined;
  return {
    url: base,
    port,
    loginUrl: () => `${base}?token=${mintToken(key)}`,
    close() {
      closing ??= (async () => {
        for (const u of unsubscribe) u();
        for (const c of clients) c.res.end();
        clients.clear();
        if (opts.infoFile) {
          try {
            const info = JSON.parse(fs.readFileSync(opts.infoFile, 'utf8')) as DashboardInfo;
            if (info.key === key) fs.rmSync(opts.infoFile, { force: true });
          } catch {
            // Gone already.
          }
        }
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}

function sendJson(res: http.ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { ...securityHeaders, 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function sendText(res: http.ServerResponse, code: number, text: string): void {
  res.writeHead(code, { ...securityHeaders, 'Content-Type': 'text/plain; charset=utf-8' }).end(text + '\n');
}

/** readDashboardInfo reads dashboard.json; undefined when missing or unreadable. */
export function readDashboardInfo(file: string): DashboardInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as DashboardInfo;
    return typeof info.url === 'string' && typeof info.key === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

export { mintToken };
