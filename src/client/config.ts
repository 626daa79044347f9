/**
 * ClientConfig: the part of a kubeconfig a client needs to reach one API server (its address,
 * CA, client certificate and bearer token), read with `yaml` alone. The CLI uses it instead of
 * @kubernetes/client-node's KubeConfig, which takes longer to load than a command takes to run.
 * Authentication by exec plugins and auth providers is not supported here.
 */
import fs from 'node:fs';
import path from 'node:path';
import type https from 'node:https';
import YAML from 'yaml';

/** ServerConfig is what a client needs to open HTTPS requests to a server; client-node's KubeConfig has the same shape. */
export interface ServerConfig {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

/** KubeconfigDoc is the shape of a kubeconfig file, as far as ferry reads and writes it. */
export interface KubeconfigDoc {
  apiVersion?: string;
  kind?: string;
  clusters?: Array<{ name: string; cluster: Record<string, unknown> }>;
  users?: Array<{ name: string; user: Record<string, unknown> }>;
  contexts?: Array<{ name: string; context: { cluster?: string; user?: string; namespace?: string } }>;
  'current-context'?: string;
  preferences?: unknown;
  [key: string]: unknown;
}

/** parseKubeconfig reads kubeconfig text, throwing an Error that names `file` when it is not a kubeconfig. */
export function parseKubeconfig(text: string, file: string): KubeconfigDoc {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new Error(`kubeconfig ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`kubeconfig ${file} is not a kubeconfig: its top level is not a mapping`);
  const d = doc as KubeconfigDoc;
  for (const key of ['clusters', 'users', 'contexts'] as const) {
    const list = d[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw new Error(`kubeconfig ${file} is not a kubeconfig: ${key} is not a list`);
    for (const [i, entry] of list.entries()) {
      if (!entry || typeof entry !== 'object' || typeof (entry as { name?: unknown }).name !== 'string') {
        throw new Error(`kubeconfig ${file} is not a kubeconfig: ${key}[${i}] has no name`);
      }
    }
  }
  return d;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** ClientConfig is one context of a kubeconfig: where its server is and how to authenticate to it. */
export class ClientConfig implements ServerConfig {
  /** server is the cluster's address, e.g. https://127.0.0.1:10351. */
  readonly server: string;
  readonly contextName: string;
  /** tls are the options every request to the server takes (CA, client certificate). */
  readonly tls: https.RequestOptions;
  /** headers carry the credentials of the user (Authorization). */
  readonly headers: Record<string, string>;

  private constructor(server: string, contextName: string, tls: https.RequestOptions, headers: Record<string, string>) {
    this.server = server;
    this.contextName = contextName;
    this.tls = tls;
    this.headers = headers;
  }

  /** load reads `file` and selects `context` (default: the file's current-context). */
  static load(file: string, context?: string): ClientConfig {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read kubeconfig ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return ClientConfig.fromDoc(parseKubeconfig(text, file), file, context);
  }

  /** fromDoc selects a context of a parsed kubeconfig; relative file paths in it are relative to `file`'s folder. */
  static fromDoc(doc: KubeconfigDoc, file: string, context?: string): ClientConfig {
    const name = context ?? doc['current-context'];
    if (!name) throw new Error(`kubeconfig ${file} has no current-context; give one with --context`);
    const ctx = doc.contexts?.find((c) => c.name === name)?.context;
    if (!ctx) throw new Error(`kubeconfig ${file} has no context ${JSON.stringify(name)}`);
    const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
    if (!cluster) throw new Error(`kubeconfig ${file}: context ${JSON.stringify(name)} has no cluster`);
    const server = str(cluster.server);
    if (!server) throw new Error(`kubeconfig ${file}: cluster ${JSON.stringify(ctx.cluster)} has no server`);
    if (str(cluster['proxy-url'])) throw new Error(`kubeconfig ${file}: cluster ${JSON.stringify(ctx.cluster)} uses proxy-url, which ferry's client does not support`);
    const user = (ctx.user ? doc.users?.find((u) => u.name === ctx.user)?.user : undefined) ?? {};
    if (user.exec || user['auth-provider']) {
      throw new Error(`kubeconfig ${file}: user ${JSON.stringify(ctx.user)} authenticates with ${user.exec ? 'an exec plugin' : 'an auth provider'}, which ferry's client does not support; use a token or a client certificate`);
    }
    const dir = path.dirname(path.resolve(file));
    const readFile = (p: string) => fs.readFileSync(path.resolve(dir, p));
    const data = (inline: unknown, ref: unknown): Buffer | undefined => {
      if (str(inline)) return Buffer.from(inline as string, 'base64');
      if (str(ref)) return readFile(ref as string);
      return undefined;
    };
    const tls: https.RequestOptions = {};
    try {
      const ca = data(cluster['certificate-authority-data'], cluster['certificate-authority']);
      if (ca) tls.ca = ca;
      const cert = data(user['client-certificate-data'], user['client-certificate']);
      const key = data(user['client-key-data'], user['client-key']);
      if (cert) tls.cert = cert;
      if (key) tls.key = key;
    } catch (err) {
      throw new Error(`kubeconfig ${file}: cannot read a file it names: ${(err as Error).message}`);
    }
    if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
    if (str(cluster['tls-server-name'])) tls.servername = cluster['tls-server-name'] as string;
    const headers: Record<string, string> = {};
    let token = str(user.token);
    if (!token && str(user.tokenFile)) token = readFile(user.tokenFile as string).toString('utf8').trim();
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (str(user.username)) headers.Authorization = `Basic ${Buffer.from(`${user.username}:${str(user.password) ?? ''}`).toString('base64')}`;
    return new ClientConfig(server, name, tls, headers);
  }

  getCurrentCluster(): { name: string; server: string } {
    return { name: this.contextName, server: this.server };
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    Object.assign(opts, this.tls);
    opts.headers = { ...(opts.headers as Record<string, string> | undefined), ...this.headers };
  }
}
