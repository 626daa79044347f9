/**
 * `ferry logs`: build output, live update actions, command output and what containers and pods
 * print, per resource, from the running daemon's log buffer, which it serves at /ferry/v1/logs
 * (src/util/log-route.ts). Each line is prefixed by its resource and its source (build, runtime
 * or sync); on a terminal the prefix is coloured.
 */
import https from 'node:https';
import type { ServerConfig } from '../client/config.ts';
import { logCategories, logCategory, type LogCategory, type LogLine } from '../util/log-buffer.ts';
import { logResourcesHeader, logsPath } from '../util/log-route.ts';
import { CliError } from './context.ts';
import { LineSplitter } from '../util/lines.ts';
import { unknownResourceMessage } from './resources.ts';

/** parseSince reads kubectl-style durations for --since: 30s, 5m, 1h. */
export function parseSince(s: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(s.trim());
  if (!m) throw new CliError(`--since must be a duration such as 30s, 5m or 1h, got "${s}"`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
}

/** parseSource reads --source: build, runtime or sync. */
export function parseSource(s: string): LogCategory {
  if (!logCategories.includes(s as LogCategory)) throw new CliError(`--source must be one of ${logCategories.join(', ')}, got "${s}"`);
  return s as LogCategory;
}

/** The colours resource names cycle through (ANSI foreground codes), as Tilt's terminal view does. */
const palette = [36, 33, 35, 32, 34, 31, 96, 93, 95, 92, 94];
const dim = (s: string) => `\x1b[2m${s}\x1b[22m`;

function colourOf(resource: string): number {
  let h = 0;
  for (const c of resource) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return palette[h % palette.length];
}

/** LogFormat says how lines are printed. */
export interface LogFormat {
  /** color adds ANSI colours to the prefix (on a terminal only). Default false. */
  color?: boolean;
}

/** formatLogLine prints a line as `<resource> <source> │ <text>`; withResource false leaves the resource out. */
export function formatLogLine(l: LogLine, withResource = true, fmt: LogFormat = {}): string {
  const source = logCategory(l.source).padEnd(7);
  const resource = withResource ? l.resource.padEnd(20) + ' ' : '';
  if (!fmt.color) return `${resource}${source} │ ${l.line}`;
  const painted = resource ? `\x1b[${colourOf(l.resource)}m${resource}\x1b[39m` : '';
  return `${painted}${dim(`${source} │`)} ${l.line}`;
}

/** LogsOptions say what `streamLogs` prints and where. */
export interface LogsOptions {
  /** resource limits the lines to one resource (kept for callers naming one). */
  resource?: string;
  /** resources limits the lines to these resources; each must be known to the daemon. */
  resources?: string[];
  /** source limits the lines to one category. */
  source?: LogCategory;
  follow?: boolean;
  /** sinceMs prints only lines from the last sinceMs milliseconds. */
  sinceMs?: number;
  /** color paints the prefixes. Default false. */
  color?: boolean;
  /** skip leaves out the lines it returns true for. Default: none. */
  skip?: (l: LogLine) => boolean;
  out: (s: string) => void;
  signal?: AbortSignal;
}

/**
 * streamLogs prints the daemon's log lines until the stream ends (or, with follow, until signal
 * aborts). A named resource the daemon does not know (no lines and no Session target) is a
 * CliError naming it.
 */
export async function streamLogs(kc: ServerConfig, opts: LogsOptions): Promise<void> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new CliError('the kubeconfig has no current cluster');
  const wanted = [...new Set([...(opts.resource ? [opts.resource] : []), ...(opts.resources ?? [])])];
  const url = new URL(logsPath, cluster.server);
  for (const r of wanted) url.searchParams.append('resource', r);
  if (opts.source) url.searchParams.set('source', opts.source);
  if (opts.follow) url.searchParams.set('follow', 'true');
  if (opts.sinceMs !== undefined) url.searchParams.set('sinceMs', String(Date.now() - opts.sinceMs));
  const httpsOpts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(httpsOpts);
  await new Promise<void>((resolve, reject) => {
    const req = https.get(url, { ...httpsOpts, signal: opts.signal }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new CliError(`the daemon answered ${res.statusCode} for ${logsPath}${res.statusCode === 404 ? ' (logs are served by the embedded API server only)' : ''}`));
        return;
      }
      const withLines = new Set(String(res.headers[logResourcesHeader] ?? '').split(',').filter(Boolean).map(decodeURIComponent));
      const quiet = wanted.filter((r) => !withLines.has(r));
      const checked = quiet.length ? sessionResources(cluster.server, httpsOpts) : Promise.resolve(new Set<string>());
      // Lines are held until the names are checked, so an unknown name prints nothing else.
      const held: string[] = [];
      let checkedOk = quiet.length === 0;
      const print = (s: string) => (checkedOk ? opts.out(s) : held.push(s));
      const lines = new LineSplitter((line) => {
        if (!line) return;
        const l = JSON.parse(line) as LogLine;
        if (!opts.skip?.(l)) print(formatLogLine(l, true, { color: opts.color }));
      });
      checked.then(
        (known) => {
          const unknown = quiet.filter((r) => !known.has(r));
          if (unknown.length) {
            res.destroy();
            reject(new CliError(unknownResourceMessage(unknown, [...known, ...withLines])));
            return;
          }
          checkedOk = true;
          for (const s of held.splice(0)) opts.out(s);
        },
        (err) => {
          res.destroy();
          reject(err);
        },
      );
      res.on('data', (chunk: Buffer) => lines.write(chunk));
      res.on('end', () => checked.then(() => resolve(), () => undefined));
      res.on('error', reject);
    });
    req.on('error', (err) => ((err as Error).name === 'AbortError' ? resolve() : reject(err)));
  });
}

/**
 * sessionResources returns the resources the daemon's Session targets list: resources without
 * lines yet are known when the Session reports them.
 */
async function sessionResources(server: string, httpsOpts: https.RequestOptions): Promise<Set<string>> {
  const { status, text } = await getText(server, '/apis/tilt.dev/v1alpha1/sessions', httpsOpts);
  if (status !== 200) throw new CliError(`the daemon answered ${status} listing sessions`);
  const known = new Set<string>();
  const list = JSON.parse(text) as { items?: Array<{ status?: { targets?: Array<{ resources?: string[] }> } }> };
  for (const s of list.items ?? []) for (const t of s.status?.targets ?? []) for (const r of t.resources ?? []) known.add(r);
  return known;
}

/** getText GETs path from the daemon with the kubeconfig's TLS options and resolves with the status and the body. */
export function getText(server: string, path: string, httpsOpts: https.RequestOptions, signal?: AbortSignal): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(new URL(path, server), { ...httpsOpts, signal }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}
