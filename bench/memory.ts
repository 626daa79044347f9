/**
 * Memory benchmark: resident memory of `ferry serve` under the two loads that used to grow it
 * without bound. First, `updates` updates of one 2.5 MiB ConfigMap (the watch history then held
 * every version); then, on a fresh daemon, the same updates while `stuckWatchers` clients hold a
 * watch open and never read it (each then pinned everything written to it).
 * Runnable alone: `node --import tsx bench/memory.ts`.
 *
 * The daemon runs in a child process with durable SQLite storage, on loopback, and every
 * connection is closed before the bench returns. The figure is the process's resident memory
 * (VmRSS) after the updates and its peak (VmHWM), read from /proc.
 */
import fs from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';
import { startFerryProcess } from '../test/support/daemon.ts';
import { compiledIsFresh } from '../bin/compiled.js';
import { leanTarget, rssOf } from './apiserver.ts';

/** boundMB bounds the peak resident memory of both runs (BENCHMARKS.md says why this figure). */
export const boundMB = 700;

export interface MemoryRun {
  updates: number;
  /** Resident memory before the big object is created, after the updates, and at the peak. */
  idleRssMB: number;
  rssMB: number;
  peakRssMB: number;
  /** Resident memory after every tenth of the updates: flat once the history is full. */
  rssTraceMB: number[];
  /** Updates per second, end to end. */
  updatesPerSecond: number;
}

export interface MemoryBench {
  compiled: boolean;
  objectMiB: number;
  boundMB: number;
  updates: MemoryRun;
  stuckWatchers: MemoryRun & {
    watchers: number;
    /** How many of the stuck watches the server closed (seen as ended once the client reads). */
    closedByServer: number;
    /** How many times the server logged closing a watch that fell behind. */
    loggedClosed: number;
  };
  withinBound: boolean;
}

const path = '/apis/tilt.dev/v1alpha1/configmaps';

/** statusKB reads one field (in kB) of /proc/<pid>/status. */
function statusKB(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

/** updateBig writes the ConfigMap `big` `n` times, each time with `bytes` of new data. */
async function updateBig(kubeconfigPath: string, n: number, bytes: number, onTenth: () => void): Promise<number> {
  const { host, port, ca, headers } = leanTarget(kubeconfigPath);
  // A connection per update: the daemon's event loop is busy for a while after each one, long
  // enough at times for its keep-alive timer to close an idle connection as the next request
  // arrives on it, which a client sees as ECONNRESET.
  const agent = new https.Agent({ keepAlive: false, maxSockets: 1, ca });
  const filler = 'x'.repeat(bytes - 16);
  const send = (method: string, url: string, body: string, type: string) =>
    new Promise<void>((resolve, reject) => {
      const req = https.request({ host, port, path: url, method, agent, headers: { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () => (res.statusCode! < 300 ? resolve() : reject(new Error(`${method} ${url}: HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  const data = (i: number) => ({ blob: String(i).padStart(16, '0') + filler });
  const t0 = performance.now();
  try {
    await send('POST', path, JSON.stringify({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name: 'big' }, data: data(0) }), 'application/json');
    for (let i = 1; i <= n; i++) {
      await send('PATCH', `${path}/big`, JSON.stringify({ data: data(i) }), 'application/merge-patch+json').catch((err) => {
        throw new Error(`update ${i} of ${n}, ${((performance.now() - t0) / 1000).toFixed(1)} s in`, { cause: err });
      });
      if (i % Math.max(1, Math.floor(n / 10)) === 0) onTenth();
    }
  } finally {
    agent.destroy();
  }
  return n / ((performance.now() - t0) / 1000);
}

/** stuckWatch opens a watch over a raw TLS connection, reads its response head, and stops reading. */
async function stuckWatch(kubeconfigPath: string): Promise<{ socket: tls.TLSSocket; ended: () => boolean }> {
  const { host, port, ca, headers } = leanTarget(kubeconfigPath);
  const socket = tls.connect({ host, port: Number(port), ca });
  let ended = false;
  socket.on('error', () => (ended = true));
  socket.on('close', () => (ended = true));
  socket.write(`GET ${path}?watch=true HTTP/1.1\r\nHost: ${host}:${port}\r\nAuthorization: ${headers.Authorization}\r\n\r\n`);
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      if (!chunk.toString('latin1').startsWith('HTTP/1.1 200')) reject(new Error(`watch: ${chunk.toString('latin1').split('\r\n')[0]}`));
      socket.off('data', onData);
      socket.pause();
      resolve();
    };
    socket.on('data', onData);
  });
  return { socket, ended: () => ended };
}

/** run starts a fresh daemon, applies `updates` updates with `watchers` stuck watches open. */
async function run(updates: number, bytes: number, watchers: number) {
  const ferry = await startFerryProcess({ args: ['--storage', 'sqlite', '--log-level', 'warn'] });
  const pid = ferry.proc.pid!;
  const stuck: Array<Awaited<ReturnType<typeof stuckWatch>>> = [];
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const idleRssMB = rssOf(pid);
    for (let i = 0; i < watchers; i++) stuck.push(await stuckWatch(ferry.kubeconfigPath));
    const rssTraceMB: number[] = [];
    const updatesPerSecond = await updateBig(ferry.kubeconfigPath, updates, bytes, () => rssTraceMB.push(Math.round(rssOf(pid)))).catch((err) => {
      throw new Error(`updates failed; ferry serve (exit ${ferry.proc.exitCode} ${ferry.proc.signalCode}) said:\n${ferry.output().slice(-4000)}`, { cause: err });
    });
    await new Promise((r) => setTimeout(r, 1000));
    const rssMB = rssOf(pid);
    const peakRssMB = statusKB(pid, 'VmHWM') / 1024;
    // Reading again, a client reaches the end of a watch the server closed.
    for (const w of stuck) w.socket.on('data', () => undefined).resume();
    const deadline = Date.now() + 10_000;
    while (stuck.some((w) => !w.ended()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const closedByServer = stuck.filter((w) => w.ended()).length;
    const loggedClosed = ferry.output().split('\n').filter((l) => l.includes('Closing a watch that fell behind')).length;
    if (ferry.proc.exitCode !== null) throw new Error(`ferry serve exited:\n${ferry.output().slice(-4000)}`);
    return {
      updates,
      idleRssMB: Math.round(idleRssMB),
      rssMB: Math.round(rssMB),
      peakRssMB: Math.round(peakRssMB),
      rssTraceMB,
      updatesPerSecond: Number(updatesPerSecond.toFixed(1)),
      closedByServer,
      loggedClosed,
    };
  } finally {
    for (const w of stuck) w.socket.destroy();
    await ferry.stop();
    fs.rmSync(ferry.dataDir, { recursive: true, force: true });
  }
}

export async function runMemoryBench(opts: { updates?: number; objectBytes?: number; watchers?: number } = {}): Promise<MemoryBench> {
  const updates = opts.updates ?? 1000;
  const bytes = opts.objectBytes ?? 2.5 * 1024 * 1024;
  const watchers = opts.watchers ?? 10;
  const { closedByServer: _c, loggedClosed: _l, ...plain } = await run(updates, bytes, 0);
  const stuck = await run(updates, bytes, watchers);
  return {
    compiled: compiledIsFresh(),
    objectMiB: bytes / 1024 / 1024,
    boundMB,
    updates: plain,
    stuckWatchers: { ...stuck, watchers },
    withinBound: plain.peakRssMB < boundMB && stuck.peakRssMB < boundMB,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const updates = Number(process.env.FERRY_BENCH_UPDATES ?? 1000);
  console.log(JSON.stringify(await runMemoryBench({ updates }), null, 2));
}
