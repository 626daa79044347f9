/**
 * The embedded API server: a Kubernetes-compatible REST server for tilt.dev/v1alpha1
 * over HTTPS with a bearer token, backed by the ObjectStore. kubectl and client-node
 * talk to it as they talk to a kube-apiserver.
 */
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'winston';
import type { Registry } from 'prom-client';
import YAML from 'yaml';
import { kindByPlural } from '../apis/registry.ts';
import { apiVersion, type KubeObject } from '../apis/meta.ts';
import type { KindDef } from '../apis/kind.ts';
import { ApiError, badRequest, expired, forbidden, internalError, invalid, methodNotAllowed, notAcceptable, pathNotFound, tooLarge, unauthorized } from './errors.ts';
import { parseFieldSelector, parseLabelSelector, type Matcher } from './selectors.ts';
import { MemoryStorage, SqliteStorage } from './storage.ts';
import { ObjectStore, encode } from './store.ts';
import { Resources, fieldValidationModes, type DeleteOptions, type FieldValidation, type WriteOptions } from './rest.ts';
import { patchTypeOf } from './patch.ts';
import { tableRequest, toTable } from './table.ts';
import { Watch } from './watch.ts';
import { GarbageCollector } from './gc.ts';
import { ensureCredentials, checkToken, kubeconfigYAML, writePrivate } from './security.ts';
import * as discovery from './discovery.ts';
import { openAPIV2ETag, openAPIV2Form, openAPIV2JSON, openAPIV2Protobuf, openAPIV2ProtobufType } from './openapi-v2.ts';

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
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>>;
  /** maxWatches is how many watches may be open at once; more get 429. Default 2,000. */
  maxWatches?: number;
  /** writeKubeconfig: write `<dataDir>/kubeconfig` once the server answers. Default true. */
  writeKubeconfig?: boolean;
  version?: string;
}

export interface ApiServer {
  url: string;
  port: number;
  token: string;
  caCert: string;
  kubeconfig: string;
  kubeconfigPath: string;
  store: ObjectStore;
  resources: Resources;
  close(): Promise<void>;
}

const prefix = `/apis/${apiVersion}`;
const healthPaths = new Set(['/healthz', '/livez', '/readyz']);

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const log = opts.log;
  const host = opts.host ?? '127.0.0.1';
  const maxBody = opts.maxBodyBytes ?? 3 * 1024 * 1024;
  const creds = await ensureCredentials(opts.dataDir, [host].filter((h) => h !== '0.0.0.0' && h !== '::'));
  const storage = opts.storage === 'memory' ? new MemoryStorage() : new SqliteStorage(opts.dataDir);
  const store = new ObjectStore({
    storage,
    historySize: opts.historySize,
    onSubscriberError: (err, ev) => log.error('A change subscriber failed', { resource: ev.resource, name: ev.object.metadata.name, error: (err as Error).stack ?? String(err) }),
  });
  const resources = new Resources({ store });
  const gc = new GarbageCollector({ store, resources, log });
  gc.start();
  const watches = new Set<Watch>();
  let port = 0;
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    try {
      if (healthPaths.has(url.pathname)) return health(url.pathname, res);
      if (req.headers.origin !== undefined || req.method === 'OPTIONS') {
        throw forbidden('requests from web browsers are refused: this API runs commands on this machine');
      }
      if (loopback && !hostAllowed(req.headers.host, port)) throw forbidden(`host ${req.headers.host ?? ''} is not allowed`);
      if (!checkToken(req.headers.authorization, creds.token)) throw unauthorized();
      await route(req, res, url);
    } catch (err) {
      if (!(err instanceof ApiError)) log.error('Request failed', { method: req.method, path: url.pathname, error: (err as Error).stack });
      const apiErr = err instanceof ApiError ? err : internalError(err);
      if (res.headersSent) {
        res.end();
        return;
      }
      // The rest of a refused body is not read: the connection cannot be reused.
      if (apiErr.code === 413) res.setHeader('Connection', 'close');
      sendJSON(res, apiErr.code, apiErr.toStatus(), false);
    }
  };

  function health(p: string, res: ServerResponse) {
    const ok = p !== '/readyz' || (opts.ready?.() ?? true);
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(ok ? 'ok' : 'not ready');
  }

  /** settled waits until no change is pending, so a read sees committed state only. */
  async function settled() {
    while (store.dirty) await store.committed().catch(() => undefined);
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL) {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const pretty = url.searchParams.get('pretty') === 'true';
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      await settled();
      switch (p) {
        case '/version':
          return sendJSON(res, 200, discovery.versionInfo(opts.version ?? '0.0.0'), pretty);
        case '/apis':
          return sendJSON(res, 200, discovery.apiGroupList, pretty);
        case '/apis/tilt.dev':
          return sendJSON(res, 200, discovery.apiGroup, pretty);
        case prefix:
          return sendJSON(res, 200, discovery.apiResourceList, pretty);
        case '/openapi/v2':
          return openAPIV2(req, res);
        case '/openapi/v3':
          return sendJSON(res, 200, discovery.openAPIV3Root, pretty);
        case `/openapi/v3${prefix}`: {
          const hash = url.searchParams.get('hash');
          if (hash && hash !== discovery.openAPIV3Hash) {
            res.writeHead(301, { Location: `/openapi/v3${prefix}?hash=${discovery.openAPIV3Hash}` });
            return res.end();
          }
          const headers: Record<string, string> = { 'Content-Type': 'application/json', Etag: `"${discovery.openAPIV3Hash}"` };
          if (hash) {
            headers['Cache-Control'] = 'public, immutable';
            headers.Expires = new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString();
          }
          res.writeHead(200, headers);
          return res.end(discovery.openAPIV3Document);
        }
        case '/metrics': {
          const regs = opts.metrics ?? [];
          const text = (await Promise.all(regs.map((r) => r.metrics()))).join('\n');
          res.writeHead(200, { 'Content-Type': regs[0]?.contentType ?? 'text/plain; version=0.0.4' });
          return res.end(text);
        }
      }
    }
    const extra = opts.routes?.[p];
    if (extra && method === 'GET') return extra(req, res, url);
    if (!p.startsWith(prefix + '/')) throw pathNotFound();
    const parts = p.slice(prefix.length + 1).split('/').map(decodeURIComponent);
    const def = kindByPlural(parts[0]);
    if (!def || parts.length > 3) throw pathNotFound();
    const name = parts[1];
    const sub = parts[2];
    if (sub !== undefined && (sub !== 'status' || !def.hasStatus)) throw pathNotFound();
    if (name === undefined) return collection(req, res, url, def, pretty);
    return item(req, res, url, def, name, sub as 'status' | undefined, pretty);
  }

  async function openAPIV2(req: IncomingMessage, res: ServerResponse) {
    const form = openAPIV2Form(req.headers.accept);
    if (!form) throw notAcceptable(`only application/json and ${openAPIV2ProtobufType} are served`);
    const headers = { 'Content-Type': form === 'json' ? 'application/json' : openAPIV2ProtobufType, Etag: openAPIV2ETag, Vary: 'Accept' };
    if (req.headers['if-none-match'] === openAPIV2ETag) {
      res.writeHead(304, headers);
      return res.end();
    }
    const body = form === 'json' ? openAPIV2JSON : await openAPIV2Protobuf();
    res.writeHead(200, headers);
    res.end(body);
  }

  async function collection(req: IncomingMessage, res: ServerResponse, url: URL, def: KindDef, pretty: boolean) {
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      const isWatch = q.get('watch') === 'true' || q.get('watch') === '1';
      const match = matcher(q);
      validateListOptions(q, isWatch);
      if (isWatch) return watch(req, res, def, q, match);
      return list(req, res, def, q, match, pretty);
    }
    if (method === 'POST') {
      const body = await readBody(req);
      const result = resources.create(def, body, writeOptions(q, req));
      await store.committed();
      return sendJSON(res, 201, result.object, pretty, result.warnings);
    }
    if (method === 'DELETE') {
      const match = matcher(q);
      const delOpts = await deleteOptions(req, q);
      const items: KubeObject[] = [];
      for (const obj of resources.list(def, match).items) {
        try {
          items.push(resources.delete(def, obj.metadata.name!, delOpts).object);
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) throw err;
        }
      }
      await store.committed();
      return sendList(res, def, { resourceVersion: String(store.resourceVersion) }, items, pretty);
    }
    throw methodNotAllowed(method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch' : method.toLowerCase(), def.plural);
  }

  function list(req: IncomingMessage, res: ServerResponse, def: KindDef, q: URLSearchParams, match: Matcher, pretty: boolean) {
    const rvParam = q.get('resourceVersion');
    const rvMatch = q.get('resourceVersionMatch');
    const limit = Number(q.get('limit') ?? 0);
    const cont = q.get('continue');
    let atRv: number | undefined;
    let start = '';
    if (cont) {
      const token = decodeContinue(cont);
      atRv = token.rv;
      start = token.start;
    } else if (rvParam && rvParam !== '0') {
      const rv = parseRv(rvParam);
      if (rvMatch === 'Exact') atRv = rv;
      else if (rv > store.resourceVersion) throw expired(`too large resource version: ${rv}, current: ${store.resourceVersion}`);
    }
    let items: KubeObject[];
    let rv: number;
    try {
      ({ items, resourceVersion: rv } = resources.list(def, match, atRv));
    } catch (err) {
      if (cont && err instanceof ApiError && err.code === 410) {
        throw expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      }
      throw err;
    }
    if (start) items = items.filter((o) => o.metadata.name! > start);
    const meta: { resourceVersion: string; continue?: string; remainingItemCount?: number } = { resourceVersion: String(rv) };
    if (limit > 0 && items.length > limit) {
      meta.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
      meta.continue = encodeContinue(rv, items[items.length - 1].metadata.name!);
    }
    const table = tableRequest(req.headers.accept, q.get('includeObject'));
    if (table) return sendJSON(res, 200, toTable(def, items, table, meta), pretty);
    return sendList(res, def, meta, items, pretty);
  }

  function watch(req: IncomingMessage, res: ServerResponse, def: KindDef, q: URLSearchParams, match: Matcher) {
    if (watches.size >= (opts.maxWatches ?? 2000)) {
      throw new ApiError(429, 'TooManyRequests', `too many open watches (${watches.size}); close some and retry`, { retryAfterSeconds: 1 });
    }
    const rvParam = q.get('resourceVersion');
    const timeout = q.get('timeoutSeconds');
    const w = new Watch(res, {
      store,
      def,
      match,
      sinceRv: rvParam ? parseRv(rvParam) : undefined,
      table: tableRequest(req.headers.accept, q.get('includeObject')),
      bookmarks: q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1',
      bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
      timeoutMs: timeout ? Math.max(0, Number(timeout)) * 1000 || undefined : undefined,
    });
    watches.add(w);
    w.start(() => watches.delete(w));
  }

  async function item(req: IncomingMessage, res: ServerResponse, url: URL, def: KindDef, name: string, sub: 'status' | undefined, pretty: boolean) {
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const resourceName = sub ? `${def.plural}/${sub}` : def.plural;
    switch (method) {
      case 'GET': {
        const obj = resources.get(def, name);
        const table = tableRequest(req.headers.accept, q.get('includeObject'));
        if (table) return sendJSON(res, 200, toTable(def, [obj], table, { resourceVersion: obj.metadata.resourceVersion }), pretty);
        return sendJSON(res, 200, obj, pretty);
      }
      case 'PUT': {
        const body = await readBody(req);
        const result = resources.update(def, name, body, writeOptions(q, req), sub);
        await store.committed();
        return sendJSON(res, 200, result.object, pretty, result.warnings);
      }
      case 'PATCH': {
        const type = patchTypeOf(req.headers['content-type']);
        const raw = await readRaw(req);
        const result = resources.patch(def, name, type, raw, writeOptions(q, req), sub);
        await store.committed();
        return sendJSON(res, result.created ? 201 : 200, result.object, pretty, result.warnings);
      }
      case 'DELETE': {
        if (sub) throw methodNotAllowed('delete', resourceName);
        const delOpts = await deleteOptions(req, q);
        const result = resources.delete(def, name, delOpts);
        await store.committed();
        const accepted = !result.deleted && delOpts.orphanDependents === false;
        return sendJSON(res, accepted ? 202 : 200, result.object, pretty);
      }
      default:
        throw methodNotAllowed(method === 'POST' ? 'create' : method.toLowerCase(), resourceName);
    }
  }

  function writeOptions(q: URLSearchParams, req: IncomingMessage): WriteOptions {
    const dryRun = q.getAll('dryRun');
    for (const d of dryRun) if (d !== 'All') throw invalid('CreateOptions.meta.k8s.io', '', [{ type: 'NotSupported', field: 'dryRun', value: d, supported: ['All'] }], '');
    const fv = q.get('fieldValidation');
    if (fv && !(fieldValidationModes as readonly string[]).includes(fv)) {
      throw badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`);
    }
    const force = q.get('force');
    return { dryRun: dryRun.length > 0, fieldValidation: (fv as FieldValidation) || undefined, fieldManager: q.get('fieldManager') ?? undefined, userAgent: req.headers['user-agent'], force: force === 'true' || force === '1' };
  }

  async function deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
    const raw = await readRaw(req);
    let body: DeleteOptions = {};
    if (raw.trim()) {
      try {
        body = JSON.parse(raw);
      } catch (err) {
        throw badRequest(`error decoding DeleteOptions: ${(err as Error).message}`);
      }
    }
    const policy = q.get('propagationPolicy');
    if (policy) body.propagationPolicy = policy as DeleteOptions['propagationPolicy'];
    const orphan = q.get('orphanDependents');
    if (orphan) body.orphanDependents = orphan === 'true';
    if (q.getAll('dryRun').includes('All') || (body as { dryRun?: unknown }).dryRun) body.dryRun = true;
    return body;
  }

  async function readRaw(req: IncomingMessage): Promise<string> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBody) {
      req.resume();
      throw tooLarge(maxBody);
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBody) {
          // Drain the rest so the answer can still be read on this connection.
          req.off('data', onData).off('end', onEnd).resume();
          reject(tooLarge(maxBody));
        } else chunks.push(chunk);
      };
      const onEnd = () => resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
      req.on('data', onData).on('end', onEnd).on('error', reject);
    });
  }

  async function readBody(req: IncomingMessage): Promise<unknown> {
    const raw = await readRaw(req);
    const type = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim();
    try {
      if (type === 'application/yaml' || type === 'application/x-yaml') return YAML.parse(raw);
      return JSON.parse(raw);
    } catch (err) {
      throw badRequest(`the body of the request could not be decoded: ${(err as Error).message}`);
    }
  }

  const server = https.createServer({ key: creds.serverKey, cert: creds.serverCert, minVersion: 'TLSv1.2' }, (req, res) => {
    handler(req, res).catch((err) => log.error('Request handler crashed', { error: (err as Error).stack }));
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 0;
  server.timeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `https://${urlHost}:${port}`;
  const kubeconfig = kubeconfigYAML(url, creds.caCert, creds.token);
  const kubeconfigPath = path.join(opts.dataDir, 'kubeconfig');
  if (opts.writeKubeconfig !== false) writePrivate(kubeconfigPath, kubeconfig);
  log.info('API server listening', { url, storage: opts.storage ?? 'sqlite', kubeconfig: kubeconfigPath });

  let closing: Promise<void> | undefined;
  return {
    url,
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
        for (const w of watches) w.end();
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

function hostAllowed(hostHeader: string | undefined, port: number): boolean {
  if (!hostHeader) return true;
  const allowed = [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost', '127.0.0.1', '[::1]'];
  return allowed.includes(hostHeader.toLowerCase());
}

function sendJSON(res: ServerResponse, code: number, body: object, pretty: boolean, warnings: string[] = []) {
  send(res, code, pretty ? JSON.stringify(body, null, 2) + '\n' : encode(body), warnings);
}

function send(res: ServerResponse, code: number, json: string, warnings: string[] = []) {
  const headers: Record<string, string | string[]> = { 'Content-Type': 'application/json' };
  if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(json);
}

/** sendList answers with a list of stored objects, reusing each one's stored encoding. */
function sendList(res: ServerResponse, def: KindDef, meta: object, items: KubeObject[], pretty: boolean) {
  const list = { apiVersion, kind: `${def.kind}List`, metadata: meta, items };
  if (pretty) return sendJSON(res, 200, list, pretty);
  const head = JSON.stringify({ ...list, items: [] }).slice(0, -3);
  send(res, 200, `${head}[${items.map(encode).join(',')}]}`);
}

function matcher(q: URLSearchParams): Matcher {
  const labels = parseLabelSelector(q.get('labelSelector'));
  const fields = parseFieldSelector(q.get('fieldSelector'));
  return (o) => labels(o) && fields(o);
}

function parseRv(s: string): number {
  if (!/^\d+$/.test(s)) throw badRequest(`invalid resource version: "${s}"`);
  return Number(s);
}

function listOptionsInvalid(field: string, type: 'Forbidden' | 'NotSupported', detail: string, value?: string) {
  return invalid('ListOptions.meta.k8s.io', '', [{ type, field, detail, value, supported: type === 'NotSupported' ? ['Exact', 'NotOlderThan'] : undefined }], '');
}

function validateListOptions(q: URLSearchParams, isWatch: boolean) {
  const rvMatch = q.get('resourceVersionMatch');
  const rv = q.get('resourceVersion');
  if (q.has('sendInitialEvents')) {
    throw listOptionsInvalid('sendInitialEvents', 'Forbidden', isWatch ? 'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled' : 'sendInitialEvents is forbidden for list');
  }
  if (!rvMatch) return;
  if (isWatch) return;
  if (rvMatch !== 'Exact' && rvMatch !== 'NotOlderThan') throw listOptionsInvalid('resourceVersionMatch', 'NotSupported', '', rvMatch);
  if (!rv) throw listOptionsInvalid('resourceVersionMatch', 'Forbidden', 'resourceVersionMatch is forbidden unless resourceVersion is provided');
  if (q.get('continue')) throw listOptionsInvalid('resourceVersionMatch', 'Forbidden', 'resourceVersionMatch is forbidden when continue is provided');
  if (rvMatch === 'Exact' && rv === '0') throw listOptionsInvalid('resourceVersionMatch', 'Forbidden', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string') throw new Error('bad token');
    return { rv: t.rv, start: t.start };
  } catch {
    throw badRequest('continue key is not valid: the continue token is malformed');
  }
}
