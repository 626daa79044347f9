import http from 'node:http';
import https from 'node:https';
import {
  ApiException,
  createConfiguration,
  CustomObjectsApi,
  KubeConfig,
  Observable,
  ServerConfiguration,
  Watch,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import type { KubeList, KubeObject } from '../apis/meta.ts';
import { resourceFor } from './resource.ts';
import { kinds } from '../apis/registry.ts';
import type { KindNames } from './kinds.ts';
import { ApiError, toApiError } from './errors.ts';
import { kindOf, nameOf, withApiVersion } from './objects.ts';

/** ListOptions narrow a list or a watch. */
export interface ListOptions {
  /** labelSelector in Kubernetes syntax, e.g. `app=web,tier!=db`. */
  labelSelector?: string;
  /** fieldSelector, e.g. `metadata.name=foo`. */
  fieldSelector?: string;
}

/** DeleteOptions are passed to the server with a delete. */
export interface DeleteOptions {
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  gracePeriodSeconds?: number;
  /** preconditions make the delete fail with Conflict when the object changed meanwhile. */
  preconditions?: { uid?: string; resourceVersion?: string };
}

/**
 * WriteOptions are passed to the server with a create or a patch: `dryRun` checks the write
 * without storing it (dryRun=All); `fieldValidation` 'Strict' refuses fields the schema does not know.
 */
export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

/** ApplyOptions are passed with a server-side apply: the field manager that owns what it sets. */
export interface ApplyOptions extends WriteOptions {
  fieldManager: string;
  /** force takes fields over from other managers instead of failing with Conflict. */
  force?: boolean;
}

/** WatchEventType is the `type` of one watch event. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** WatchEvent is one line of a watch stream. For ERROR, `object` is a Status. */
export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
}

/** WatchOptions start a watch at `resourceVersion` (only changes after it are sent). */
export interface WatchOptions extends ListOptions {
  resourceVersion?: string;
}

/** WatchHandle stops a running watch; `done` is not called after stop(). */
export interface WatchHandle {
  stop(): void;
}

/**
 * Client is what the runtime and the reconcilers need from the API: FerryClient implements it
 * over HTTP. Kinds are addressed by Kind name ('FileWatch'); objects are cluster-scoped.
 * Every method rejects with an ApiError when the server answers an error status.
 */
export interface Client {
  /** get returns the object, or undefined when it does not exist. */
  get<T extends KubeObject = KubeObject>(kind: string, name: string): Promise<T | undefined>;
  list<T extends KubeObject = KubeObject>(kind: string, opts?: ListOptions): Promise<KubeList<T>>;
  /** create sends obj (its kind and metadata.name or generateName are required). */
  create<T extends KubeObject>(obj: T, opts?: WriteOptions): Promise<T>;
  /** update replaces the object (not its status); Conflict when metadata.resourceVersion is stale. */
  update<T extends KubeObject>(obj: T): Promise<T>;
  /** updateStatus replaces the status subresource; Conflict when metadata.resourceVersion is stale. */
  updateStatus<T extends KubeObject>(obj: T): Promise<T>;
  /** patch applies a JSON merge patch (RFC 7386) to the object. */
  patch<T extends KubeObject = KubeObject>(kind: string, name: string, mergePatch: object, opts?: WriteOptions): Promise<T>;
  /** patchStatus applies a JSON merge patch to the status subresource. */
  patchStatus<T extends KubeObject = KubeObject>(kind: string, name: string, mergePatch: object): Promise<T>;
  /** delete deletes the object; NotFound when it does not exist. */
  delete(kind: string, name: string, opts?: DeleteOptions): Promise<void>;
  /**
   * watch streams changes of a kind after opts.resourceVersion. `done` is called once when the
   * stream ends: with no argument when the server closed it, with an error otherwise (an
   * ApiError for an HTTP error status, e.g. code 410 when the version is too old).
   */
  watch<T extends KubeObject = KubeObject>(
    kind: string,
    opts: WatchOptions,
    onEvent: (ev: WatchEvent<T>) => void,
    done: (err?: unknown) => void,
  ): Promise<WatchHandle>;
}

export { resourceFor, type Resource } from './resource.ts';

const mergePatchType = 'application/merge-patch+json';
const applyPatchType = 'application/apply-patch+yaml';

/** writeParams are the query parameters of WriteOptions. */
function writeParams(opts: WriteOptions) {
  return { dryRun: opts.dryRun ? 'All' : undefined, fieldValidation: opts.fieldValidation };
}

/**
 * FerryClient is the Client over HTTP with @kubernetes/client-node, built from a KubeConfig.
 * Requests share one keep-alive connection pool (client-node alone opens a connection per request).
 */
export class FerryClient implements Client {
  readonly kubeConfig: KubeConfig;
  private readonly api: CustomObjectsApi;
  private readonly watcher: Watch;
  private readonly pool: KeepAlivePool;

  constructor(kubeConfig: KubeConfig) {
    this.kubeConfig = kubeConfig;
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const pool = (this.pool = new KeepAlivePool(kubeConfig));
    const config = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      promiseMiddleware: [
        {
          pre: async (ctx: RequestContext) => {
            const agent = await pool.get();
            if (agent) ctx.setAgent(agent);
            // The server names the field manager of writes without fieldManager after this.
            ctx.setHeaderParam('User-Agent', 'ferry');
            return ctx;
          },
          post: async (rsp: ResponseContext) => rsp,
        },
      ],
    });
    this.api = new CustomObjectsApi(config);
    this.watcher = new Watch(kubeConfig);
  }

  /** close drops the idle connections of the pool. */
  close(): void {
    this.pool.destroy();
  }

  /** kindNames are the kinds of src/apis (the ones ferry's server serves). */
  async kindNames(): Promise<KindNames[]> {
    return kinds.map((k) => ({ kind: k.kind, plural: k.plural, singular: k.singular, shortNames: [...k.shortNames] }));
  }

  async get<T extends KubeObject = KubeObject>(kind: string, name: string): Promise<T | undefined> {
    const r = resourceFor(kind);
    try {
      return (await call(() => this.api.getClusterCustomObject({ ...r, name }))) as T;
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'NotFound') return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject = KubeObject>(kind: string, opts: ListOptions = {}): Promise<KubeList<T>> {
    const r = resourceFor(kind);
    const list = (await call(() =>
      this.api.listClusterCustomObject({ ...r, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector }),
    )) as KubeList<T>;
    list.items ??= [];
    list.metadata ??= {};
    return list;
  }

  async create<T extends KubeObject>(obj: T, opts: WriteOptions = {}): Promise<T> {
    const r = resourceFor(kindOf(obj));
    return (await call(() =>
      this.api.createClusterCustomObject({ ...r, ...writeParams(opts), body: withApiVersion(obj) }),
    )) as T;
  }

  async update<T extends KubeObject>(obj: T): Promise<T> {
    const r = resourceFor(kindOf(obj));
    return (await call(() =>
      this.api.replaceClusterCustomObject({ ...r, name: nameOf(obj), body: withApiVersion(obj) }),
    )) as T;
  }

  async updateStatus<T extends KubeObject>(obj: T): Promise<T> {
    const r = resourceFor(kindOf(obj));
    return (await call(() =>
      this.api.replaceClusterCustomObjectStatus({ ...r, name: nameOf(obj), body: withApiVersion(obj) }),
    )) as T;
  }

  async patch<T extends KubeObject = KubeObject>(
    kind: string,
    name: string,
    mergePatch: object,
    opts: WriteOptions = {},
  ): Promise<T> {
    const r = resourceFor(kind);
    return (await call(() =>
      this.api.patchClusterCustomObject({ ...r, ...writeParams(opts), name, body: mergePatch }, contentType(mergePatchType)),
    )) as T;
  }

  /** apply is a server-side apply of obj (an apply patch), owned by opts.fieldManager. */
  async apply<T extends KubeObject>(obj: T, opts: ApplyOptions): Promise<T> {
    const r = resourceFor(kindOf(obj));
    return (await call(() =>
      this.api.patchClusterCustomObject(
        { ...r, ...writeParams(opts), name: nameOf(obj), body: withApiVersion(obj), fieldManager: opts.fieldManager, force: opts.force },
        contentType(applyPatchType),
      ),
    )) as T;
  }

  async patchStatus<T extends KubeObject = KubeObject>(kind: string, name: string, mergePatch: object): Promise<T> {
    const r = resourceFor(kind);
    return (await call(() =>
      this.api.patchClusterCustomObjectStatus({ ...r, name, body: mergePatch }, contentType(mergePatchType)),
    )) as T;
  }

  async delete(kind: string, name: string, opts: DeleteOptions = {}): Promise<void> {
    const r = resourceFor(kind);
    await call(() =>
      this.api.deleteClusterCustomObject({
        ...r,
        name,
        propagationPolicy: opts.propagationPolicy,
        gracePeriodSeconds: opts.gracePeriodSeconds,
        body: opts.preconditions ? { preconditions: opts.preconditions } : undefined,
      }),
    );
  }

  async watch<T extends KubeObject = KubeObject>(
    kind: string,
    opts: WatchOptions,
    onEvent: (ev: WatchEvent<T>) => void,
    done: (err?: unknown) => void,
  ): Promise<WatchHandle> {
    const r = resourceFor(kind);
    let stopped = false;
    let controller: AbortController | undefined;
    const params = {
      resourceVersion: opts.resourceVersion || undefined,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      allowWatchBookmarks: true,
    };
    const path = `/apis/${r.group}/${r.version}/${r.plural}`;
    controller = await this.watcher.watch(
      path,
      params,
      (type, object) => {
        if (!stopped) onEvent({ type: type as WatchEventType, object });
      },
      (err) => {
        if (stopped) return;
        stopped = true;
        if (!err) return done();
        const code = (err as { statusCode?: unknown }).statusCode;
        if (typeof code === 'number') return done(new ApiError(code, undefined, (err as Error).message));
        if ((err as { name?: string }).name === 'AbortError') return done();
        done(err);
      },
    );
    return {
      stop() {
        stopped = true;
        controller?.abort();
      },
    };
  }
}

/** call runs one client-node request and turns its ApiException into an ApiError. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiException) throw toApiError(err.code, err.body, err.message);
    throw err;
  }
}

function contentType(value: string) {
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setHeaderParam('Content-Type', value);
          return fromValue(ctx);
        },
        post: (rsp: ResponseContext) => fromValue(rsp),
      },
    ],
    middlewareMergeStrategy: 'append' as const,
  };
}

// client-node's per-request middleware speaks its own minimal Observable.
function fromValue<T>(v: T): Observable<T> {
  return new Observable(Promise.resolve(v));
}

/**
 * KeepAlivePool lends one keep-alive agent, with the TLS settings of the kubeconfig's cluster and
 * user, to every request. It stays out of the way when the cluster is reached through a proxy.
 */
class KeepAlivePool {
  private agent?: Promise<http.Agent | undefined>;
  private resolved?: http.Agent;

  constructor(private readonly kc: KubeConfig) {}

  get(): Promise<http.Agent | undefined> {
    this.agent ??= this.build().then((a) => (this.resolved = a));
    return this.agent;
  }

  destroy(): void {
    this.resolved?.destroy();
  }

  private async build(): Promise<http.Agent | undefined> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster || cluster.proxyUrl) return undefined;
    const base: https.AgentOptions = { keepAlive: true, maxSockets: 32 };
    if (cluster.server.startsWith('http:')) return new http.Agent(base);
    const tls: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(tls);
    return new https.Agent({
      ...base,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      pfx: tls.pfx,
      passphrase: tls.passphrase,
      rejectUnauthorized: tls.rejectUnauthorized,
      servername: tls.servername,
    });
  }
}
