/**
 * `npm run bench`: runs every benchmark (or those named: `npm run bench -- apiserver filewatch`)
 * and prints their figures with the machine they were measured on. BENCHMARKS.md records
 * them against the budget of DESIGN.md. ferry is compiled first, so the daemon the benchmarks
 * start runs as `npm run serve` runs it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const benches: Record<string, { file: string; fn: string }> = {
  apiserver: { file: './apiserver.ts', fn: 'runApiServerBench' },
  runtime: { file: './runtime.ts', fn: 'runRuntimeBench' },
  filewatch: { file: './filewatch.ts', fn: 'runFileWatchBench' },
  liveupdate: { file: './liveupdate.ts', fn: 'runLiveUpdateBench' },
  sync: { file: './sync.ts', fn: 'runSyncBench' },
  cmdimage: { file: './cmdimage.ts', fn: 'runCmdImageBench' },
  memory: { file: './memory.ts', fn: 'runMemoryBench' },
  'kubernetes-loop': { file: './kubernetes-loop.ts', fn: 'runKubernetesLoopBench' },
  cli: { file: './cli.ts', fn: 'runCliBench' },
  dashboard: { file: './dashboard.ts', fn: 'runDashboardBench' },
};

function machine() {
  const docker = (() => {
    try {
      return execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).trim();
    } catch {
      return 'not reachable';
    }
  })();
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    docker,
    loadAverage: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    date: new Date().toISOString(),
  };
}

execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(benches);
const results: Record<string, unknown> = { machine: machine() };
for (const name of names) {
  const b = benches[name];
  if (!b) throw new Error(`no benchmark "${name}"; known: ${Object.keys(benches).join(', ')}`);
  const started = Date.now();
  process.stderr.write(`bench ${name}...\n`);
  const mod = (await import(b.file)) as Record<string, () => Promise<unknown>>;
  results[name] = await mod[b.fn]();
  process.stderr.write(`bench ${name}: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
const out = path.join(import.meta.dirname, 'results');
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
console.log(JSON.stringify(results, null, 2));
