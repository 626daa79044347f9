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

/** CliFigures are median wall times in ms per command, per form. */
export interface CliFigures {
  runs: number;
  loadAverage: string;
  nodeFloorMs: number;
  compiled: Record<string, number>;
  source: Record<string, number>;
  kubectl: Record<string, number>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]);
};

/** timeOnce runs a command and returns its wall time in ms; it must succeed. */
function timeOnce(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
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
    const measure = (env: NodeJS.ProcessEnv, n: number) => {
      const out: Record<string, number> = {};
      for (const [name, c] of Object.entries(cases)) {
        const times: number[] = [];
        for (let i = 0; i < n; i++) {
          c.before?.(env);
          times.push(timeOnce(process.execPath, ferryArgs(c.ferry), env));
        }
        out[name] = median(times);
      }
      return out;
    };
    const kubectl: Record<string, number> = {};
    for (const [name, c] of Object.entries(cases)) {
      if (!c.kubectl) continue;
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        c.before?.(compiledEnv);
        times.push(timeOnce('kubectl', ['--kubeconfig', kubeconfig, ...c.kubectl], process.env));
      }
      kubectl[name] = median(times);
    }
    const floor: number[] = [];
    for (let i = 0; i < runs; i++) floor.push(timeOnce(process.execPath, ['-e', '0'], process.env));
    return {
      runs,
      loadAverage: os.loadavg().map((l) => l.toFixed(2)).join(' '),
      nodeFloorMs: median(floor),
      compiled: measure(compiledEnv, runs),
      source: measure(sourceEnv, Math.max(3, Math.ceil(runs / 2))),
      kubectl,
    };
  } finally {
    await ferry.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runCliBench(), null, 2));
}
