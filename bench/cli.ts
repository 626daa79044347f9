/**
 * CLI benchmark: the wall time of `ferry get`, `describe`, `apply`, `delete`, `logs` and
 * `trigger` against a running daemon (median of N runs of each, each a new process as a user
 * runs it), beside `kubectl` doing the same, and beside `node -e 0` (the floor: starting Node).
 * The compiled form (dist/, what an installed ferry runs) and the source form
 * (FERRY_FROM_SOURCE=1: TypeScript through tsx) are both measured.
 * Runnable alone: `npm run build && node --import tsx bench/cli.ts`. FERRY_BENCH_CLI_RUNS sets N (default 9).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ferryBin, startFerryProcess } from '../test/support/daemon.ts';
import { compiledIsFresh } from '../bin/compiled.js';

/** Figures are the medians of one command: wall time and CPU time (user + system) of the process, in ms. */
export interface Figures {
  wallMs: number;
  cpuMs?: number;
}

/** CliFigures are the medians per command, per form. */
export interface CliFigures {
  runs: number;
  loadAverage: string;
  node: Figures;
  compiled: Record<string, Figures>;
  source: Record<string, Figures>;
  kubectl: Record<string, Figures>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]);
};

/** GNU time, when installed, reports the CPU time of each run: a figure the load of the machine disturbs far less than wall time. */
const gnuTime = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** timeOnce runs a command, which must succeed, and returns its wall time and (with GNU time) CPU time in ms. */
function timeOnce(cmd: string, args: string[], env: NodeJS.ProcessEnv): { wall: number; cpu?: number } {
  const cpuFile = gnuTime ? path.join(os.tmpdir(), `ferry-bench-cli-${process.pid}.time`) : undefined;
  const [c, a] = gnuTime ? [gnuTime, ['-f', '%U %S', '-o', cpuFile!, cmd, ...args]] : [cmd, args];
  const t = process.hrtime.bigint();
  const r = spawnSync(c, a, { env, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  if (!cpuFile) return { wall };
  const [user, sys] = fs.readFileSync(cpuFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  fs.rmSync(cpuFile, { force: true });
  return { wall, cpu: (user + sys) * 1000 };
}

/** Samples collects the runs of one command. */
class Samples {
  private wall: number[] = [];
  private cpu: number[] = [];
  add(r: { wall: number; cpu?: number }): void {
    this.wall.push(r.wall);
    if (r.cpu !== undefined) this.cpu.push(r.cpu);
  }
  figures(): Figures {
    return { wallMs: median(this.wall), ...(this.cpu.length ? { cpuMs: median(this.cpu) } : {}) };
  }
}

export async function runCliBench(): Promise<CliFigures> {
  const runs = Number(process.env.FERRY_BENCH_CLI_RUNS) || 9;
  if (!compiledIsFresh(undefined, { ...process.env, FERRY_FROM_SOURCE: '' })) throw new Error('dist/ is stale: run `npm run build` first (npm run bench does)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-cli-'));
  const manifest = path.join(dir, 'objs.yaml');
  fs.writeFileSync(manifest, [
    'apiVersion: tilt.dev/v1alpha1\nkind: FileWatch\nmetadata: {name: bench}\nspec: {watchedPaths: [' + JSON.stringify(dir) + ']}',
    'apiVersion: tilt.dev/v1alpha1\nkind: Cmd\nmetadata: {name: bench-cmd, annotations: {tilt.dev/resource: bench}}\nspec: {args: ["true"]}',
  ].join('\n---\n') + '\n');
  const victim = path.join(dir, 'victim.yaml');
  fs.writeFileSync(victim, 'apiVersion: tilt.dev/v1alpha1\nkind: ConfigMap\nmetadata: {name: victim}\ndata: {a: "1"}\n');
  const ferry = await startFerryProcess({ args: ['--storage', 'memory'], env: { FERRY_FROM_SOURCE: '' } });
  const kubeconfig = ferry.kubeconfigPath;
  try {
    const compiledEnv = { ...process.env, FERRY_FROM_SOURCE: '' };
    const sourceEnv = { ...process.env, FERRY_FROM_SOURCE: '1' };
    const ferryArgs = (args: string[]) => [ferryBin, '--data-dir', ferry.dataDir, ...args];
    timeOnce(process.execPath, ferryArgs(['apply', '-f', manifest]), compiledEnv);

    // Each case: the ferry arguments, kubectl's (when kubectl does the same), and what to run before each timed run.
    const cases: Record<string, { ferry: string[]; kubectl?: string[]; before?: (env: NodeJS.ProcessEnv) => void }> = {
      get: { ferry: ['get', 'filewatches'], kubectl: ['get', 'filewatches'] },
      describe: { ferry: ['describe', 'filewatch', 'bench'], kubectl: ['describe', 'filewatch', 'bench'] },
      apply: { ferry: ['apply', '-f', manifest], kubectl: ['apply', '-f', manifest] },
      delete: {
        ferry: ['delete', 'configmap', 'victim'],
        kubectl: ['delete', 'configmap.tilt.dev', 'victim'],
        before: (env) => timeOnce(process.execPath, ferryArgs(['apply', '-f', victim]), env),
      },
      logs: { ferry: ['logs'] },
      trigger: { ferry: ['trigger', 'bench'] },
    };
    // Runs of ferry (compiled and from source) and kubectl alternate, so that a change in the
    // machine's load meets them alike.
    const sourceRuns = Math.max(3, Math.ceil(runs / 2));
    const compiled: Record<string, Figures> = {};
    const source: Record<string, Figures> = {};
    const kubectl: Record<string, Figures> = {};
    for (const [name, c] of Object.entries(cases)) {
      const samples = { compiled: new Samples(), source: new Samples(), kubectl: new Samples() };
      for (let i = 0; i < runs; i++) {
        c.before?.(compiledEnv);
        samples.compiled.add(timeOnce(process.execPath, ferryArgs(c.ferry), compiledEnv));
        if (i < sourceRuns) {
          c.before?.(compiledEnv);
          samples.source.add(timeOnce(process.execPath, ferryArgs(c.ferry), sourceEnv));
        }
        if (c.kubectl) {
          c.before?.(compiledEnv);
          samples.kubectl.add(timeOnce('kubectl', ['--kubeconfig', kubeconfig, ...c.kubectl], process.env));
        }
      }
      compiled[name] = samples.compiled.figures();
      source[name] = samples.source.figures();
      if (c.kubectl) kubectl[name] = samples.kubectl.figures();
    }
    const node = new Samples();
    for (let i = 0; i < runs; i++) node.add(timeOnce(process.execPath, ['-e', '0'], process.env));
    return { runs, loadAverage: os.loadavg().map((l) => l.toFixed(2)).join(' '), node: node.figures(), compiled, source, kubectl };
  } finally {
    await ferry.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runCliBench(), null, 2));
}
