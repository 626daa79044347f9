/**
 * API server benchmark: creates per second with durable (SQLite) storage, watch delivery
 * latency with 100 concurrent watchers, and resident memory with 10,000 objects.
 * Runnable alone: `node --import tsx bench/apiserver.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Watch } from '@kubernetes/client-node';
import { FerryClient } from '../src/client/client.ts';
import type { KubeObject } from '../src/apis/meta.ts';
import { loadKubeConfig } from '../src/client/kubeconfig.ts';
import { startFerryProcess } from '../test/support/daemon.ts';

export interface ApiServerBench {
  createsPerSecond: number;
  creates: number;
  concurrency: number;
  watchers: number;
  watchEvents: number;
  watchLatencyP50Ms: number;
  watchLatencyP99Ms: number;
  objects: number;
  rssMB: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

export async function runApiServerBench(opts: { creates?: number; concurrency?: number; watchers?: number; watchEvents?: number; objects?: number } = {}): Promise<ApiServerBench> {
  const creates = opts.creates ?? 5000;
  const concurrency = opts.concurrency ?? 32;
  const watchers = opts.watchers ?? 100;
  const watchEvents = opts.watchEvents ?? 200;
  const objects = opts.objects ?? 10_000;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-'));
  const ferry = await startFerryProcess({ dataDir, args: ['--storage', 'sqlite', '--log-level', 'warn'] });
  const kc = loadKubeConfig(ferry.kubeconfigPath);
  const client = new FerryClient(kc);
  try {
    // Creates per second, durable storage, `concurrency` requests in flight.
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
    const createsPerSecond = creates / ((performance.now() - t0) / 1000);

    // Watch delivery latency: 100 watchers of ImageMaps; each event carries its send time.
    const latencies: number[] = [];
    const sentAt = new Map<string, number>();
    const watch = new Watch(kc);
    let received = 0;
    const controllers = await Promise.all(
      Array.from({ length: watchers }, () =>
        watch.watch('/apis/tilt.dev/v1alpha1/imagemaps', {}, (_type, obj) => {
          const t = sentAt.get(obj.metadata.resourceVersion);
          if (t !== undefined) latencies.push(performance.now() - t);
          received++;
        }, () => undefined),
      ),
    );
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < watchEvents; i++) {
      const before = performance.now();
      const obj = await client.create<KubeObject>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name: `watched-${i}` }, spec: { selector: 'app' } });
      // The send time is taken before the create: it includes the write itself, a conservative figure.
      sentAt.set(obj.metadata.resourceVersion!, before);
      await new Promise((r) => setTimeout(r, 5));
    }
    const deadline = Date.now() + 10_000;
    while (latencies.length < watchers * watchEvents && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const c of controllers) c.abort();
    void received;

    // Memory with `objects` objects stored.
    const have = creates + watchEvents;
    next = have;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < objects) {
          const i = next++;
          await client.create({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: `fw-${i}`, labels: { bench: 'yes' } }, spec: { watchedPaths: [`/src/${i}`], ignores: [{ basePath: `/src/${i}`, patterns: ['node_modules', '*.log'] }] } });
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    const rssMB = rssOf(ferry.proc.pid!);
    return {
      createsPerSecond: Math.round(createsPerSecond),
      creates,
      concurrency,
      watchers,
      watchEvents,
      watchLatencyP50Ms: Number(pct(latencies, 50).toFixed(2)),
      watchLatencyP99Ms: Number(pct(latencies, 99).toFixed(2)),
      objects: Math.max(objects, have),
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
