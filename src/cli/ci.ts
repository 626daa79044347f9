/**
 * `ferry ci`: one command for CI pipelines. It starts a throwaway daemon (or uses the one
 * of --kubeconfig), applies the objects, runs a Session with `exitCondition: ci`, shows the
 * targets as they change and the build and exec output, and ends with a summary table.
 * Exit 0 when the session is done without error, 1 otherwise; it never waits past the
 * timeout, and it removes what it started unless told to keep it. Its own daemon uses names of
 * its own beside a dev daemon's: Compose projects `<project>-ci-<id>`, and in the dev cluster a
 * namespace `ferry-ci-<id>` (ci-kubernetes.ts).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'winston';
import type { KubeObject } from '../apis/meta.ts';
import type { Session, Target } from '../apis/session.ts';
import { FerryClient } from '../client/client.ts';
import { isNotFound } from '../client/errors.ts';
import { KubeconfigClusters } from '../adapters/kubernetes/index.ts';
import { startDaemon, type Daemon } from '../daemon.ts';
import { createLogger } from '../log.ts';
import { applyOne } from './apply.ts';
import { CliError } from './context.ts';
import { kubeConfigFor } from './node-client.ts';
import { readManifests } from './manifests.ts';
import { formatLogLine, streamLogs } from './logs.ts';
import type { LogLine } from '../util/log-buffer.ts';
import { formatGoDuration } from '../apis/go.ts';
import { CiNamespace } from './ci-kubernetes.ts';
import { StatusLine } from './progress.ts';

export interface CiOptions {
  files: string[];
  /** timeoutMs for the whole run. Default 30 minutes. */
  timeoutMs?: number;
  /** kubeconfig of a running daemon or API server to use instead of starting one. */
  kubeconfig?: string;
  context?: string;
  /** keep leaves the objects (and so their containers) in place. */
  keep?: boolean;
  /**
   * namespace is where the dev cluster gets the objects that name no namespace; it is deleted at
   * the end only when ci created it. Default `ferry-ci-<id>`, created for the run. Needs ci's own
   * daemon (no kubeconfig).
   */
  namespace?: string;
  /** clusterKubeconfig is the dev cluster's kubeconfig. Default KUBECONFIG or ~/.kube/config. */
  clusterKubeconfig?: string;
  /** namespaceDeleteTimeoutMs is how long the end of the run waits for its namespace to be gone. Default 120,000. */
  namespaceDeleteTimeoutMs?: number;
  out?: (line: string) => void;
  /** log is the throwaway daemon's logger. Default: warnings and errors to stderr. */
  log?: Logger;
  cwd?: string;
  /** pollMs between looks at the Session. Default 200. */
  pollMs?: number;
  /**
   * write and tty show progress: on a terminal (tty) one status line is redrawn in place with
   * write; otherwise the phase goes to `out` as plain lines. Default: stdout when no `out` is
   * given, and whether stdout is a terminal.
   */
  write?: (text: string) => void;
  tty?: boolean;
}

/** firstLine is an error's summary: its first line (the log above already holds the rest). */
function firstLine(text: string): string {
  return text.split('\n', 1)[0];
}

/**
 * targetState is a target's state in a word or two. A failed target is `error`: the run states
 * the error itself once, as its last line.
 */
function targetState(t: Target): string {
  const s = t.state;
  if (s.disabled) return 'disabled';
  if (s.waiting) return `waiting: ${s.waiting.waitReason}`;
  // A job (a build) is running until it is done; readiness is a server's.
  if (s.active) return s.active.ready ? 'ready' : t.type === 'job' ? 'running' : 'running, not ready';
  if (s.terminated) return s.terminated.error ? 'error' : 'done';
  return 'inactive';
}

/**
 * repeatsTheError is a log line ci leaves out: the daemon's `Build failed: …` summary, which the
 * run's last line (`Error: …`) states again. The build's own output stays.
 */
export function repeatsTheError(l: LogLine): boolean {
  return l.stream === 'ferry' && l.line.startsWith('Build failed: ');
}

/** summary renders the targets as a table, as the run ends. */
export function summaryTable(targets: Target[]): string[] {
  const rows = targets.map((t) => [t.name, t.type, targetState(t)]);
  const head = ['TARGET', 'TYPE', 'STATE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('   ');
  return [fmt(head), ...rows.map(fmt)];
}

/**
 * phase says what a run waits for, from the targets not finished yet: `building web`,
 * `starting web`, `web:runtime waiting-for-dependency`, each with the seconds since it began (a
 * target's start time, else the run's). `key` is the same without the times; both are empty
 * when nothing is pending.
 */
export function phase(targets: Target[], now: number, runStart: number): { text: string; key: string } {
  const parts: Array<{ text: string; since: number }> = [];
  for (const t of targets) {
    const s = t.state;
    const resource = t.resources?.[0] ?? t.name.replace(/:[^:]*$/, '');
    if (s.active && !s.active.ready) {
      const since = Date.parse(s.active.startTime) || runStart;
      parts.push({ text: `${t.type === 'job' ? 'building' : 'starting'} ${resource}`, since });
    } else if (s.waiting) {
      parts.push({ text: `${t.name} ${s.waiting.waitReason}`, since: runStart });
    }
  }
  const key = parts.map((p) => p.text).join(', ');
  const text = parts.map((p) => `${p.text} (${Math.max(0, Math.round((now - p.since) / 1000))}s)`).join(', ');
  return { text, key };
}

/**
 * Progress shows what a run waits for. On a terminal one status line is redrawn in place
 * (and lifted out of the way of every other line); otherwise each new phase is one plain line,
 * repeated every 30 s while it lasts.
 */
class Progress {
  private readonly statusLine?: StatusLine;
  private plainKey = '';
  private plainAt = 0;

  constructor(
    private readonly out: (line: string) => void,
    write: ((text: string) => void) | undefined,
  ) {
    if (write) this.statusLine = new StatusLine(write);
  }

  /** line prints a line above the status line. */
  line(l: string): void {
    if (!this.statusLine?.text) return this.out(l);
    this.statusLine.print(`${l}\n`);
  }

  /** status shows the current phase. */
  status(p: { text: string; key: string }, now: number): void {
    if (this.statusLine) {
      this.statusLine.show(p.text ? `… ${p.text}` : '');
      return;
    }
    if (!p.key) return;
    if (p.key === this.plainKey && now - this.plainAt < 30_000) return;
    this.plainKey = p.key;
    this.plainAt = now;
    this.out(`… ${p.text}`);
  }

  /** clear removes the status line. */
  clear(): void {
    this.statusLine?.clear();
  }
}

export async function runCi(opts: CiOptions): Promise<number> {
  const rawOut = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const tty = opts.tty ?? (!opts.out && !!process.stdout.isTTY);
  const progress = new Progress(rawOut, tty ? (opts.write ?? ((t: string) => process.stdout.write(t))) : undefined);
  const out = (l: string) => progress.line(l);
  const runStart = Date.now();
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const manifests = readManifests(opts.files);
  if (opts.kubeconfig && opts.namespace) throw new CliError('ferry ci: --namespace needs ci to run its own daemon (without --kubeconfig)');
  const id = randomBytes(3).toString('hex');
  let daemon: Daemon | undefined;
  let dataDir: string | undefined;
  let client: FerryClient;
  const stopLogs = new AbortController();
  if (opts.kubeconfig) {
    const kc = kubeConfigFor({ kubeconfig: opts.kubeconfig, context: opts.context });
    client = new FerryClient(kc);
    streamLogs(kc, { follow: true, out, signal: stopLogs.signal, skip: repeatsTheError }).catch(() => undefined);
  } else {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-ci-'));
    daemon = await startDaemon({
      dataDir,
      storage: 'memory',
      // Failures show in the targets and the resource logs; the log shows only what breaks ferry itself.
      log: opts.log ?? createLogger({ level: 'error', format: 'pretty' }),
      cwd: opts.cwd ?? process.cwd(),
      clusterKubeconfig: opts.clusterKubeconfig,
      // Its own Compose projects (and so containers and networks), beside any dev daemon's.
      composeProjectSuffix: `-ci-${id}`,
      // Image tags a dev daemon made are its own to prune; those ci made go when it stops.
      ownImagesOnly: true,
    });
    client = new FerryClient(daemon.kubeConfig);
    const unsubscribe = daemon.logs.subscribe((l) => {
      if (!repeatsTheError(l)) out(formatLogLine(l, true));
    });
    stopLogs.signal.addEventListener('abort', unsubscribe);
  }

  const applied: KubeObject[] = [];
  let session: Session | undefined;
  // Its own namespace in the dev cluster, beside any dev daemon's objects.
  const namespace = daemon
    ? new CiNamespace({ client, cache: daemon.manager.cache, clusters: new KubeconfigClusters({ kubeconfigPath: opts.clusterKubeconfig }), out })
    : undefined;
  try {
    await namespace?.prepare(manifests, { namespace: opts.namespace, id });
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
        progress.clear();
        out('');
        for (const line of summaryTable(status.targets ?? [])) out(line);
        if (status.error) {
          out('');
          out(`Error: ${firstLine(status.error)}`);
          return 1;
        }
        out('');
        out('SUCCESS. All workloads are healthy.');
        return 0;
      }
      if (Date.now() > deadline) {
        stopLogs.abort();
        progress.clear();
        out(`Error: the session gave no result within ${formatGoDuration(timeoutMs)} (and a 30s grace)`);
        return 1;
      }
      progress.status(phase(status?.targets ?? [], Date.now(), runStart), Date.now());
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`ferry ci: ${(err as Error).message}`);
  } finally {
    stopLogs.abort();
    progress.clear();
    if (session?.metadata.name) await client.delete('Session', session.metadata.name).catch(() => undefined);
    if (!opts.keep) {
      for (const obj of [...applied].reverse()) {
        await client.delete(obj.kind!, obj.metadata.name!).catch((err) => {
          if (!isNotFound(err)) out(`warning: could not delete ${obj.kind}/${obj.metadata.name}: ${(err as Error).message}`);
        });
      }
      // A DockerComposeService is gone once its container and network are, a KubernetesApply
      // once what it applied is deleted (their finalizers): stopping the daemon before would
      // leave them behind.
      const until = Date.now() + 60_000;
      for (const obj of applied.filter((o) => o.kind === 'DockerComposeService' || o.kind === 'KubernetesApply')) {
        while (await client.get(obj.kind!, obj.metadata.name!).catch(() => undefined)) {
          if (Date.now() > until) {
            out(`warning: ${obj.kind}/${obj.metadata.name} is still being deleted after 60s`);
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      if (daemon) {
        // Let the controllers see the deletions (containers removed, processes stopped).
        for (const name of ['dockercomposeservice', 'cmd', 'cmdimage', 'liveupdate']) await daemon.manager.getController(name)?.idle();
      }
    }
    await namespace?.cleanup({ keep: !!opts.keep, timeoutMs: opts.namespaceDeleteTimeoutMs ?? 120_000 });
    client.close();
    if (daemon) await daemon.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
