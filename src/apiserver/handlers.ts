/**
 * The handlers of the REST API: discovery and OpenAPI documents, and the collection and
 * item endpoints of every kind. Each takes the ServerContext and one parsed request; none
 * keeps state of its own, so each can be read and tested alone.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'winston';
import type { Registry } from 'prom-client';
import { apiVersion, type KubeObject } from '../apis/meta.ts';
import type { KindDef } from '../apis/kind.ts';
import { ApiError, badRequest, expired, methodNotAllowed, notAcceptable } from './errors.ts';
import type { Matcher } from './selectors.ts';
import type { ObjectStore } from './store.ts';
import type { Resources } from './rest.ts';
import { patchTypeOf } from './patch.ts';
import { tableRequest, toTable } from './table.ts';
import { Watch } from './watch.ts';
import * as discovery from './discovery.ts';
import { openAPIV2ETag, openAPIV2Form, openAPIV2JSON, openAPIV2Protobuf, openAPIV2ProtobufType } from './openapi-v2.ts';
import { readBody, readDeleteOptions, readRaw } from './decode.ts';
import { decodeContinue, encodeContinue, matcher, parseRv, queryBool, queryInt64, validateListOptions, writeOptions } from './query.ts';
import { sendJSON, sendList } from './respond.ts';

/** ServerContext is what every handler shares: the store, the REST semantics and the limits. */
export interface ServerContext {
  store: ObjectStore;
  resources: Resources;
  log: Logger;
  /** watches are the open watch streams, closed when the server closes. */
  watches: Set<Watch>;
  /** maxBodyBytes is the largest request body accepted. */
  maxBodyBytes: number;
  /** maxWatches is how many watches may be open at once; more get 429. */
  maxWatches: number;
  /** bookmarkIntervalMs between BOOKMARK events on watches that allow them. */
  bookmarkIntervalMs: number;
  /** watchMaxBufferedBytes: a watch this far behind is closed. Default: Watch's. */
  watchMaxBufferedBytes?: number;
  /** version is the server's version, served at /version. */
  version: string;
  /** ready tells /readyz whether the daemon is ready. */
  ready: () => boolean;
  /** metrics registries served at /metrics. */
  metrics: Registry[];
}

/** Request is one parsed API request: the URL and the pretty-printing choice. */
export interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  pretty: boolean;
}

const prefix = `/apis/${apiVersion}`;

/** health answers /healthz, /livez and /readyz. */
export function health(ctx: ServerContext, path: string, res: ServerResponse): void {
  const ok = path !== '/readyz' || ctx.ready();
  res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(ok ? 'ok' : 'not ready');
}

/** settled waits until no change is pending, so a read sees committed state only. */
export async function settled(ctx: ServerContext): Promise<void> {
  while (ctx.store.dirty) await ctx.store.committed().catch(() => undefined);
}

/**
 * serveDocument answers the GET endpoints that are not objects (version, discovery,
 * OpenAPI, metrics); it returns false when path is none of them.
 */
export async function serveDocument(ctx: ServerContext, r: Request, path: string): Promise<boolean> {
  const { res, url, pretty } = r;
  switch (path) {
    case '/version':
      sendJSON(res, 200, discovery.versionInfo(ctx.version), pretty);
      return true;
    case '/apis':
      sendJSON(res, 200, discovery.apiGroupList, pretty);
      return true;
    case '/apis/tilt.dev':
      sendJSON(res, 200, discovery.apiGroup, pretty);
      return true;
    case prefix:
      sendJSON(res, 200, discovery.apiResourceList, pretty);
      return true;
    case '/openapi/v2':
      await openAPIV2(r.req, res);
      return true;
    case '/openapi/v3':
      sendJSON(res, 200, discovery.openAPIV3Root, pretty);
      return true;
    case `/openapi/v3${prefix}`: {
      const hash = url.searchParams.get('hash');
      if (hash && hash !== discovery.openAPIV3Hash) {
        res.writeHead(301, { Location: `/openapi/v3${prefix}?hash=${discovery.openAPIV3Hash}` });
        res.end();
        return true;
      }
      const headers: Record<string, string> = { 'Content-Type': 'application/json', Etag: `"${discovery.openAPIV3Hash}"` };
      if (hash) {
        headers['Cache-Control'] = 'public, immutable';
        headers.Expires = new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString();
      }
      res.writeHead(200, headers);
      res.end(discovery.openAPIV3Document);
      return true;
    }
    case '/metrics': {
      const text = (await Promise.all(ctx.metrics.map((m) => m.metrics()))).join('\n');
      res.writeHead(200, { 'Content-Type': ctx.metrics[0]?.contentType ?? 'text/plain; version=0.0.4' });
      res.end(text);
      return true;
    }
  }
  return false;
}

async function openAPIV2(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const form = openAPIV2Form(req.headers.accept);
  if (!form) throw notAcceptable(`only application/json and ${openAPIV2ProtobufType} are served`);
  const headers = { 'Content-Type': form === 'json' ? 'application/json' : openAPIV2ProtobufType, Etag: openAPIV2ETag, Vary: 'Accept' };
  if (req.headers['if-none-match'] === openAPIV2ETag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = form === 'json' ? openAPIV2JSON : await openAPIV2Protobuf();
  res.writeHead(200, headers);
  res.end(body);
}

/** collection serves `/apis/tilt.dev/v1alpha1/<plural>`: list, watch, create, delete many. */
export async function collection(ctx: ServerContext, r: Request, def: KindDef): Promise<void> {
  const { req, res, url, pretty } = r;
  const { store, resources } = ctx;
  const q = url.searchParams;
  const method = req.method ?? 'GET';
  if (method === 'GET') {
    const isWatch = queryBool(q, 'watch') ?? false;
    const match = matcher(q);
    validateListOptions(q, isWatch);
    if (isWatch) return watch(ctx, r, def, match);
    return list(ctx, r, def, match);
  }
  if (method === 'POST') {
    const body = await readBody(req, ctx.maxBodyBytes);
    const result = resources.create(def, body, writeOptions(q, req.headers['user-agent']));
    await store.committed();
    return sendJSON(res, 201, result.object, pretty, result.warnings);
  }
  if (method === 'DELETE') {
    const match = matcher(q);
    const delOpts = await readDeleteOptions(req, q, ctx.maxBodyBytes);
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

/** list answers a list, at a resourceVersion or from a continue token, in pages of `limit`. */
export function list(ctx: ServerContext, r: Request, def: KindDef, match: Matcher): void {
  const { req, res, url, pretty } = r;
  const { store, resources } = ctx;
  const q = url.searchParams;
  const rvParam = q.get('resourceVersion');
  const rvMatch = q.get('resourceVersionMatch');
  // As in kube-apiserver, a limit of zero or below means no limit.
  const limit = queryInt64(q, 'limit') ?? 0;
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

/**
 * legacyWatch serves the deprecated `/apis/tilt.dev/v1alpha1/watch/<plural>[/<name>]`: a
 * watch whatever the query says, of one object when a name is given (as the field selector
 * `metadata.name=<name>`; a field selector that names another object is a 400, as in
 * kube-apiserver).
 */
export function legacyWatch(ctx: ServerContext, r: Request, def: KindDef, name: string | undefined): void {
  const q = r.url.searchParams;
  validateListOptions(q, true);
  const match = matcher(q);
  if (name === undefined) return watch(ctx, r, def, match);
  const selected = (q.get('fieldSelector') ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  if (selected.length && !selected.some((t) => t.replace(/\s/g, '').replace('==', '=') === `metadata.name=${name}`)) {
    throw badRequest("fieldSelector metadata.name doesn't match requested name");
  }
  return watch(ctx, r, def, (o) => o.metadata.name === name && match(o));
}

/** watch opens a watch stream; it stays open until the client, a timeout or close ends it. */
export function watch(ctx: ServerContext, r: Request, def: KindDef, match: Matcher): void {
  const { req, res, url } = r;
  const q = url.searchParams;
  if (ctx.watches.size >= ctx.maxWatches) {
    throw new ApiError(429, 'TooManyRequests', `too many open watches (${ctx.watches.size}); close some and retry`, { retryAfterSeconds: 1 });
  }
  const rvParam = q.get('resourceVersion');
  const timeout = queryInt64(q, 'timeoutSeconds') ?? 0;
  const w = new Watch(res, {
    store: ctx.store,
    def,
    match,
    sinceRv: rvParam ? parseRv(rvParam) : undefined,
    table: tableRequest(req.headers.accept, q.get('includeObject')),
    bookmarks: queryBool(q, 'allowWatchBookmarks') ?? false,
    bookmarkIntervalMs: ctx.bookmarkIntervalMs,
    timeoutMs: timeout > 0 ? timeout * 1000 : undefined,
    maxBufferedBytes: ctx.watchMaxBufferedBytes,
    log: ctx.log,
  });
  ctx.watches.add(w);
  w.start(() => ctx.watches.delete(w));
}

/** item serves `/apis/tilt.dev/v1alpha1/<plural>/<name>[/status]`: get, replace, patch, delete. */
export async function item(ctx: ServerContext, r: Request, def: KindDef, name: string, sub: 'status' | undefined): Promise<void> {
  const { req, res, url, pretty } = r;
  const { store, resources } = ctx;
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
      const body = await readBody(req, ctx.maxBodyBytes);
      const result = resources.update(def, name, body, writeOptions(q, req.headers['user-agent']), sub);
      await store.committed();
      return sendJSON(res, 200, result.object, pretty, result.warnings);
    }
    case 'PATCH': {
      const type = patchTypeOf(req.headers['content-type']);
      const raw = await readRaw(req, ctx.maxBodyBytes);
      const result = resources.patch(def, name, type, raw, writeOptions(q, req.headers['user-agent']), sub);
      await store.committed();
      return sendJSON(res, result.created ? 201 : 200, result.object, pretty, result.warnings);
    }
    case 'DELETE': {
      if (sub) throw methodNotAllowed('delete', resourceName);
      const delOpts = await readDeleteOptions(req, q, ctx.maxBodyBytes);
      const result = resources.delete(def, name, delOpts);
      await store.committed();
      const accepted = !result.deleted && delOpts.orphanDependents === false;
      return sendJSON(res, accepted ? 202 : 200, result.object, pretty);
    }
    default:
      throw methodNotAllowed(method === 'POST' ? 'create' : method.toLowerCase(), resourceName);
  }
}
