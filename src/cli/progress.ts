/**
 * Progress on a terminal: one status line kept at the bottom below everything else printed
 * (StatusLine, shared by `ferry serve` and `ferry ci`), and what `ferry serve` shows of the
 * daemon's long work (ActivityView): on a terminal the work that runs and its elapsed time in
 * the status line; elsewhere a plain log line once work has run a while, repeated while it lasts.
 */
import { Writable } from 'node:stream';
import type { Logger } from 'winston';
import type { Activity, ActivityEvent, ActivityRegistry } from '../runtime/activity.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';

/** clearLine moves to the start of the line and erases it. */
const clearLine = '\r\x1b[2K';

/**
 * StatusLine is one line redrawn in place at the bottom of a terminal. Everything else printed
 * to the same terminal goes through print() (or above()), which erases the status line, prints,
 * and draws it again below, so output is never mixed with it.
 */
export class StatusLine {
  private shown = '';

  /**
   * write sends text to the terminal; columns is its width (a longer status is cut to fit, as
   * a wrapped line could not be erased).
   */
  constructor(
    private readonly write: (text: string) => void,
    private readonly columns: () => number | undefined = () => undefined,
  ) {}

  /** text is the status line as drawn now; empty when none is. */
  get text(): string {
    return this.shown;
  }

  /** show draws text as the status line (empty removes it); nothing is written when it is already shown. */
  show(text: string): void {
    const width = this.columns();
    if (width && text.length >= width) text = width > 2 ? `${text.slice(0, width - 2)}…` : '';
    if (text === this.shown) return;
    this.write(`${clearLine}${text}`);
    this.shown = text;
  }

  /** print writes text (whole lines, ending in a newline) above the status line. */
  print(text: string): void {
    this.write(this.shown ? `${clearLine}${text}${this.shown}` : text);
  }

  /** above runs fn, which writes elsewhere to the same terminal (another stream), with the status line out of the way. */
  above(fn: () => void): void {
    if (!this.shown) return fn();
    this.write(clearLine);
    fn();
    this.write(this.shown);
  }

  /** clear removes the status line. */
  clear(): void {
    this.show('');
  }
}

/**
 * statusLineStream is a stream whose writes (a logger's lines) go to the terminal through
 * statusLine, above its status line.
 */
export function statusLineStream(statusLine: StatusLine): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      statusLine.print(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      callback();
    },
  });
}

/** seconds is the whole seconds from since to now, never negative. */
function seconds(since: number, now: number): number {
  return Math.max(0, Math.floor((now - since) / 1000));
}

/**
 * statusText is the status line for the work that runs: `web building 12s (pushing) · api
 * applying 3s`, oldest first; empty when nothing runs.
 */
export function statusText(activities: readonly Activity[], now: number): string {
  if (!activities.length) return '';
  const parts = activities.map((a) => `${a.resource} ${a.action} ${seconds(a.startedAt, now)}s${a.phase ? ` (${a.phase})` : ''}`);
  return `… ${parts.join(' · ')}`;
}

/** ActivityViewOptions say where ActivityView shows the work and how often. */
export interface ActivityViewOptions {
  activity: ActivityRegistry;
  clock: Clock;
  /** statusLine is the terminal's status line; without it the work goes to log as plain lines. */
  statusLine?: StatusLine;
  /** log gets the plain lines (`Still building`) when there is no status line. */
  log: Logger;
  /** redrawMs is the least time between two redraws of the status line. Default 250. */
  redrawMs?: number;
  /** afterMs is how long work runs before its first plain line. Default 5,000. */
  afterMs?: number;
  /** everyMs is how often a plain line repeats while the work lasts. Default 30,000. */
  everyMs?: number;
}

/**
 * ActivityView shows the daemon's long work. With a status line it redraws the work and its
 * elapsed seconds at most every redrawMs, and removes the line when nothing runs. Without one,
 * work that runs longer than afterMs gets a log line (`Still building`, with the resource, the
 * phase and the elapsed time), repeated every everyMs, and a last one when it ends; shorter work
 * shows nothing beyond the controllers' own lines.
 */
export class ActivityView {
  private readonly redrawMs: number;
  private readonly afterMs: number;
  private readonly everyMs: number;
  /** reported is when each piece of work (by object) last had a plain line, for the work that had one. */
  private readonly reported = new Map<string, number>();
  private unsubscribe?: () => void;
  private timer?: TimerHandle;

  constructor(private readonly o: ActivityViewOptions) {
    this.redrawMs = o.redrawMs ?? 250;
    this.afterMs = o.afterMs ?? 5_000;
    this.everyMs = o.everyMs ?? 30_000;
  }

  /** start follows the registry. */
  start(): void {
    this.unsubscribe ??= this.o.activity.subscribe((e) => this.onEvent(e));
    this.update();
  }

  /** stop stops following and removes the status line. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.o.statusLine?.clear();
  }

  private onEvent(e: ActivityEvent): void {
    if (e.type === 'ended' && this.reported.delete(e.activity.object)) {
      const a = e.activity;
      this.o.log.info(`Done ${a.action}`, { resource: a.resource, object: a.object, result: e.result, elapsed: `${seconds(a.startedAt, e.endedAt)}s` });
    }
    if (this.o.statusLine) {
      // A redraw is due at the next tick anyway: at most one draw per redrawMs.
      if (!this.timer) this.update();
      return;
    }
    this.update();
  }

  /** update draws the status line or writes the plain lines due, and sets the timer for the next. */
  private update(): void {
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.o.clock.now().getTime();
    const running = this.o.activity.list();
    if (this.o.statusLine) {
      this.o.statusLine.show(statusText(running, now));
      if (running.length) this.timer = this.o.clock.setTimeout(() => this.tick(), this.redrawMs);
      return;
    }
    let next = Infinity;
    for (const a of running) {
      const last = this.reported.get(a.object);
      const due = last === undefined ? a.startedAt + this.afterMs : last + this.everyMs;
      if (due <= now) {
        this.reported.set(a.object, now);
        this.o.log.info(`Still ${a.action}`, { resource: a.resource, object: a.object, phase: a.phase || undefined, elapsed: `${seconds(a.startedAt, now)}s` });
        next = Math.min(next, now + this.everyMs);
      } else next = Math.min(next, due);
    }
    if (next !== Infinity) this.timer = this.o.clock.setTimeout(() => this.tick(), next - now);
  }

  private tick(): void {
    this.timer = undefined;
    this.update();
  }
}
