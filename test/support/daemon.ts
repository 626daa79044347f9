/**
 * startFerryProcess runs `ferry serve` as a real process, the way a user starts it, and
 * waits until it is ready (its kubeconfig written and the daemon reporting ready).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from './wait.ts';

export const ferryBin = path.resolve(import.meta.dirname, '../../bin/ferry.js');

/**
 * madeDataDirs are the data directories startFerryProcess made. A test may start a daemon again
 * on one after a stop, so they go when the test process exits, not at stop.
 */
const madeDataDirs: string[] = [];
process.once('exit', () => {
  for (const dir of madeDataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** newDataDir makes a data directory that is removed when the test process exits. */
export function newDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-proc-'));
  madeDataDirs.push(dir);
  return dir;
}

export interface FerryProcess {
  proc: ChildProcess;
  dataDir: string;
  kubeconfigPath: string;
  output(): string;
  /** stop sends SIGTERM and waits for the exit code. */
  stop(): Promise<number | null>;
  /** kill9 kills the process without letting it clean up. */
  kill9(): Promise<void>;
}

export async function startFerryProcess(
  opts: { dataDir?: string; args?: string[]; cwd?: string; env?: Record<string, string>; kubeconfig?: string } = {},
): Promise<FerryProcess> {
  const dataDir = opts.dataDir ?? newDataDir();
  const kubeconfigPath = opts.kubeconfig ?? path.join(dataDir, 'kubeconfig');
  if (!opts.kubeconfig) fs.rmSync(kubeconfigPath, { force: true });
  const external = opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : [];
  // Tests run side by side: each daemon takes a free port unless the test names one.
  const port = opts.args?.includes('--port') ? [] : ['--port', '0'];
  const proc = spawn(process.execPath, [ferryBin, '--data-dir', dataDir, ...external, 'serve', '--log-format', 'json', ...port, ...(opts.args ?? [])], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  let dead = false;
  exited.then(() => (dead = true));
  await waitFor(() => {
    if (dead) throw new Error(`ferry serve exited early:\n${out}`);
    return / is (serving at|running its controllers) /.test(out) && fs.existsSync(kubeconfigPath);
  }, { timeoutMs: 60_000, intervalMs: 50 });
  return {
    proc,
    dataDir,
    kubeconfigPath,
    output: () => out,
    async stop() {
      if (!dead) proc.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      if (!dead) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** runFerry runs a ferry client command and returns its exit code and output. */
export function runFerry(args: string[], opts: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCommand(process.execPath, [ferryBin, ...args], opts);
}

export function runCommand(cmd: string, args: string[], opts: { input?: string; env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    p.on('error', reject);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(opts.input ?? '');
  });
}
