/**
 * `ferry ci`: one command for CI pipelines. It starts a throwaway daemon (or uses the one
 * of --kubeconfig), applies the objects, runs a Session with `exitCondition: ci`, shows the
 * targets as they change and the build and exec output, and ends with a summary table.
 * Exit 0 when the session is done without error, 1 otherwise; it never waits past the
 * timeout, and it removes what it started unless told to keep it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'winston';
import type { KubeObject } from '../apis/meta.ts';
import type { Session, Target } from '../apis/session.ts';
import { FerryClient } from '../client/client.ts';
import { isNotFound } from '../client/errors.ts';
import { startDaemon, type Daemon } from '../daemon.ts';
import { createLogger } from '../log.ts';
import { applyOne } from './apply.ts';
import { CliError } from './context.ts';
import { kubeConfigFor } from './node-client.ts';
import { readManifests } from './manifests.ts';
import { formatLogLine, streamLogs } from './logs.ts';
import { formatGoDuration } from '../apis/go.ts';

export interface CiOptions {
  files: string[];
  /** timeoutMs for the whole run. Default 30 minutes. */
  timeoutMs?: number;
  /** kubeconfig of a running daemon or API server to use instead of starting one. */
  kubeconfig?: string;
  context?: string;
  /** keep leaves the objects (and so their containers) in place. */
  keep?: boolean;
  out?: (line: string) => void;
  /** log is the throwaway daemon's logger. Default: warnings and errors to stderr. */
  log?: Logger;
  cwd?: string;
  /** pollMs between looks at the Session. Default 200. */
  pollMs?: number;
}

function targetState(t: Target): string {
  const s = t.state;
  if (s.disabled) return 'disabled';
  if (s.waiting) return `waiting: ${s.waiting.waitReason}`;
  if (s.active) return s.active.ready ? 'ready' : 'running, not ready';
  if (s.terminated) return s.terminated.error ? `error: ${s.terminated.error}` : 'done';
  return 'inactive';
}

/** summary renders the targets as a table, as the run ends. */
export function summaryTable(targets: Target[]): string[] {
  const rows = targets.map((t) => [t.name, t.type, targetState(t)]);
  const head = ['TARGET', 'TYPE', 'STATE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('   ');
  return [fmt(head), ...rows.map(fmt)];
}

export async function runCi(opts: CiOptions): Promise<number> {
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const manifests = readManifests(opts.files);
  let daemon: Daemon | undefined;
  let dataDir: string | undefined;
  let client: FerryClient;
  const stopLogs = new AbortController();
  if (opts.kubeconfig) {
    const kc = kubeConfigFor({ kubeconfig: opts.kubeconfig, context: opts.context });
    client = new FerryClient(kc);
    streamLogs(kc, { follow: true, out, signal: stopLogs.signal }).catch(() => undefined);
  } else {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-ci-'));
    daemon = await startDaemon({
      dataDir,
      storage: 'memory',
      log: opts.log ?? createLogger({ level: 'warn', format: 'pretty' }),
      cwd: opts.cwd ?? process.cwd(),
    });
    client = new FerryClient(daemon.kubeConfig);
    const unsubscribe = daemon.logs.subscribe((l) => out(formatLogLine(l, true)));
    stopLogs.signal.addEventListener('abort', unsubscribe);
  }

  const applied: KubeObject[] = [];
  let session: Session | undefined;
  try {
    for (const m of manifests) {
      out(await applyOne(client, m));
      applied.push(m.object);
    }
    session = await client.create<Session>({
      apiVersion: 'tilt.dev/v1alpha1',
      kind: 'Session',
      metadata: { generateName: 'ci-' },
      spec: { tiltfilePath: opts.files.join(','), exitCondition: 'ci', ci: { timeout: formatGoDuration(timeoutMs) } },
    });
    const deadline = Date.now() + timeoutMs + 30_000;
    const shown = new Map<string, string>();
    for (;;) {
      const cur = await client.get<Session>('Session', session.metadata.name!);
      const status = cur?.status;
      for (const t of status?.targets ?? []) {
        const state = targetState(t);
        if (shown.get(t.name) !== state) {
          shown.set(t.name, state);
          out(`● ${t.name}: ${state}`);
        }
      }
      if (status?.done) {
        stopLogs.abort();
        out('');
        for (const line of summaryTable(status.targets ?? [])) out(line);
        if (status.error) {
          out('');
          out(`Error: ${status.error}`);
          return 1;
        }
        out('');
        out('SUCCESS. All workloads are healthy.');
        return 0;
      }
      if (Date.now() > deadline) {
        stopLogs.abort();
        out(`Error: the session gave no result within ${formatGoDuration(timeoutMs)} (and a 30s grace)`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`ferry ci: ${(err as Error).message}`);
  } finally {
    stopLogs.abort();
    if (session?.metadata.name) await client.delete('Session', session.metadata.name).catch(() => undefined);
    if (!opts.keep) {
      for (const obj of [...applied].reverse()) {
        await client.delete(obj.kind!, obj.metadata.name!).catch((err) => {
          if (!isNotFound(err)) out(`warning: could not delete ${obj.kind}/${obj.metadata.name}: ${(err as Error).message}`);
        });
      }
      if (daemon) {
        // Let the controllers see the deletions (containers removed, processes stopped).
        for (const name of ['dockercomposeservice', 'cmd', 'cmdimage', 'liveupdate']) await daemon.manager.getController(name)?.idle();
      }
    }
    client.close();
    if (daemon) await daemon.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
