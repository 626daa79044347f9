/**
 * `ferry doctor`: checks what ferry depends on (the Docker Engine, a registry, the dev cluster's
 * kubeconfig, inotify limits, the data directory and the daemon) and says what to fix.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { DockerEngine } from '../adapters/docker/index.ts';
import { KubeconfigClusters, type ClusterConnection } from '../adapters/kubernetes/index.ts';
import { devContextOf } from '../controllers.ts';
import { FerryClient } from '../client/client.ts';
import type { Cluster } from '../apis/cluster.ts';
import { CliError } from './context.ts';

/** checkStatuses are the outcomes of a check: `fail` makes `ferry doctor` exit with 1. */
export const checkStatuses = ['ok', 'warn', 'fail'] as const;
export type CheckStatus = (typeof checkStatuses)[number];

/** CheckResult is one check's outcome: what was found and, unless ok, the one-line fix. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  message: string;
  fix?: string;
}

/** DoctorOptions say where to look; every default follows what `ferry serve` would use. */
export interface DoctorOptions {
  /** env supplies DOCKER_HOST (and the docker context, TLS settings), FERRY_REGISTRY, FERRY_DATA_DIR, KUBECONFIG and HOME. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** dataDir is the daemon's data directory. Default $FERRY_DATA_DIR, else ~/.ferry. */
  dataDir?: string;
  /** registry (host:port[/path]) to probe. Default $FERRY_REGISTRY, else the running daemon's Cluster registries. */
  registry?: string;
  /** kubeconfig of the dev cluster (`ferry serve --cluster-kubeconfig`). Default as the daemon: $KUBECONFIG, else ~/.kube/config. */
  kubeconfig?: string;
  /** procDir is where the inotify limits are read (sys/fs/inotify/...). Default /proc. */
  procDir?: string;
  /** timeoutMs bounds each network probe. Default 3,000. */
  timeoutMs?: number;
}

/** DoctorReport is every check's result, the lines to print, and whether no check failed. */
export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
  lines: string[];
}

/** inotifyMinimums are the limits below which the inotify check warns. */
export const inotifyMinimums = { maxUserWatches: 65_536, maxUserInstances: 128 } as const;

const inotifyFix =
  'sudo sysctl -w fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 ' +
  '(persist it in /etc/sysctl.d/99-ferry.conf)';

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code;
  const msg = String(e?.message ?? err).split('\n')[0];
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function checkDocker(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CheckResult> {
  const name = 'Docker';
  let engine: DockerEngine;
  try {
    engine = DockerEngine.connect({ env });
  } catch (err) {
    const what = env.DOCKER_HOST ? `DOCKER_HOST ${JSON.stringify(env.DOCKER_HOST)} is not an address` : 'the current docker context is unusable';
    return {
      name,
      status: 'fail',
      message: `${what} (${errText(err)})`,
      fix: env.DOCKER_HOST
        ? 'set DOCKER_HOST to unix:///path/to/docker.sock or tcp://host:port, or unset it'
        : 'select a working context: docker context use NAME (or set DOCKER_CONTEXT)',
    };
  }
  const address = engine.connection.context ? `${engine.host} (docker context ${engine.connection.context})` : engine.host;
  try {
    const v = await withTimeout(engine.version({ timeoutMs }), timeoutMs, 'docker version');
    return { name, status: 'ok', message: `Docker Engine ${v.version} (API ${v.apiVersion}) at ${address}` };
  } catch (err) {
    const text = errText(err);
    const fix = /EACCES/.test(text)
      ? 'give your user the socket\'s group: sudo usermod -aG docker "$USER" (in a container: --group-add "$(stat -c %g /var/run/docker.sock)")'
      : 'start the Docker Engine (dockerd, Docker Desktop), or point DOCKER_HOST at a running one';
    return { name, status: 'fail', message: `no Docker Engine answers at ${address} (${text})`, fix };
  }
}

function httpGet(url: string, opts: { timeoutMs: number; ca?: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { ca: opts.ca, timeout: opts.timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * FerryKubeconfig is the kubeconfig `ferry serve` writes into the data directory, read once:
 * its text (undefined when there is no file), the KubeConfig when it loads, and the error when
 * the file exists but cannot be read.
 */
interface FerryKubeconfig {
  file: string;
  text?: string;
  kubeConfig?: KubeConfig;
  readError?: unknown;
}

function readFerryKubeconfig(dataDir: string): FerryKubeconfig {
  const file = path.join(dataDir, 'kubeconfig');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? { file } : { file, readError: err };
  }
  try {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(text);
    return { file, text, kubeConfig: kubeConfig.getCurrentCluster() ? kubeConfig : undefined };
  } catch {
    return { file, text };
  }
}

/** registriesOfDaemon lists the registries the running daemon's Clusters name. */
async function registriesOfDaemon(own: FerryKubeconfig, timeoutMs: number): Promise<string[]> {
  if (!own.kubeConfig) return [];
  let client: FerryClient | undefined;
  try {
    client = new FerryClient(own.kubeConfig);
    const list = await withTimeout(client.list<Cluster>('Cluster'), timeoutMs, 'listing Clusters');
    const hosts = list.items.map((c) => c.status?.registry?.host ?? c.spec?.defaultRegistry?.host).filter((h): h is string => !!h);
    return [...new Set(hosts)];
  } catch {
    return [];
  } finally {
    client?.close();
  }
}

async function probeRegistry(registry: string, source: string, timeoutMs: number): Promise<CheckResult> {
  const name = 'Registry';
  const host = registry.replace(/^[a-z]+:\/\//, '').split('/')[0];
  const loopback = /^(localhost|127\.[\d.]+|\[::1\])(:\d+)?$/.test(host);
  const schemes = loopback ? ['http', 'https'] : ['https', 'http'];
  let last: unknown;
  for (const scheme of schemes) {
    try {
      const status = await httpGet(`${scheme}://${host}/v2/`, { timeoutMs });
      // 401 is a registry asking for credentials: it answers.
      if (status === 200 || status === 401) return { name, status: 'ok', message: `${host} answers at ${scheme}://${host}/v2/ (${source})` };
      last = new Error(`HTTP ${status}`);
    } catch (err) {
      last = err;
    }
  }
  return {
    name,
    status: 'fail',
    message: `no registry answers at ${host} (${source}; ${errText(last)})`,
    fix: `start the registry at ${host} (e.g. docker run -d -p 127.0.0.1:${host.split(':')[1] ?? '5000'}:5000 registry:2), or correct ${source}`,
  };
}

async function checkRegistry(opts: Required<Pick<DoctorOptions, 'timeoutMs'>> & { registry?: string; env: NodeJS.ProcessEnv; own: FerryKubeconfig }): Promise<CheckResult[]> {
  if (opts.registry) return [await probeRegistry(opts.registry, '--registry', opts.timeoutMs)];
  if (opts.env.FERRY_REGISTRY) return [await probeRegistry(opts.env.FERRY_REGISTRY, 'FERRY_REGISTRY', opts.timeoutMs)];
  const fromClusters = await registriesOfDaemon(opts.own, opts.timeoutMs);
  if (fromClusters.length) return Promise.all(fromClusters.map((r) => probeRegistry(r, 'a Cluster registry', opts.timeoutMs)));
  return [{ name: 'Registry', status: 'ok', message: 'none configured: images stay in the local Docker Engine (set FERRY_REGISTRY or a Cluster spec.defaultRegistry to push)' }];
}

const noKubeconfigFix = 'set KUBECONFIG to your dev cluster\'s kubeconfig (or ferry serve --cluster-kubeconfig FILE), or create a cluster (kind create cluster)';

/**
 * checkKubeconfig names the cluster a KubernetesApply with no `cluster` deploys to: the current
 * context of the dev kubeconfig, resolved as the daemon resolves Cluster `default`, unless that
 * context is ferry's own API server.
 */
async function checkKubeconfig(opts: { kubeconfig?: string; env: NodeJS.ProcessEnv; own: FerryKubeconfig; timeoutMs: number }): Promise<CheckResult> {
  const name = 'Kubernetes';
  const clusters = new KubeconfigClusters({ kubeconfigPath: opts.kubeconfig, env: opts.env, homeDir: opts.env.HOME || os.homedir() });
  const file = clusters.defaultConfigPath();
  if (!file || !fs.existsSync(file)) {
    const where = file ? `at ${file}` : '($KUBECONFIG unset, no ~/.kube/config)';
    return {
      name,
      status: 'warn',
      message: `no kubeconfig ${where}: no Cluster default, so KubernetesApply, KubernetesDiscovery and LiveUpdate into pods are unavailable; Docker ones are fine`,
      fix: noKubeconfigFix,
    };
  }
  let conn: ClusterConnection;
  try {
    conn = clusters.resolve();
  } catch (err) {
    return { name, status: 'fail', message: `kubeconfig ${file} is unusable (${errText(err)})`, fix: `fix ${file}, or select a context: kubectl config use-context NAME` };
  }
  const { kubeConfig: kc, context } = conn;
  const server = kc.getCurrentCluster()?.server;
  const dev = devContextOf(conn, opts.own.kubeConfig?.getCurrentCluster()?.server);
  if (dev.ownApi) {
    return {
      name,
      status: 'warn',
      message: `context ${context} of ${file} is ferry's own API server (${server}), not a dev cluster: no Cluster default, KubernetesApply with no cluster has nowhere to deploy`,
      fix: 'point KUBECONFIG at the dev cluster\'s kubeconfig (not ferry\'s), or start ferry serve --cluster-kubeconfig FILE',
    };
  }
  const target = `KubernetesApply with no cluster deploys to context ${context} of ${file}`;
  try {
    const v = await withTimeout(kc.makeApiClient(VersionApi).getCode(), opts.timeoutMs, `GET ${server}/version`);
    return { name, status: 'ok', message: `${target}: ${server} answers (Kubernetes ${v.gitVersion})` };
  } catch (err) {
    return {
      name,
      status: 'warn',
      message: `${target}: ${server} does not answer /version (${errText(err)})`,
      fix: 'start the cluster, or switch context: kubectl config use-context NAME',
    };
  }
}

function checkInotify(procDir: string): CheckResult {
  const name = 'inotify';
  const read = (f: string) => Number(fs.readFileSync(path.join(procDir, 'sys/fs/inotify', f), 'utf8').trim());
  let watches: number;
  let instances: number;
  try {
    watches = read('max_user_watches');
    instances = read('max_user_instances');
  } catch (err) {
    return { name, status: 'warn', message: `cannot read the inotify limits (${errText(err)})`, fix: 'on Linux: ' + inotifyFix };
  }
  const text = `max_user_watches=${watches}, max_user_instances=${instances}`;
  const low = watches < inotifyMinimums.maxUserWatches || instances < inotifyMinimums.maxUserInstances;
  if (low) return { name, status: 'warn', message: `${text}: FileWatch may run out of watches on big trees`, fix: inotifyFix };
  return { name, status: 'ok', message: text };
}

/** canCreate says whether dir can be made: its nearest existing ancestor is a writable directory. */
function canCreate(dir: string): { ok: true } | { ok: false; reason: string } {
  let p = path.dirname(dir);
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return { ok: false, reason: errText(err) };
    }
    if (st) {
      if (!st.isDirectory()) return { ok: false, reason: `${p} is not a directory` };
      try {
        fs.accessSync(p, fs.constants.W_OK | fs.constants.X_OK);
        return { ok: true };
      } catch (err) {
        return { ok: false, reason: `${p} is not writable (${errText(err)})` };
      }
    }
    const up = path.dirname(p);
    if (up === p) return { ok: false, reason: 'no existing parent' };
    p = up;
  }
}

/** writable tries to create and remove a file in dir: access(2) says yes to root even on a read-only mount. */
function writable(dir: string): { ok: true } | { ok: false; reason: string } {
  const probe = path.join(dir, `.ferry-doctor-${process.pid}`);
  try {
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: errText(err) };
  }
}

function checkDataDir(dir: string): CheckResult {
  const name = 'Data directory';
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    // ENOTDIR: a parent is a file; canCreate below says which.
    if (!['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) {
      return { name, status: 'fail', message: `${dir} cannot be read (${errText(err)})`, fix: 'use --data-dir or FERRY_DATA_DIR to pick a directory you own' };
    }
  }
  if (!st) {
    const c = canCreate(dir);
    if (c.ok) return { name, status: 'ok', message: `${dir} does not exist yet; ferry serve creates it (mode 0700)` };
    return { name, status: 'fail', message: `${dir} cannot be created: ${c.reason}`, fix: 'use --data-dir or FERRY_DATA_DIR to pick a directory you can create' };
  }
  if (!st.isDirectory()) return { name, status: 'fail', message: `${dir} is not a directory`, fix: `remove ${dir}, or pick another with --data-dir or FERRY_DATA_DIR` };
  const w = writable(dir);
  if (!w.ok) return { name, status: 'fail', message: `${dir} is not writable (${w.reason})`, fix: `make it yours: sudo chown -R "$(id -u):$(id -g)" ${dir}; or pick another with --data-dir` };
  const mode = st.mode & 0o777;
  if (mode & 0o077) {
    return { name, status: 'warn', message: `${dir} has mode 0${mode.toString(8)}: others can read the API token`, fix: `chmod 700 ${dir}` };
  }
  return { name, status: 'ok', message: `${dir} is writable, mode 0${mode.toString(8)}` };
}

async function checkDaemon(dir: string, own: FerryKubeconfig, timeoutMs: number): Promise<CheckResult> {
  const name = 'Daemon';
  const { file, text } = own;
  if (text === undefined && !own.readError) return { name, status: 'warn', message: `not running (no kubeconfig at ${file})`, fix: `start it: ferry serve --data-dir ${dir}` };
  let server = '?';
  try {
    if (text === undefined) throw own.readError;
    server = /server: *(\S+)/.exec(text)?.[1] ?? '?';
    const caData = /certificate-authority-data: *(\S+)/.exec(text)?.[1];
    const status = await httpGet(`${server}/healthz`, { timeoutMs, ca: caData ? Buffer.from(caData, 'base64') : undefined });
    if (status === 200) return { name, status: 'ok', message: `ferry answers /healthz at ${server}` };
    return { name, status: 'fail', message: `ferry at ${server} is unhealthy (/healthz: HTTP ${status})`, fix: 'read its log, then restart ferry serve' };
  } catch (err) {
    return {
      name,
      status: 'warn',
      message: `not running: ${file} names ${server}, which does not answer (${errText(err)})`,
      fix: `start it: ferry serve --data-dir ${dir} (the kubeconfig stays valid when it listens on the same port)`,
    };
  }
}

/** formatCheck renders a result as one line, plus an indented fix line unless it is ok. */
export function formatCheck(c: CheckResult): string[] {
  const head = `${`[${c.status}]`.padEnd(7)}${c.name}: ${c.message}`;
  return c.fix && c.status !== 'ok' ? [head, `       fix: ${c.fix}`] : [head];
}

/** runDoctor runs every check; `ok` is false when one of them failed. */
export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? 3_000;
  const dataDir = path.resolve(opts.dataDir || env.FERRY_DATA_DIR || path.join(env.HOME || os.homedir(), '.ferry'));
  const own = readFerryKubeconfig(dataDir);
  const [docker, registry, kube] = await Promise.all([
    checkDocker(env, timeoutMs),
    checkRegistry({ registry: opts.registry, env, own, timeoutMs }),
    checkKubeconfig({ kubeconfig: opts.kubeconfig, env, own, timeoutMs }),
  ]);
  const data = checkDataDir(dataDir);
  const daemon = await checkDaemon(dataDir, own, timeoutMs);
  const checks = [docker, ...registry, kube, checkInotify(opts.procDir ?? '/proc'), data, daemon];
  const fails = checks.filter((c) => c.status === 'fail').length;
  const warns = checks.filter((c) => c.status === 'warn').length;
  const summary = fails
    ? `${fails} check${fails > 1 ? 's' : ''} failed${warns ? `, ${warns} warning${warns > 1 ? 's' : ''}` : ''}: apply the fixes above`
    : `ferry can run${warns ? ` (${warns} warning${warns > 1 ? 's' : ''})` : ''}`;
  return { ok: fails === 0, checks, lines: [...checks.flatMap(formatCheck), summary] };
}

/**
 * registerDoctor adds `ferry doctor` to program; it exits with 1 when a check fails. Its report
 * goes to write (default: standard output).
 */
export function registerDoctor(program: Command, write: (line: string) => void = (line) => process.stdout.write(line + '\n')): Command {
  return program
    .command('doctor')
    .description('check Docker, the registry, the dev cluster, inotify limits and the data directory, and say what to fix')
    .option('--registry <host>', 'registry to check (default $FERRY_REGISTRY, else the registries of the running daemon\'s Clusters)')
    .option('--cluster-kubeconfig <file>', 'kubeconfig of the dev cluster (default $KUBECONFIG or ~/.kube/config)')
    .option('--timeout-ms <ms>', 'how long each network probe may take', '3000')
    .action(async (o: { registry?: string; clusterKubeconfig?: string; timeoutMs: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { dataDir?: string };
      const report = await runDoctor({ dataDir: g.dataDir, registry: o.registry, kubeconfig: o.clusterKubeconfig, timeoutMs: Number(o.timeoutMs) || 3_000 });
      for (const line of report.lines) write(line);
      if (!report.ok) throw new CliError('', 1);
    });
}
