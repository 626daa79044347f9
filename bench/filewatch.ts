/**
 * FileWatch benchmark: each candidate watcher on a tree of 100,000 files in 1,000 directories
 * plus an ignored node_modules of another 100,000 files (generated under the temp dir, removed
 * afterwards). Each candidate runs in its own process, so memory and inotify figures are its own.
 *
 * Figures per candidate: time to ready, resident memory after ready (and the same process's
 * baseline before watching), inotify watches held, watches inside the ignored tree (budget: 0),
 * latency of one change (raw event, before batching), and the time until all of 1,000 and of
 * 10,000 simultaneous changes are reported, raw and as batches (quiet period 200 ms).
 *
 * Run alone: `node --import tsx bench/filewatch.ts [candidate...]`; or call runFileWatchBench().
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createIgnoreMatcher } from '../src/adapters/ignore/matcher.ts';
import { EventBatcher } from '../src/adapters/watch/batcher.ts';
import { ChokidarWatcher } from '../src/adapters/watch/chokidar-watcher.ts';
import type { FileWatcher, FileWatcherOptions } from '../src/adapters/watch/file-watcher.ts';
import { FsWatchWatcher } from '../src/adapters/watch/fs-watch-watcher.ts';
import { inotifyWatchCount, inotifyWatchesUnder } from '../src/adapters/watch/inotify.ts';
import { ParcelWatcher } from '../src/adapters/watch/parcel-watcher.ts';
import { realClock } from '../src/util/clock.ts';

export const candidates = ['fs-watch', 'parcel', 'chokidar'] as const;
export type Candidate = (typeof candidates)[number];

/** Budget of DESIGN.md for a 100,000-file tree with node_modules-style ignores. */
export const fileWatchBudget = { readyMs: 3000, rssMb: 150, ignoredTreeWatches: 0 } as const;

export interface ChangeFigures {
  /** writesMs: how long writing the files took (the floor; this machine's disk is slow). */
  writesMs: number;
  /** rawMs: from the first write until every changed path was reported by the watcher. */
  rawMs: number | null;
  /** afterLastWriteMs: from the last write until every changed path was reported. */
  afterLastWriteMs: number | null;
  /** batchedMs: until every changed path was in a flushed batch. */
  batchedMs: number | null;
  /** batches: how many batches held them. */
  batches: number;
  /** missed: changed paths never reported (within the timeout). */
  missed: number;
}

export interface FileWatchFigures {
  candidate: Candidate;
  readyMs: number;
  baselineRssMb: number;
  rssMb: number;
  inotifyWatches: number;
  ignoredTreeWatches: number;
  oneChangeMs: number | null;
  /** changes1k, changes10k: files rewritten by another process (as git checkout does). */
  changes1k: ChangeFigures;
  changes10k: ChangeFigures;
  /**
   * changes10kBlocked: 10,000 files rewritten while the watching process's event loop is
   * blocked, so the kernel's inotify queue (16,384 events) overflows and drops events.
   */
  changes10kBlocked: ChangeFigures;
  /** nestedDirFilesSeen: files created with `mkdir -p a/b/c` were reported. */
  nestedDirFilesSeen: boolean;
  withinBudget: boolean;
  error?: string;
}

export interface FileWatchBenchOptions {
  candidates?: readonly Candidate[];
  /** dirs × filesPerDir files in the watched tree, and as many in node_modules. Default 1,000 × 100. */
  dirs?: number;
  filesPerDir?: number;
  /** timeoutMs per measured step. Default 60,000. */
  timeoutMs?: number;
  /** treeDir reuses a tree generated earlier with the same sizes (kept afterwards). */
  treeDir?: string;
}

const execFileP = promisify(execFile);
const self = fileURLToPath(import.meta.url);

/** runFileWatchBench generates the tree, measures every candidate in a child process, cleans up. */
export async function runFileWatchBench(opts: FileWatchBenchOptions = {}): Promise<FileWatchFigures[]> {
  const dirs = opts.dirs ?? 1000;
  const filesPerDir = opts.filesPerDir ?? 100;
  const root = opts.treeDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-fw-'));
  try {
    if (!opts.treeDir) generateTree(root, dirs, filesPerDir);
    const out: FileWatchFigures[] = [];
    for (const c of opts.candidates ?? candidates) {
      const { stdout } = await execFileP(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', self, '--child', c, root, String(dirs), String(filesPerDir), String(opts.timeoutMs ?? 60_000)],
        { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60 * 1000 },
      );
      const line = stdout.trim().split('\n').at(-1)!;
      out.push(JSON.parse(line) as FileWatchFigures);
    }
    return out;
  } finally {
    if (!opts.treeDir) fs.rmSync(root, { recursive: true, force: true });
  }
}

/** generateTree writes dirs directories of filesPerDir files under root/src, and as many under root/node_modules. */
export function generateTree(root: string, dirs: number, filesPerDir: number): void {
  const groups = Math.max(1, Math.round(dirs / 100));
  for (let d = 0; d < dirs; d++) {
    const dir = path.join(root, 'src', `g${d % groups}`, `d${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < filesPerDir; f++) fs.writeFileSync(path.join(dir, `f${f}.ts`), 'export {};\n');
    const nm = path.join(root, 'node_modules', `pkg${d}`, 'lib');
    fs.mkdirSync(nm, { recursive: true });
    for (let f = 0; f < filesPerDir; f++) fs.writeFileSync(path.join(nm, `m${f}.js`), 'module.exports = {};\n');
  }
}

function makeWatcher(c: Candidate, opts: FileWatcherOptions, root: string): FileWatcher {
  switch (c) {
    case 'fs-watch':
      return new FsWatchWatcher(opts);
    case 'parcel':
      return new ParcelWatcher({ ...opts, ignoreDirs: [path.join(root, 'node_modules')] });
    case 'chokidar':
      return new ChokidarWatcher(opts);
  }
}

const now = () => performance.timeOrigin + performance.now();

/** writeFiles rewrites files from another process; resolves with its start and end (epoch ms). */
async function writeFiles(files: string[]): Promise<{ start: number; end: number }> {
  const script =
    "const fs=require('fs');let d='';process.stdin.on('data',c=>d+=c).on('end',()=>{const f=JSON.parse(d);" +
    "const s=performance.timeOrigin+performance.now();for(const p of f)fs.writeFileSync(p,'// '+s+'\\n');" +
    "process.stdout.write(JSON.stringify({start:s,end:performance.timeOrigin+performance.now()}))})";
  const { spawn } = await import('node:child_process');
  const p = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (c) => (out += c));
  p.stdin.end(JSON.stringify(files));
  await new Promise((resolve) => p.on('close', resolve));
  return JSON.parse(out) as { start: number; end: number };
}

const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
const ms = (n: number) => Math.round(n * 10) / 10;

/** child measures one candidate in this process and prints its figures as one JSON line. */
async function child(c: Candidate, root: string, dirs: number, filesPerDir: number, timeoutMs: number): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  const baselineRss = process.memoryUsage().rss;
  const seen = new Map<string, number>();
  const batches: { at: number; paths: Set<string> }[] = [];
  let waiter: (() => void) | undefined;
  const batcher = new EventBatcher({
    clock: realClock,
    onBatch: (ps) => {
      batches.push({ at: now(), paths: new Set(ps) });
      waiter?.();
    },
  });
  const watcher = makeWatcher(
    c,
    {
      paths: [root],
      ignore: createIgnoreMatcher([{ basePath: root, patterns: ['node_modules'] }]),
      clock: realClock,
      handlers: {
        onChange: (ps) => {
          const t = now();
          for (const p of ps) if (!seen.has(p)) seen.set(p, t);
          batcher.add(ps);
          waiter?.();
        },
        onBusy: (b) => batcher.setBusy(b),
        onError: () => {},
      },
    },
    root,
  );
  const figures: FileWatchFigures = {
    candidate: c,
    readyMs: 0,
    baselineRssMb: mb(baselineRss),
    rssMb: 0,
    inotifyWatches: 0,
    ignoredTreeWatches: 0,
    oneChangeMs: null,
    changes1k: noChanges(),
    changes10k: noChanges(),
    changes10kBlocked: noChanges(),
    nestedDirFilesSeen: false,
    withinBudget: false,
  };
  const until = async (pred: () => boolean, limitMs = timeoutMs): Promise<boolean> => {
    const deadline = performance.now() + limitMs;
    while (!pred()) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return true;
  };
  const settle = async () => {
    // Let earlier events drain and batches flush before the next step.
    await new Promise((r) => setTimeout(r, 1500));
    seen.clear();
    batches.length = 0;
  };
  const measureChanges = async (files: string[], blockLoop: boolean): Promise<ChangeFigures> => {
    await settle();
    let t0 = now();
    let tEnd: number;
    if (blockLoop) {
      for (const f of files) fs.writeFileSync(f, `// ${t0}\n`);
      tEnd = now();
    } else {
      ({ start: t0, end: tEnd } = await writeFiles(files));
    }
    const rawOk = await until(() => files.every((f) => seen.has(f)));
    const lastSeen = Math.max(...files.map((f) => seen.get(f) ?? 0));
    const rawMs = rawOk ? ms(lastSeen - t0) : null;
    const inBatch = () => files.every((f) => batches.some((b) => b.paths.has(f)));
    const batchOk = await until(inBatch, rawOk ? 15_000 : 1000);
    const holding = batches.filter((b) => files.some((f) => b.paths.has(f)));
    return {
      writesMs: ms(tEnd - t0),
      rawMs,
      afterLastWriteMs: rawOk ? ms(Math.max(0, lastSeen - tEnd)) : null,
      batchedMs: batchOk ? ms(Math.max(...holding.map((b) => b.at)) - t0) : null,
      batches: holding.length,
      missed: files.filter((f) => !seen.has(f)).length,
    };
  };
  try {
    const t0 = performance.now();
    await watcher.start();
    figures.readyMs = ms(performance.now() - t0);
    (globalThis as { gc?: () => void }).gc?.();
    figures.rssMb = mb(process.memoryUsage().rss);
    figures.inotifyWatches = inotifyWatchCount();
    figures.ignoredTreeWatches = inotifyWatchesUnder(path.join(root, 'node_modules'));

    await settle();
    const one = path.join(root, 'src', 'g0', 'd0', 'f0.ts');
    const t1 = now();
    fs.writeFileSync(one, '// one\n');
    if (await until(() => seen.has(one))) figures.oneChangeMs = ms(seen.get(one)! - t1);

    const groups = Math.max(1, Math.round(dirs / 100));
    const pick = (n: number, salt: number) =>
      Array.from({ length: n }, (_, i) => {
        const d = (i + salt) % dirs;
        return path.join(root, 'src', `g${d % groups}`, `d${d}`, `f${Math.floor(i / dirs) % filesPerDir}.ts`);
      });
    figures.changes1k = await measureChanges(pick(1000, 7), false);
    figures.changes10k = await measureChanges(pick(10_000, 13), false);
    figures.changes10kBlocked = await measureChanges(pick(10_000, 17), true);

    await settle();
    const nested = path.join(root, 'src', 'nest', 'a', 'b', 'c');
    fs.mkdirSync(nested, { recursive: true });
    const nestedFile = path.join(nested, 'new.ts');
    fs.writeFileSync(nestedFile, '//\n');
    figures.nestedDirFilesSeen = await until(() => seen.has(nestedFile), 3000);
  } catch (err) {
    figures.error = (err as Error).message;
  } finally {
    batcher.close();
    await watcher.close();
  }
  figures.withinBudget =
    !figures.error &&
    figures.readyMs <= fileWatchBudget.readyMs &&
    figures.rssMb <= fileWatchBudget.rssMb &&
    figures.ignoredTreeWatches === fileWatchBudget.ignoredTreeWatches;
  process.stdout.write(JSON.stringify(figures) + '\n');
}

function noChanges(): ChangeFigures {
  return { writesMs: 0, rawMs: null, afterLastWriteMs: null, batchedMs: null, batches: 0, missed: 0 };
}

/** formatFigures renders the comparison as a table. */
export function formatFigures(rows: FileWatchFigures[]): string {
  const cell = (v: number | null | boolean | undefined) => (v === null || v === undefined ? 'n/a' : String(v));
  const changeCell = (c: ChangeFigures) =>
    `${c.writesMs}/${cell(c.rawMs)}/${cell(c.afterLastWriteMs)}/${cell(c.batchedMs)} (${c.batches}, ${c.missed})`;
  const header = [
    'candidate', 'ready ms', 'RSS MB (base)', 'inotify watches', 'in ignored tree', 'one change ms',
    '1k: writes/all seen/after last write/batched ms (batches, missed)',
    '10k: same', '10k, loop blocked (queue overflow): same', 'nested dir files', 'budget',
  ];
  const lines = rows.map((r) => [
    r.candidate,
    cell(r.readyMs),
    `${r.rssMb} (${r.baselineRssMb})`,
    cell(r.inotifyWatches),
    cell(r.ignoredTreeWatches),
    cell(r.oneChangeMs),
    changeCell(r.changes1k),
    changeCell(r.changes10k),
    changeCell(r.changes10kBlocked),
    r.nestedDirFilesSeen ? 'seen' : 'MISSED',
    (r.withinBudget ? 'within' : 'OVER') + (r.error ? ` (${r.error})` : ''),
  ]);
  return [header, ...lines].map((l) => '| ' + l.join(' | ') + ' |').join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === self) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    await child(args[1] as Candidate, args[2]!, Number(args[3]), Number(args[4]), Number(args[5]));
  } else {
    const chosen = (args.length > 0 ? args : candidates) as Candidate[];
    const rows = await runFileWatchBench({ candidates: chosen, treeDir: process.env.FERRY_BENCH_FW_TREE });
    console.log(formatFigures(rows));
    console.log(JSON.stringify(rows, null, 2));
  }
}
