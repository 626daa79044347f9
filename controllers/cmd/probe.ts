/**
 * Readiness probes for Cmd, with Kubernetes' semantics: exec (exit 0), httpGet (a status in
 * 200-399) or tcpSocket (a connection opens), run every period after an initial delay, each
 * within a timeout; consecutive results past the thresholds flip readiness.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Probe } from '../../src/apis/cmd.ts';
import type { ProcessRunner } from '../../src/adapters/process/index.ts';
import type { Clock, TimerHandle } from '../../src/util/clock.ts';
import { errorText } from '../../src/util/errors.ts';

/** Kubernetes' probe defaults, in seconds. */
export const probeDefaults = {
  initialDelaySeconds: 0,
  timeoutSeconds: 1,
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
} as const;

/** ProbeContext is where and how a probe's checks run. */
export interface ProbeContext {
  clock: Clock;
  /** runner runs exec probes. */
  runner: ProcessRunner;
  /** dir is the working directory of exec probes (the Cmd's). */
  dir: string;
  /** env is the environment of exec probes (the Cmd's). */
  env: Record<string, string>;
}

/** CheckResult is the outcome of one probe attempt; `message` says why it failed. */
export interface CheckResult {
  ok: boolean;
  message?: string;
}

type Handler = Probe['handler'];

/**
 * runCheck performs the probe's handler once, failing it after timeoutMs.
 */
export async function runCheck(handler: Handler, timeoutMs: number, ctx: ProbeContext): Promise<CheckResult> {
  const abort = new AbortController();
  let timer: TimerHandle | undefined;
  const timedOut = new Promise<CheckResult>((resolve) => {
    timer = ctx.clock.setTimeout(() => {
      abort.abort();
      resolve({ ok: false, message: `probe timed out after ${timeoutMs} ms` });
    }, timeoutMs);
  });
  try {
    return await Promise.race([attempt(handler, abort.signal, ctx), timedOut]);
  } catch (err) {
    return { ok: false, message: errorText(err) };
  } finally {
    if (timer) ctx.clock.clearTimeout(timer);
    abort.abort();
  }
}

async function attempt(handler: Handler, signal: AbortSignal, ctx: ProbeContext): Promise<CheckResult> {
  if (handler.exec) return execCheck(handler.exec.command, signal, ctx);
  if (handler.httpGet) return httpCheck(handler.httpGet, signal);
  if (handler.tcpSocket) return tcpCheck(handler.tcpSocket, signal);
  return { ok: false, message: 'probe has no handler' };
}

async function execCheck(command: string[], signal: AbortSignal, ctx: ProbeContext): Promise<CheckResult> {
  if (!command.length) return { ok: false, message: 'exec probe has no command' };
  const proc = ctx.runner.start({ argv: command, dir: ctx.dir, env: ctx.env, signal });
  const r = await proc.done;
  if (r.error) return { ok: false, message: r.error.message };
  return r.exitCode === 0 ? { ok: true } : { ok: false, message: `exit status ${r.exitCode ?? -1}` };
}

function portNumber(port: number | string): number | undefined {
  const n = typeof port === 'number' ? port : /^\d+$/.test(port) ? Number(port) : NaN;
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}

function httpCheck(get: NonNullable<Handler['httpGet']>, signal: AbortSignal): Promise<CheckResult> {
  const port = portNumber(get.port);
  if (port === undefined) return Promise.resolve({ ok: false, message: `invalid port ${JSON.stringify(get.port)}` });
  const secure = (get.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
  const mod = secure ? https : http;
  const headers: Record<string, string> = { 'User-Agent': 'ferry-probe/1.0' };
  for (const h of get.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise((resolve) => {
    const req = mod.request(
      {
        host: get.host || 'localhost',
        port,
        path: get.path ? (get.path.startsWith('/') ? get.path : `/${get.path}`) : '/',
        method: 'GET',
        headers,
        signal,
        agent: false,
        ...(secure ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
      },
    );
    req.on('error', (err) => resolve({ ok: false, message: err.message }));
    req.end();
  });
}

function tcpCheck(tcp: NonNullable<Handler['tcpSocket']>, signal: AbortSignal): Promise<CheckResult> {
  const port = portNumber(tcp.port);
  if (port === undefined) return Promise.resolve({ ok: false, message: `invalid port ${JSON.stringify(tcp.port)}` });
  return new Promise((resolve) => {
    const sock = net.connect({ host: tcp.host || 'localhost', port });
    const onAbort = () => sock.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => {
      sock.destroy();
      resolve({ ok: true });
    });
    sock.once('error', (err) => resolve({ ok: false, message: err.message }));
    sock.once('close', () => {
      signal.removeEventListener('abort', onAbort);
      resolve({ ok: false, message: 'connection closed' });
    });
  });
}

/**
 * Prober runs one probe on a schedule and reports readiness changes. It starts not ready; it
 * becomes ready after `successThreshold` consecutive successes and not ready again after
 * `failureThreshold` consecutive failures.
 */
export class Prober {
  private readonly probe: Probe;
  private readonly clock: Clock;
  private readonly check: () => Promise<CheckResult>;
  private readonly onChange: (ready: boolean, result: CheckResult) => void;
  private timer?: TimerHandle;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  /** ready is the current verdict. */
  ready = false;

  /**
   * Prober checks with `deps.check` (default: runCheck of the probe's handler in deps.context)
   * and calls onChange when readiness flips.
   */
  constructor(
    probe: Probe,
    deps: { clock: Clock; context?: ProbeContext; check?: () => Promise<CheckResult> },
    onChange: (ready: boolean, result: CheckResult) => void,
  ) {
    this.probe = probe;
    this.clock = deps.clock;
    const timeoutMs = positive(probe.timeoutSeconds, probeDefaults.timeoutSeconds) * 1000;
    const context = deps.context;
    this.check =
      deps.check ??
      (() => (context ? runCheck(probe.handler, timeoutMs, context) : Promise.resolve({ ok: false, message: 'no probe context' })));
    this.onChange = onChange;
  }

  /** start schedules the first check after the initial delay. */
  start(): void {
    const delayMs = Math.max(0, this.probe.initialDelaySeconds ?? probeDefaults.initialDelaySeconds) * 1000;
    this.schedule(delayMs);
  }

  /** stop cancels the schedule; a check in flight is ignored when it returns. */
  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const result = await this.check();
    if (this.stopped) return;
    if (result.ok) {
      this.successes++;
      this.failures = 0;
      if (!this.ready && this.successes >= positive(this.probe.successThreshold, probeDefaults.successThreshold)) {
        this.ready = true;
        this.onChange(true, result);
      }
    } else {
      this.failures++;
      this.successes = 0;
      if (this.ready && this.failures >= positive(this.probe.failureThreshold, probeDefaults.failureThreshold)) {
        this.ready = false;
        this.onChange(false, result);
      }
    }
    this.schedule(positive(this.probe.periodSeconds, probeDefaults.periodSeconds) * 1000);
  }
}

function positive(v: number | undefined, fallback: number): number {
  return v !== undefined && v > 0 ? v : fallback;
}
