/**
 * API server benchmark: creates per second with durable (SQLite) storage, watch delivery
 * latency with 100 concurrent watchers, and resident memory with 10,000 objects.
 * Runnable alone: `node --import tsx bench/apiserver.ts`.
 *
 * `ferry serve` runs in a child process, compiled when dist/ is fresh (`npm run build`), as
 * `npm run serve` runs it. The creates are sent two ways: by a lean keep-alive HTTPS client, so
 * the figure is the server's, and by @kubernetes/client-node, whose own cost per request shares
 * the machine's cores with the server. The server's CPU time per create is read from /proc,
 * a figure that does not depend on what else the machine is doing. A warm-up round comes first.
 */
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Watch } from '@kubernetes/client-node';
import { FerryClient } from '../src/client/client.ts';
import type { KubeObject } from '../src/apis/meta.ts';
import { loadKubeConfig } from '../src/client/kubeconfig.ts';
import { startFerryProcess } from '../test/support/daemon.ts';
import { compiledIsFresh } from '../bin/compiled.js';

export interface ApiServerBench {
  /** Creates per second from the lean HTTPS client, the best of `rounds`. */
  createsPerSecond: number;
  /** Each round's creates per second from the lean client. */
  createsPerSecondRounds: number[];
  /** Server CPU time (user + system) per create, in the best round. */
  serverCpuMicrosPerCreate: number;
  /** Creates per second with @kubernetes/client-node as the client. */
  clientNodeCreatesPerSecond: number;
  compiled: boolean;
  creates: number;
  concurrency: number;
  watchers: number;
  watchEvents: number;
  /** Watch delivery latency to lean watchers, from before the create is sent to each arrival. */
  watchLatencyP50Ms: number;
  watchLatencyP99Ms: number;
  /** Events delivered of watchers × watchEvents expected. */
  watchDelivered: number;
  /** The same, with the watchers in @kubernetes/client-node (its Watch), all in one process. */
  clientNodeWatchLatencyP50Ms: number;
  clientNodeWatchLatencyP99Ms: number;
  objects: number;
  /** Resident memory of a fresh daemon, idle, and then holding `objects` objects. */
  idleRssMB: number;
  rssMB: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** cpuMicros is a process's user + system CPU time so far. */
function cpuMicros(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // clock ticks of 10 ms
}

/** leanTarget is what the lean clients need of a kubeconfig: where, the CA and the token. */
export function leanTarget(kubeconfigPath: string) {
  const kc = loadKubeConfig(kubeconfigPath);
  const cluster = kc.getCurrentCluster()!;
  const u = new URL(cluster.server);
  return { host: u.hostname, port: u.port, ca: Buffer.from(cluster.caData!, 'base64'), headers: { Authorization: `Bearer ${kc.getCurrentUser()!.token}` } };
}

/** leanCreates sends `n` ConfigMap creates, `concurrency` at a time, over keep-alive HTTPS. */
async function leanCreates(
  kubeconfigPath: string,
  prefix: string,
  n: number,
  concurrency: number,
  content: (name: string) => { labels?: Record<string, string>; data: Record<string, string> } = (name) => ({ data: { name } }),
): Promise<void> {
  const { host, port, ca, headers } = leanTarget(kubeconfigPath);
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ca });
  const post = (name: string) =>
    new Promise<void>((resolve, reject) => {
      const { labels, data } = content(name);
      const body = JSON.stringify({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name, labels }, data });
      const req = https.request(
        { host, port, path: '/apis/tilt.dev/v1alpha1/configmaps', method: 'POST', agent, headers: { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`create ${name}: HTTP ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  try {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < n) await post(`${prefix}-${next++}`);
    }));
  } finally {
    agent.destroy();
  }
}

/** leanWatch watches ImageMaps over HTTPS, calling onEvent with each object's name; returns a stop. */
async function leanWatch(kubeconfigPath: string, onEvent: (name: string) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { ...leanTarget(kubeconfigPath), path: '/apis/tilt.dev/v1alpha1/imagemaps?watch=true' },
      (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            onEvent((JSON.parse(buf.slice(0, nl)) as { object: KubeObject }).object.metadata.name!);
            buf = buf.slice(nl + 1);
          }
        });
        res.on('error', () => undefined);
        resolve(() => req.destroy());
      },
    );
    req.on('error', reject);
  });
}

/**
 * watchLatency opens `watchers` watches, creates `events` ImageMaps one after another and
 * times each arrival from just before its create was sent.
 */
async function watchLatency(
  client: FerryClient,
  watchers: number,
  events: number,
  prefix: string,
  open: (onEvent: (name: string) => void) => Promise<() => void>,
): Promise<{ p50: number; p99: number; delivered: number }> {
  const latencies: number[] = [];
  const sentAt = new Map<string, number>();
  const onEvent = (name: string) => {
    const t = sentAt.get(name);
    if (t !== undefined) latencies.push(performance.now() - t);
  };
  const stops = await Promise.all(Array.from({ length: watchers }, () => open(onEvent)));
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < events; i++) {
    const name = `${prefix}-watched-${i}`;
    sentAt.set(name, performance.now());
    await client.create<KubeObject>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name }, spec: { selector: 'app' } });
    await new Promise((r) => setTimeout(r, 5));
  }
  const deadline = Date.now() + 10_000;
  while (latencies.length < watchers * events && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const stop of stops) stop();
  return { p50: Number(pct(latencies, 50).toFixed(2)), p99: Number(pct(latencies, 99).toFixed(2)), delivered: latencies.length };
}

/** rssOf is a process's resident memory in MB. */
export function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

export async function runApiServerBench(opts: { creates?: number; rounds?: number; concurrency?: number; watchers?: number; watchEvents?: number; objects?: number } = {}): Promise<ApiServerBench> {
  const creates = opts.creates ?? 5000;
  const rounds = opts.rounds ?? 3;
  const concurrency = opts.concurrency ?? 32;
  const watchers = opts.watchers ?? 100;
  const watchEvents = opts.watchEvents ?? 200;
  const objects = opts.objects ?? 10_000;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-'));
  const ferry = await startFerryProcess({ dataDir, args: ['--storage', 'sqlite', '--log-level', 'warn'] });
  const pid = ferry.proc.pid!;
  const compiled = compiledIsFresh();
  const kc = loadKubeConfig(ferry.kubeconfigPath);
  const client = new FerryClient(kc);
  try {
    // Creates per second, durable storage, `concurrency` requests in flight.
    await leanCreates(ferry.kubeconfigPath, 'warmup', 1000, concurrency);
    const measured: Array<{ perSecond: number; cpuPerCreate: number }> = [];
    for (let r = 0; r < rounds; r++) {
      const cpu0 = cpuMicros(pid);
      const t0 = performance.now();
      await leanCreates(ferry.kubeconfigPath, `lean${r}`, creates, concurrency);
      measured.push({ perSecond: creates / ((performance.now() - t0) / 1000), cpuPerCreate: (cpuMicros(pid) - cpu0) / creates });
    }
    const best = measured.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));

    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < creates) {
          const i = next++;
          await client.create({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name: `create-${i}` }, data: { i: String(i) } });
        }
      }),
    );
    const clientNodeCreatesPerSecond = creates / ((performance.now() - t0) / 1000);

    // Watch delivery latency: 100 watchers of ImageMaps, lean ones and then client-node ones.
    const lean = await watchLatency(client, watchers, watchEvents, 'lean', (onEvent) => leanWatch(ferry.kubeconfigPath, onEvent));
    const watch = new Watch(kc);
    const viaClientNode = await watchLatency(client, watchers, watchEvents, 'cn', async (onEvent) => {
      const c = await watch.watch('/apis/tilt.dev/v1alpha1/imagemaps', {}, (_type, obj) => onEvent(obj.metadata.name), () => undefined);
      return () => c.abort();
    });

    // Memory: a fresh daemon, idle, then holding `objects` ConfigMaps (no controller acts on them).
    const fresh = await startFerryProcess({ args: ['--storage', 'sqlite', '--log-level', 'warn'] });
    await new Promise((r) => setTimeout(r, 2000));
    const idleRssMB = rssOf(fresh.proc.pid!);
    await leanCreates(fresh.kubeconfigPath, 'held', objects, concurrency, (name) => ({
      labels: { app: 'bench', tier: name.length % 2 ? 'web' : 'db' },
      data: { name, config: `listen: 8080\nworkers: 4\nlog: info\npath: /srv/${name}\n` },
    }));
    await new Promise((r) => setTimeout(r, 1000));
    const rssMB = rssOf(fresh.proc.pid!);
    await fresh.stop();
    fs.rmSync(fresh.dataDir, { recursive: true, force: true });
    return {
      createsPerSecond: Math.round(best.perSecond),
      createsPerSecondRounds: measured.map((m) => Math.round(m.perSecond)),
      serverCpuMicrosPerCreate: Math.round(best.cpuPerCreate),
      clientNodeCreatesPerSecond: Math.round(clientNodeCreatesPerSecond),
      compiled,
      creates,
      concurrency,
      watchers,
      watchEvents,
      watchLatencyP50Ms: lean.p50,
      watchLatencyP99Ms: lean.p99,
      watchDelivered: lean.delivered,
      clientNodeWatchLatencyP50Ms: viaClientNode.p50,
      clientNodeWatchLatencyP99Ms: viaClientNode.p99,
      objects,
      idleRssMB: Math.round(idleRssMB),
      rssMB: Math.round(rssMB),
    };
  } finally {
    client.close();
    await ferry.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runApiServerBench(), null, 2));
}
