/**
 * HttpClient: the Client over plain node:https, for the command line. It speaks the same REST
 * paths as FerryClient (which uses @kubernetes/client-node, for the daemon) and reports errors the
 * same way (ApiError from the server's Status), without loading client-node.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeList, KubeObject } from '../apis/meta.ts';
import type { ApplyOptions, Client, DeleteOptions, ListOptions, WatchEvent, WatchEventType, WatchHandle, WatchOptions, WriteOptions } from './client.ts';
import { fromDiscovery, group, version, type KindNames, type KindSource } from './kinds.ts';
import type { ClientConfig } from './config.ts';
import { toApiError } from './errors.ts';
import { StringDecoder } from 'node:string_decoder';
import { kindOf, nameOf, withApiVersion } from './objects.ts';

/** CliClient is what the command line needs: the Client, server-side apply, raw reads, and close. */
export interface CliClient extends Client, KindSource {
  /** server is the address requests go to. */
  readonly server: string;
  apply<T extends KubeObject>(obj: T, opts: ApplyOptions): Promise<T>;
  /** raw sends one request to a path of the server and returns its JSON answer. */
  raw(method: string, path: string, body?: unknown): Promise<unknown>;
  /** table is the server's Table of a kind's objects (or of one), as kubectl get shows it. */
  table(kind: string, opts?: { name?: string; labelSelector?: string }): Promise<Table>;
  /** close drops the kept-alive connection. */
  close(): void;
}

/** Table is the meta.k8s.io/v1 Table a server answers for `Accept: application/json;as=Table`. */
export interface Table {
  metadata?: { resourceVersion?: string };
  columnDefinitions: Array<{ name: string; priority?: number }>;
  rows: Array<{ cells: unknown[] }>;
}

type Query = Record<string, string | number | boolean | undefined>;

interface RequestSpec {
  method: string;
  path: string;
  query?: Query;
  body?: unknown;
  contentType?: string;
  accept?: string;
}

/** HttpClient implements CliClient with one keep-alive agent carrying the kubeconfig's TLS settings. */
export class HttpClient implements CliClient {
  readonly server: string;
  private readonly agent: http.Agent;
  private readonly headers: Record<string, string>;
  private readonly secure: boolean;

  constructor(config: ClientConfig) {
    this.server = config.server;
    this.secure = !config.server.startsWith('http:');
    this.headers = { ...config.headers, 'User-Agent': 'ferry', Accept: 'application/json' };
    this.agent = this.secure ? new https.Agent({ keepAlive: true, ...(config.tls as https.AgentOptions) }) : new http.Agent({ keepAlive: true });
  }

  close(): void {
    this.agent.destroy();
  }

  private url(spec: { path: string; query?: Query }): URL {
    const url = new URL(this.server.replace(/\/+$/, '') + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    return url;
  }

  private open(spec: RequestSpec, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const headers: Record<string, string> = { ...this.headers };
    if (spec.accept) headers.Accept = spec.accept;
    if (body !== undefined) headers['Content-Type'] = spec.contentType ?? 'application/json';
    const req = (this.secure ? https : http).request(this.url(spec), { method: spec.method, agent: this.agent, headers }, onResponse);
    req.end(body);
    return req;
  }

  /** request sends one request and resolves with its JSON body; an error status rejects with an ApiError. */
  private request(spec: RequestSpec): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = this.open(spec, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          if (code < 200 || code >= 300) return reject(toApiError(code, text, `the server answered ${code} for ${spec.method} ${spec.path}`));
          try {
            resolve(text ? JSON.parse(text) : undefined);
          } catch {
            reject(new Error(`the server answered ${spec.method} ${spec.path} with something other than JSON`));
          }
        });
      });
      req.on('error', reject);
    });
  }

  private kinds?: Promise<KindNames[]>;

  /** kindNames are the kinds the server serves, asked once (discovery). */
  kindNames(): Promise<KindNames[]> {
    this.kinds ??= this.request({ method: 'GET', path: `/apis/${group}/${version}` }).then((list) => fromDiscovery(list as Parameters<typeof fromDiscovery>[0]));
    return this.kinds;
  }

  private async base(kind: string): Promise<string> {
    const k = (await this.kindNames()).find((x) => x.kind === kind);
    if (!k) throw new Error(`the server does not serve the kind ${JSON.stringify(kind)}`);
    return `/apis/${group}/${version}/${k.plural}`;
  }

  async table(kind: string, opts: { name?: string; labelSelector?: string } = {}): Promise<Table> {
    const base = await this.base(kind);
    return (await this.request({
      method: 'GET',
      path: opts.name ? `${base}/${encodeURIComponent(opts.name)}` : base,
      query: { includeObject: 'None', labelSelector: opts.labelSelector },
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    })) as Table;
  }

  raw(method: string, path: string, body?: unknown): Promise<unknown> {
    return this.request({ method, path, body });
  }

  async get<T extends KubeObject = KubeObject>(kind: string, name: string): Promise<T | undefined> {
    try {
      return (await this.request({ method: 'GET', path: `${await this.base(kind)}/${encodeURIComponent(name)}` })) as T;
    } catch (err) {
      if ((err as { reason?: string }).reason === 'NotFound') return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject = KubeObject>(kind: string, opts: ListOptions = {}): Promise<KubeList<T>> {
    const list = (await this.request({ method: 'GET', path: await this.base(kind), query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector } })) as KubeList<T>;
    list.items ??= [];
    list.metadata ??= {};
    return list;
  }

  async create<T extends KubeObject>(obj: T, opts: WriteOptions = {}): Promise<T> {
    return (await this.request({ method: 'POST', path: await this.base(kindOf(obj)), query: writeQuery(opts), body: withApiVersion(obj) })) as T;
  }

  async update<T extends KubeObject>(obj: T): Promise<T> {
    return (await this.request({ method: 'PUT', path: `${await this.base(kindOf(obj))}/${encodeURIComponent(nameOf(obj))}`, body: withApiVersion(obj) })) as T;
  }

  async updateStatus<T extends KubeObject>(obj: T): Promise<T> {
    return (await this.request({ method: 'PUT', path: `${await this.base(kindOf(obj))}/${encodeURIComponent(nameOf(obj))}/status`, body: withApiVersion(obj) })) as T;
  }

  async patch<T extends KubeObject = KubeObject>(kind: string, name: string, mergePatch: object, opts: WriteOptions = {}): Promise<T> {
    return (await this.request({ method: 'PATCH', path: `${await this.base(kind)}/${encodeURIComponent(name)}`, query: writeQuery(opts), body: mergePatch, contentType: 'application/merge-patch+json' })) as T;
  }

  async patchStatus<T extends KubeObject = KubeObject>(kind: string, name: string, mergePatch: object): Promise<T> {
    return (await this.request({ method: 'PATCH', path: `${await this.base(kind)}/${encodeURIComponent(name)}/status`, body: mergePatch, contentType: 'application/merge-patch+json' })) as T;
  }

  async apply<T extends KubeObject>(obj: T, opts: ApplyOptions): Promise<T> {
    return (await this.request({
      method: 'PATCH',
      path: `${await this.base(kindOf(obj))}/${encodeURIComponent(nameOf(obj))}`,
      query: { ...writeQuery(opts), fieldManager: opts.fieldManager, force: opts.force || undefined },
      // JSON is YAML: the apply patch is sent as JSON text.
      body: withApiVersion(obj),
      contentType: 'application/apply-patch+yaml',
    })) as T;
  }

  async delete(kind: string, name: string, opts: DeleteOptions = {}): Promise<void> {
    await this.request({
      method: 'DELETE',
      path: `${await this.base(kind)}/${encodeURIComponent(name)}`,
      query: { propagationPolicy: opts.propagationPolicy, gracePeriodSeconds: opts.gracePeriodSeconds },
      body: opts.preconditions ? { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: opts.preconditions } : undefined,
    });
  }

  async watch<T extends KubeObject = KubeObject>(kind: string, opts: WatchOptions, onEvent: (ev: WatchEvent<T>) => void, done: (err?: unknown) => void): Promise<WatchHandle> {
    let stopped = false;
    const finish = (err?: unknown) => {
      if (stopped) return;
      stopped = true;
      done(err);
    };
    const query = { watch: 'true', allowWatchBookmarks: 'true', resourceVersion: opts.resourceVersion, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector };
    const req = this.open({ method: 'GET', path: await this.base(kind), query }, (res) => {
      const code = res.statusCode ?? 0;
      if (code !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => finish(toApiError(code, Buffer.concat(chunks).toString('utf8'))));
        return;
      }
      // One event per line; a line is as long as its object (no cut, unlike log lines).
      const decoder = new StringDecoder('utf8');
      let partial = '';
      res.on('data', (c: Buffer) => {
        const lines = (partial + decoder.write(c)).split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          if (!line.trim() || stopped) continue;
          try {
            const ev = JSON.parse(line) as { type: WatchEventType; object: T };
            onEvent({ type: ev.type, object: ev.object });
          } catch (err) {
            finish(err);
          }
        }
      });
      res.on('end', () => finish());
      res.on('error', (err) => finish(err));
    });
    req.on('error', (err) => finish(err));
    return {
      stop() {
        stopped = true;
        req.destroy();
      },
    };
  }
}

function writeQuery(opts: WriteOptions): Query {
  return { dryRun: opts.dryRun ? 'All' : undefined, fieldValidation: opts.fieldValidation };
}
