/**
 * Runtime benchmark: 1,000 ConfigMaps through a trivial reconciler (it reads the object from
 * the cache) against the embedded API server (memory storage, in-process, HTTPS).
 *
 * Figures:
 * - applyMs: creating the 1,000 objects (20 requests in flight);
 * - allReconciledMs: from the first create until every name has been reconciled;
 * - lagAfterLastCreateMs: from the last create's answer until the last reconcile;
 * - startupSyncMs: a fresh manager over those 1,000 objects: start() to all reconciled (list path);
 * - overheadUsPerReconcile: the runtime alone (work queue, worker pool, metrics, logging, no I/O):
 *   100,000 keys through a no-op reconciler, divided by the count;
 * - eventToReconcileUs: from an informer event being handled to the reconcile starting (median).
 *
 * Run alone: `node --import tsx bench/runtime.ts`; or call runRuntimeBench().
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { startApiServer } from '../src/apiserver/server.ts';
import type { ConfigMap } from '../src/apis/configmap.ts';
import { FerryClient } from '../src/client/client.ts';
import { silentLogger } from '../src/log.ts';
import { realClock } from '../src/util/clock.ts';
import { Controller } from '../src/runtime/controller.ts';
import { Manager } from '../src/runtime/manager.ts';
import { RuntimeMetrics } from '../src/runtime/metrics.ts';
import { defaultControllerRateLimiter } from '../src/runtime/rate-limiter.ts';
import type { Reconciler } from '../src/runtime/reconciler.ts';

export interface RuntimeFigures {
  objects: number;
  applyMs: number;
  allReconciledMs: number;
  lagAfterLastCreateMs: number;
  reconciles: number;
  startupSyncMs: number;
  overheadUsPerReconcile: number;
  eventToReconcileUsMedian: number;
}

export async function runRuntimeBench(opts: { objects?: number; inFlight?: number; overheadKeys?: number } = {}): Promise<RuntimeFigures> {
  const objects = opts.objects ?? 1000;
  const inFlight = opts.inFlight ?? 20;
  const log = silentLogger();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-runtime-'));
  const server = await startApiServer({ storage: 'memory', dataDir, log, writeKubeconfig: false });
  try {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(server.kubeconfig);

    // 1. Apply N objects to a running manager.
    const mgr = new Manager({ kubeConfig, log });
    const reconciledAt = new Map<string, number>();
    const eventAt = new Map<string, number>();
    const lags: number[] = [];
    let reconciles = 0;
    const trivial: Reconciler = {
      async reconcile(req) {
        reconciles++;
        const now = performance.now();
        const seen = eventAt.get(req.name);
        if (seen !== undefined && !reconciledAt.has(req.name)) lags.push((now - seen) * 1000);
        mgr.cache.get('ConfigMap', req.name);
        reconciledAt.set(req.name, now);
      },
    };
    mgr.controller('bench', { concurrency: 4 }).for('ConfigMap').complete(trivial);
    mgr.cache.inform('ConfigMap').onEvent((ev) => {
      if (!eventAt.has(ev.obj.metadata.name!)) eventAt.set(ev.obj.metadata.name!, performance.now());
    });
    await mgr.start();

    const client = new FerryClient(kubeConfig);
    const names = Array.from({ length: objects }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < names.length) {
          const name = names[next++];
          await client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name }, data: { key: name } });
        }
      }),
    );
    const tCreated = performance.now();
    await until(() => reconciledAt.size >= objects);
    const tLast = Math.max(...reconciledAt.values());
    await mgr.stop();

    // 2. A fresh manager over the same objects: the startup path (list, sync, reconcile all).
    const mgr2 = new Manager({ kubeConfig, log });
    const seen2 = new Set<string>();
    mgr2.controller('bench', { concurrency: 4 }).for('ConfigMap').complete({ reconcile: async (req) => void seen2.add(req.name) });
    const s0 = performance.now();
    await mgr2.start();
    await until(() => seen2.size >= objects);
    const startupSyncMs = performance.now() - s0;
    await mgr2.stop();
    client.close();

    const overheadUsPerReconcile = await runtimeOverhead(opts.overheadKeys ?? 100_000);
    lags.sort((a, b) => a - b);
    return {
      objects,
      applyMs: round(tCreated - t0),
      allReconciledMs: round(tLast - t0),
      lagAfterLastCreateMs: round(Math.max(0, tLast - tCreated)),
      reconciles,
      startupSyncMs: round(startupSyncMs),
      overheadUsPerReconcile: round(overheadUsPerReconcile, 2),
      eventToReconcileUsMedian: round(lags[Math.floor(lags.length / 2)] ?? NaN),
    };
  } finally {
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** runtimeOverhead pushes `keys` distinct keys through a Controller with a no-op reconciler: µs per reconcile. */
async function runtimeOverhead(keys: number): Promise<number> {
  const metrics = new RuntimeMetrics(new Registry());
  let done = 0;
  const c = new Controller({
    name: 'overhead',
    reconciler: { reconcile: async () => void done++ },
    clock: realClock,
    log: silentLogger(),
    rateLimiter: defaultControllerRateLimiter(realClock),
    concurrency: 4,
    queueMetrics: metrics.queue('overhead'),
    metrics: metrics.controller('overhead'),
  });
  c.start();
  const t0 = performance.now();
  for (let i = 0; i < keys; i++) c.enqueue(`k${i}`);
  await until(() => done >= keys, 0);
  const us = ((performance.now() - t0) * 1000) / keys;
  await c.stop();
  return us;
}

async function until(cond: () => boolean, pollMs = 1): Promise<void> {
  const deadline = performance.now() + 120_000;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error('benchmark timed out');
    await new Promise((r) => (pollMs ? setTimeout(r, pollMs) : setImmediate(r)));
  }
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const figures = await runRuntimeBench();
  console.log(JSON.stringify(figures, null, 2));
}
