/**
 * Dashboard benchmark: `ferry serve` holding 500 resources (each a CmdImage waiting for a
 * cluster that does not exist, a FileWatch on a small folder and a LiveUpdate waiting for its
 * service: objects whose controllers stay cheap), and the dashboard in Debian's Chromium.
 * Runnable alone: `node --import tsx bench/dashboard.ts`.
 *
 * Figures:
 * - time to first render: from navigating to the login link to all 500 rows in the table;
 * - object change to page: from sending a label change of one object to the row showing it
 *   (waited for with a DOM mutation observer), over `changes` changes, one at a time;
 * - CPU (user + system, from /proc) of the daemon and of the browser (every process of it),
 *   for each phase, and while idle with the page open.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { FerryClient } from '../src/client/client.ts';
import { loadKubeConfig } from '../src/client/kubeconfig.ts';
import { apiVersion, type KubeObject } from '../src/apis/index.ts';
import { startFerryProcess } from '../test/support/daemon.ts';
import { ensureDashboardBuilt } from '../test/support/dashboard.ts';
import { compiledIsFresh } from '../bin/compiled.js';
import { rssOf } from './apiserver.ts';

const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ticksPerSecond = 100;

/** cpuMs is a process's CPU time (user + system) in ms, from /proc/<pid>/stat. */
function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond;
  } catch {
    return 0;
  }
}

/** treeCpuMs sums cpuMs over pid and every process below it, leaving out the trees of `except`. */
function treeCpuMs(pid: number, except: number[] = []): number {
  const children = new Map<number, number[]>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      let list = children.get(ppid);
      if (!list) children.set(ppid, (list = []));
      list.push(Number(e));
    } catch {
      // Gone meanwhile.
    }
  }
  let total = 0;
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    if (except.includes(p)) continue;
    total += cpuMs(p);
    todo.push(...(children.get(p) ?? []));
  }
  return total;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

export interface DashboardBench {
  compiled: boolean;
  resources: number;
  objects: number;
  createSeconds: number;
  firstRenderMs: number;
  firstRenderCpuMs: { daemon: number; browser: number };
  changes: number;
  changeToPageMs: { p50: number; p95: number; max: number };
  cpuPerChangeMs: { daemon: number; browser: number };
  idleCpuMsPerSecond: { daemon: number; browser: number };
  daemonRssMB: number;
}

export async function runDashboardBench(opts: { resources?: number; changes?: number } = {}): Promise<DashboardBench> {
  const n = opts.resources ?? 500;
  const changes = opts.changes ?? 40;
  ensureDashboardBuilt();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-dashboard-'));
  const ferry = await startFerryProcess({ cwd: work, args: ['--storage', 'memory', '--dashboard-port', 'auto', '--log-level', 'warn'] });
  const pid = ferry.proc.pid!;
  const client = new FerryClient(loadKubeConfig(ferry.kubeconfigPath));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
  try {
    const created = Date.now();
    const objects: KubeObject[] = [];
    for (let i = 0; i < n; i++) {
      const r = `svc-${String(i).padStart(3, '0')}`;
      const dir = path.join(work, r);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'main.txt'), r);
      const annotations = { 'tilt.dev/resource': r };
      const labels = { team: `team-${i % 7}` };
      objects.push(
        { apiVersion, kind: 'FileWatch', metadata: { name: `${r}-src`, annotations, labels }, spec: { watchedPaths: [dir] } },
        { apiVersion, kind: 'CmdImage', metadata: { name: `${r}-image`, annotations, labels }, spec: { ref: `bench/${r}`, args: ['true'], cluster: 'no-such-cluster' } },
        {
          apiVersion,
          kind: 'LiveUpdate',
          metadata: { name: r, annotations, labels },
          spec: { basePath: dir, selector: { dockerCompose: { service: r } }, sources: [{ fileWatch: `${r}-src` }], syncs: [{ localPath: '.', containerPath: '/app' }] },
        },
      );
    }
    // 16 in flight.
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < objects.length) await client.create(objects[next++]);
    }));
    const createSeconds = (Date.now() - created) / 1000;
    // Let the controllers settle (every FileWatch started, every CmdImage waiting): wait until
    // the daemon uses under 5% of a core over a second, for at most a minute.
    for (let i = 0; i < 60; i++) {
      const c = treeCpuMs(pid);
      await new Promise((r) => setTimeout(r, 1000));
      if (treeCpuMs(pid) - c < 50) break;
    }

    const link = /dashboard: (\S+)/.exec(ferry.output())![1];
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // The browser is every process below this one but the daemon.
    const browserCpu = () => treeCpuMs(process.pid, [pid]) - cpuMs(process.pid);
    let d0 = treeCpuMs(pid);
    let b0 = browserCpu();
    const t0 = performance.now();
    await page.goto(link);
    await page.waitForFunction((want) => document.querySelectorAll('tr[data-resource]').length === want, n, { polling: 10, timeout: 60_000 });
    const firstRenderMs = performance.now() - t0;
    const firstRenderCpuMs = { daemon: treeCpuMs(pid) - d0, browser: browserCpu() - b0 };

    await new Promise((r) => setTimeout(r, 1000));
    d0 = treeCpuMs(pid);
    b0 = browserCpu();
    const samples: number[] = [];
    for (let i = 0; i < changes; i++) {
      const r = `svc-${String((i * 37) % n).padStart(3, '0')}`;
      // A DOM mutation observer in the page notes the wall-clock time the row shows the change.
      // (A string: the bench runs through tsx, whose helpers do not exist in the page.)
      await page.evaluate(`window.benchSeen = new Promise((resolve) => {
        const has = () => document.querySelector('tr[data-resource="${r}"] .labels')?.textContent?.includes('bench=c${i}') ?? false;
        const obs = new MutationObserver(() => {
          if (!has()) return;
          obs.disconnect();
          resolve(Date.now());
        });
        obs.observe(document.body, { subtree: true, childList: true, characterData: true });
      }); 0`);
      const t = Date.now();
      await client.patch('CmdImage', `${r}-image`, { metadata: { labels: { bench: `c${i}` } } });
      const seenAt = (await page.evaluate('window.benchSeen')) as number;
      samples.push(seenAt - t);
    }
    const cpuPerChangeMs = { daemon: (treeCpuMs(pid) - d0) / changes, browser: (browserCpu() - b0) / changes };

    d0 = treeCpuMs(pid);
    b0 = browserCpu();
    const idleSeconds = 10;
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const idleCpuMsPerSecond = { daemon: (treeCpuMs(pid) - d0) / idleSeconds, browser: (browserCpu() - b0) / idleSeconds };
    const round = (x: number) => Math.round(x * 10) / 10;
    return {
      compiled: !process.env.FERRY_FROM_SOURCE && compiledIsFresh(),
      resources: n,
      objects: objects.length,
      createSeconds: round(createSeconds),
      firstRenderMs: Math.round(firstRenderMs),
      firstRenderCpuMs: { daemon: Math.round(firstRenderCpuMs.daemon), browser: Math.round(firstRenderCpuMs.browser) },
      changes,
      changeToPageMs: { p50: round(quantile(samples, 0.5)), p95: round(quantile(samples, 0.95)), max: round(Math.max(...samples)) },
      cpuPerChangeMs: { daemon: round(cpuPerChangeMs.daemon), browser: round(cpuPerChangeMs.browser) },
      idleCpuMsPerSecond: { daemon: round(idleCpuMsPerSecond.daemon), browser: round(idleCpuMsPerSecond.browser) },
      daemonRssMB: Math.round(rssOf(pid)),
    };
  } finally {
    await browser.close();
    client.close();
    await ferry.stop();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(ferry.dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runDashboardBench(), null, 2));
}
