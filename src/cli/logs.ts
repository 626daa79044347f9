/**
 * `ferry logs`: build output, live update actions and command output per resource, from
 * the running daemon's log buffer, which it serves at /ferry/v1/logs (src/util/log-route.ts).
 */
import https from 'node:https';
import type { ServerConfig } from '../client/config.ts';
import type { LogLine } from '../util/log-buffer.ts';
import { logsPath } from '../util/log-route.ts';
import { CliError } from './context.ts';
import { LineSplitter } from '../util/lines.ts';

/** parseDuration reads kubectl-style durations for --since: 30s, 5m, 1h. */
export function parseSince(s: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(s.trim());
  if (!m) throw new CliError(`--since must be a duration such as 30s, 5m or 1h, got "${s}"`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
}

export function formatLogLine(l: LogLine, withResource: boolean): string {
  return `${withResource ? `${l.resource.padEnd(20)} │ ` : ''}${l.line}`;
}

/** streamLogs prints the daemon's log lines until the stream ends (or, with follow, until signal aborts). */
export async function streamLogs(kc: ServerConfig, opts: { resource?: string; follow?: boolean; sinceMs?: number; out: (s: string) => void; signal?: AbortSignal }): Promise<void> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new CliError('the kubeconfig has no current cluster');
  const url = new URL(logsPath, cluster.server);
  if (opts.resource) url.searchParams.set('resource', opts.resource);
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
      const lines = new LineSplitter((line) => {
        if (line) opts.out(formatLogLine(JSON.parse(line) as LogLine, !opts.resource));
      });
      res.on('data', (chunk: Buffer) => lines.write(chunk));
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', (err) => ((err as Error).name === 'AbortError' ? resolve() : reject(err)));
  });
}
