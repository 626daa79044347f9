/**
 * The status line of `ferry logs -f` on a terminal: the daemon's long work (builds, pushes,
 * applies, Compose ups) with its phase and elapsed time, read once a second from the daemon's
 * activity route and kept below the log lines. A daemon without the route (an external API
 * server, an older ferry) simply shows none.
 */
import https from 'node:https';
import type { ServerConfig } from '../client/config.ts';
import { activityPath, type ActivitySnapshot } from '../runtime/activity.ts';
import { getText } from './logs.ts';
import { StatusLine, statusText } from './progress.ts';

/** ActivityFollowOptions say what to show and where. */
export interface ActivityFollowOptions {
  /** resources limits the work shown to these resources. Default: all. */
  resources?: string[];
  /** write sends text to the terminal. Default: stdout. */
  write?: (text: string) => void;
  /** columns is the terminal's width. Default: stdout's. */
  columns?: () => number | undefined;
  /** intervalMs is the time between two reads of the daemon's work. Default 1,000. */
  intervalMs?: number;
}

/** ActivityFollower prints lines above the status line it keeps up to date, until stopped. */
export interface ActivityFollower {
  /** out prints a line above the status line. */
  out(line: string): void;
  /** stop stops reading and removes the status line. */
  stop(): void;
}

/** followActivity starts showing the daemon's long work in a status line. */
export function followActivity(kc: ServerConfig, opts: ActivityFollowOptions = {}): ActivityFollower {
  const statusLine = new StatusLine(opts.write ?? ((t) => process.stdout.write(t)), opts.columns ?? (() => process.stdout.columns));
  const wanted = opts.resources?.length ? new Set(opts.resources) : undefined;
  const intervalMs = opts.intervalMs ?? 1000;
  const stopped = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    let snap: ActivitySnapshot | 'missing' | undefined;
    try {
      snap = await readActivity(kc, stopped.signal);
    } catch {
      snap = undefined; // the daemon is away for now: show nothing, try again
    }
    if (stopped.signal.aborted || snap === 'missing') return statusLine.clear();
    statusLine.show(snap ? statusText(snap.items.filter((a) => !wanted || wanted.has(a.resource)), snap.now) : '');
    timer = setTimeout(() => void poll(), intervalMs);
  };
  void poll();
  return {
    out: (line) => statusLine.print(`${line}\n`),
    stop() {
      stopped.abort();
      clearTimeout(timer);
      statusLine.clear();
    },
  };
}

/** readActivity reads the daemon's activity route; 'missing' when the daemon has none. */
async function readActivity(kc: ServerConfig, signal: AbortSignal): Promise<ActivitySnapshot | 'missing'> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) return 'missing';
  const httpsOpts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(httpsOpts);
  const { status, text } = await getText(cluster.server, activityPath, httpsOpts, signal);
  if (status === 404) return 'missing';
  if (status !== 200) throw new Error(`the daemon answered ${status} for ${activityPath}`);
  return JSON.parse(text) as ActivitySnapshot;
}
