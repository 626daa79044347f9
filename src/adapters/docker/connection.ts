/**
 * The one reading of where the Docker Engine is, as the docker CLI reads it: an explicit host,
 * else DOCKER_HOST, else the context named by DOCKER_CONTEXT or by `currentContext` in
 * ~/.docker/config.json, else the local socket. DOCKER_TLS_VERIFY, DOCKER_TLS and
 * DOCKER_CERT_PATH say how to reach a tcp host. Every Docker user in ferry starts from here.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** defaultDockerHost is where the Engine is when nothing else says: the local socket. */
export const defaultDockerHost = 'unix:///var/run/docker.sock';

/** dockerConnectionSources say where a connection's host came from. */
export const dockerConnectionSources = ['explicit', 'DOCKER_HOST', 'context', 'default'] as const;
export type DockerConnectionSource = (typeof dockerConnectionSources)[number];

/** DockerTls is how a tcp connection uses TLS: files are absolute paths, each only when it exists. */
export interface DockerTls {
  /** verify checks the Engine's certificate against caFile (DOCKER_TLS_VERIFY, or a context without SkipTLSVerify). */
  verify: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** DockerConnection is a resolved way to reach a Docker Engine, in ferry's own terms. */
export type DockerConnection = {
  /** host is the address as the user wrote it (or the default), e.g. unix:///var/run/docker.sock. */
  host: string;
  source: DockerConnectionSource;
  /** context is the docker context the host came from, when source is `context`. */
  context?: string;
} & (
  | { transport: 'unix' | 'npipe'; socketPath: string }
  | { transport: 'tcp'; hostname: string; port: number; tls?: DockerTls }
  | { transport: 'ssh'; hostname: string; port: number; username?: string }
);

/** DockerConnectionOptions say what resolveDockerConnection reads; every field has a default. */
export interface DockerConnectionOptions {
  /** host overrides the environment and the context (e.g. a Cluster's spec.connection.docker.host). */
  host?: string;
  /** env supplies DOCKER_HOST, DOCKER_CONTEXT, DOCKER_TLS_VERIFY, DOCKER_TLS, DOCKER_CERT_PATH, DOCKER_CONFIG. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** homeDir holds .docker when DOCKER_CONFIG is unset. Default: env.HOME, else os.homedir(). */
  homeDir?: string;
}

/** dockerConfigDir is the docker CLI's configuration directory: DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(opts: Pick<DockerConnectionOptions, 'env' | 'homeDir'> = {}): string {
  const env = opts.env ?? process.env;
  return env.DOCKER_CONFIG || path.join(opts.homeDir ?? (env.HOME || os.homedir()), '.docker');
}

/**
 * resolveDockerConnection finds the Engine: opts.host, else DOCKER_HOST, else the current docker
 * context (DOCKER_CONTEXT, else config.json's currentContext; `default` means the local socket),
 * else the local socket. Throws an Error fit for a user when the address or the context is unusable.
 */
export function resolveDockerConnection(opts: DockerConnectionOptions = {}): DockerConnection {
  const env = opts.env ?? process.env;
  const configDir = dockerConfigDir(opts);
  if (opts.host) return parseDockerHost(opts.host, { env, configDir, source: 'explicit' });
  if (env.DOCKER_HOST) return parseDockerHost(env.DOCKER_HOST, { env, configDir, source: 'DOCKER_HOST' });
  const context = env.DOCKER_CONTEXT || currentDockerContext(configDir);
  if (context && context !== 'default') return contextConnection(context, { env, configDir });
  return parseDockerHost(defaultDockerHost, { env, configDir, source: 'default' });
}

/** currentDockerContext is config.json's currentContext, or undefined when the file does not name one. */
function currentDockerContext(configDir: string): string | undefined {
  const file = path.join(configDir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const current = (JSON.parse(text) as { currentContext?: unknown }).currentContext;
    return typeof current === 'string' && current ? current : undefined;
  } catch (err) {
    throw new Error(`reading docker config ${file}`, { cause: err });
  }
}

interface ContextMeta {
  Name?: string;
  Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } };
}

/** contextConnection reads a docker context's endpoint from contexts/meta/<sha256(name)>/meta.json, and its TLS files. */
function contextConnection(name: string, r: { env: NodeJS.ProcessEnv; configDir: string }): DockerConnection {
  const id = createHash('sha256').update(name).digest('hex');
  const file = path.join(r.configDir, 'contexts', 'meta', id, 'meta.json');
  let meta: ContextMeta;
  try {
    meta = JSON.parse(fs.readFileSync(file, 'utf8')) as ContextMeta;
  } catch (err) {
    throw new Error(`docker context ${JSON.stringify(name)} cannot be read (${file})`, { cause: err });
  }
  const endpoint = meta.Endpoints?.docker;
  if (!endpoint?.Host) throw new Error(`docker context ${JSON.stringify(name)} names no Docker host (${file})`);
  const files = tlsFiles(path.join(r.configDir, 'contexts', 'tls', id, 'docker'));
  const useTls = Boolean(files.caFile || files.certFile) || endpoint.Host.startsWith('https:');
  // A context carries its own TLS settings: the DOCKER_TLS* variables do not apply to it.
  const conn = parseDockerHost(endpoint.Host, {
    env: {},
    configDir: r.configDir,
    source: 'context',
    tls: useTls ? { verify: !endpoint.SkipTLSVerify, ...files } : undefined,
  });
  conn.context = name;
  return conn;
}

/**
 * parseDockerHost reads one Docker address: unix:///path or /path, npipe://, tcp://host[:port]
 * (2375, or 2376 with TLS), http(s)://, ssh://[user@]host[:port] (22), or host:port.
 */
function parseDockerHost(
  host: string,
  r: { env: NodeJS.ProcessEnv; configDir: string; source: DockerConnectionSource; tls?: DockerTls },
): DockerConnection {
  const base = { host, source: r.source };
  if (host.startsWith('unix://')) return { ...base, transport: 'unix', socketPath: host.slice('unix://'.length) || '/var/run/docker.sock' };
  if (host.startsWith('/')) return { ...base, transport: 'unix', socketPath: host };
  if (host.startsWith('npipe://')) return { ...base, transport: 'npipe', socketPath: host.slice('npipe://'.length) || '//./pipe/docker_engine' };
  const withScheme = host.includes('://') ? host : `tcp://${host}`;
  let url: URL;
  try {
    url = new URL(withScheme.replace(/^tcp:/, 'http:'));
  } catch (err) {
    throw new Error(`${JSON.stringify(host)} is not a Docker address (unix:///path, tcp://host:port or ssh://user@host)`, { cause: err });
  }
  if (!url.hostname) throw new Error(`${JSON.stringify(host)} is not a Docker address: it names no host`);
  if (url.protocol === 'ssh:') {
    const conn: DockerConnection = { ...base, transport: 'ssh', hostname: url.hostname, port: Number(url.port) || 22 };
    if (url.username) conn.username = decodeURIComponent(url.username);
    return conn;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${JSON.stringify(host)} is not a Docker address: unknown scheme ${url.protocol.replace(/:$/, '')}`);
  }
  const verify = Boolean(r.env.DOCKER_TLS_VERIFY);
  let tls = r.tls;
  if (!tls && (verify || r.env.DOCKER_TLS || url.protocol === 'https:')) tls = { verify, ...tlsFiles(r.env.DOCKER_CERT_PATH || r.configDir) };
  const conn: DockerConnection = { ...base, transport: 'tcp', hostname: url.hostname, port: Number(url.port) || (tls ? 2376 : 2375) };
  if (tls) conn.tls = tls;
  return conn;
}

/** tlsFiles names the ca.pem, cert.pem and key.pem of dir that exist. */
function tlsFiles(dir: string): Omit<DockerTls, 'verify'> {
  const out: Omit<DockerTls, 'verify'> = {};
  const pick = (name: string) => {
    const f = path.join(dir, name);
    return fs.existsSync(f) ? f : undefined;
  };
  const caFile = pick('ca.pem');
  const certFile = pick('cert.pem');
  const keyFile = pick('key.pem');
  if (caFile) out.caFile = caFile;
  if (certFile) out.certFile = certFile;
  if (keyFile) out.keyFile = keyFile;
  return out;
}
