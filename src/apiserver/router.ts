/**
 * The router: the checks every request passes (browser requests, Host, token), then the
 * dispatch of a path to its handler, and the one place that turns failures into a Status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { kindByPlural } from '../apis/registry.ts';
import { apiVersion } from '../apis/meta.ts';
import { ApiError, badRequest, forbidden, internalError, methodNotAllowed, pathNotFound, unauthorized } from './errors.ts';
import { checkToken } from './security.ts';
import { collection, health, item, legacyWatch, serveDocument, settled, type Request, type ServerContext } from './handlers.ts';
import { sendJSON } from './respond.ts';
import { queryPretty } from './query.ts';

/** Route is an extra GET endpoint of the daemon, served after the same checks as the API. */
export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** Access is who may call: the bearer token, and which Host headers are accepted. */
export interface Access {
  token: string;
  hostAllowed(host: string | undefined): boolean;
}

const prefix = `/apis/${apiVersion}`;
const healthPaths = new Set(['/healthz', '/livez', '/readyz']);

/** createRouter returns the request listener of the API server. */
export function createRouter(ctx: ServerContext, access: Access, routes: Record<string, Route> = {}) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL | undefined;
    try {
      url = requestURL(req.url);
      if (healthPaths.has(url.pathname)) return health(ctx, url.pathname, res);
      if (req.headers.origin !== undefined || req.method === 'OPTIONS') {
        throw forbidden('requests from web browsers are refused: this API runs commands on this machine');
      }
      if (!access.hostAllowed(req.headers.host)) throw forbidden(`host ${req.headers.host ?? ''} is not allowed`);
      if (!checkToken(req.headers.authorization, access.token)) throw unauthorized();
      await route(ctx, routes, req, res, url);
    } catch (err) {
      if (!(err instanceof ApiError)) ctx.log.error('Request failed', { method: req.method, path: url?.pathname, error: (err as Error).stack });
      const apiErr = err instanceof ApiError ? err : internalError(err);
      if (res.headersSent) {
        res.end();
        return;
      }
      // The rest of a refused body is not read, or the request line made no sense: the
      // connection cannot be reused.
      if (apiErr.code === 413 || !url) res.setHeader('Connection', 'close');
      sendJSON(res, apiErr.code, apiErr.toStatus(), false);
    }
  };
}

/**
 * requestURL parses a request target. Only the origin form (`/path?query`) is served; a
 * target that is not one, or that does not parse, is a 400.
 */
function requestURL(target: string | undefined): URL {
  if (!target?.startsWith('/')) throw badRequest(`the request target must be a path, got ${JSON.stringify(target ?? '')}`);
  try {
    return new URL(`https://localhost${target}`);
  } catch {
    throw badRequest(`the request target ${JSON.stringify(target)} is not a valid URL`);
  }
}

/** pathSegment decodes one %-escaped path segment; a malformed escape is a 400. */
function pathSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`invalid URL escape in the path segment ${JSON.stringify(s)}`);
  }
}

async function route(ctx: ServerContext, routes: Record<string, Route>, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const p = url.pathname.replace(/\/+$/, '') || '/';
  const r: Request = { req, res, url, pretty: queryPretty(url.searchParams) };
  const method = req.method ?? 'GET';
  if (method === 'GET') {
    await settled(ctx);
    if (await serveDocument(ctx, r, p)) return;
  }
  const extra = routes[p];
  if (extra && method === 'GET') return extra(req, res, url);
  if (!p.startsWith(prefix + '/')) throw pathNotFound();
  const parts = p.slice(prefix.length + 1).split('/').map(pathSegment);
  if (parts[0] === 'watch') {
    // The deprecated watch paths, still served by kube-apiserver: /watch/<plural>[/<name>].
    const legacy = kindByPlural(parts[1]);
    if (!legacy || parts.length > 3) throw pathNotFound();
    if (method !== 'GET') throw methodNotAllowed(method.toLowerCase(), legacy.plural);
    return legacyWatch(ctx, r, legacy, parts[2]);
  }
  const def = kindByPlural(parts[0]);
  if (!def || parts.length > 3) throw pathNotFound();
  const name = parts[1];
  const sub = parts[2];
  if (sub !== undefined && (sub !== 'status' || !def.hasStatus)) throw pathNotFound();
  if (name === undefined) return collection(ctx, r, def);
  return item(ctx, r, def, name, sub as 'status' | undefined);
}
