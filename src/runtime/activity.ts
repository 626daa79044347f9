/**
 * Activities are the long work reconcilers do outside the API's view while a user waits: a
 * build, a push, an apply, a Compose up. A reconciler reports each one to the daemon's
 * ActivityRegistry (start, phase changes, end) and whoever shows progress (`ferry serve` on a
 * terminal, or its log) follows the registry; the daemon also serves it at activityPath (what
 * `ferry logs -f` shows). Nothing is stored: the objects' status stays the record of what
 * happened; this is only what runs now.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** ActivityInfo says what a piece of work is. */
export interface ActivityInfo {
  /** resource is the resource the work is for (`tilt.dev/resource`), the name users read. */
  resource: string;
  /** object is the `Kind/name` doing the work; an object does one piece of work at a time. */
  object: string;
  /** action is what the work is, as a verb in -ing: `building`, `applying`, `starting`. */
  action: string;
  /** phase is the step the work is at (`build command`, `pushing`); empty when it has none. */
  phase?: string;
}

/** Activity is a piece of work that runs now. */
export interface Activity extends Required<ActivityInfo> {
  /** startedAt is when the work began, in milliseconds since the epoch. */
  startedAt: number;
}

/** activityResults are how a piece of work can end. */
export const activityResults = ['ok', 'failed', 'cancelled'] as const;
export type ActivityResult = (typeof activityResults)[number];

/** ActivityEvent is one change of the registry, in the order it happened. */
export type ActivityEvent =
  | { type: 'started' | 'phase'; activity: Activity }
  | { type: 'ended'; activity: Activity; result: ActivityResult; endedAt: number };

/** ActivitySnapshot is the work that runs, and the daemon's time to measure it against (a client's clock may differ). */
export interface ActivitySnapshot {
  /** now is the daemon's time, in milliseconds since the epoch. */
  now: number;
  items: Activity[];
}

/** activityPath is where the daemon serves its ActivitySnapshot, as JSON. */
export const activityPath = '/ferry/v1/activity';

/** ActivityHandle is how the reconciler that started a piece of work reports on it. */
export interface ActivityHandle {
  /** phase says the work moved on to another step. */
  phase(phase: string): void;
  /** end says the work is over; later calls on the handle do nothing. */
  end(result: ActivityResult): void;
}

/**
 * ActivityRegistry holds the work that runs now, keyed by object. Starting work for an object
 * that already has some ends the old one (cancelled) first, so a stale handle never removes the
 * new work.
 */
export class ActivityRegistry {
  private readonly running = new Map<string, Activity>();
  private readonly listeners = new Set<(e: ActivityEvent) => void>();
  private readonly now: () => number;

  /** ActivityRegistry stamps work with now (default the wall clock, in ms). */
  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
  }

  /** start records that work began and returns its handle. */
  start(info: ActivityInfo): ActivityHandle {
    const previous = this.running.get(info.object);
    if (previous) this.finish(previous, 'cancelled');
    const activity: Activity = { phase: '', ...info, startedAt: this.now() };
    this.running.set(info.object, activity);
    this.emit({ type: 'started', activity });
    return {
      phase: (phase) => {
        if (this.running.get(activity.object) !== activity || activity.phase === phase) return;
        activity.phase = phase;
        this.emit({ type: 'phase', activity });
      },
      end: (result) => {
        if (this.running.get(activity.object) === activity) this.finish(activity, result);
      },
    };
  }

  /** list is the work that runs now, oldest first (copies). */
  list(): Activity[] {
    return [...this.running.values()].map((a) => ({ ...a }));
  }

  /** snapshot is the work that runs now, with the time. */
  snapshot(): ActivitySnapshot {
    return { now: this.now(), items: this.list() };
  }

  /** subscribe calls listener on every change until the returned function is called. */
  subscribe(listener: (e: ActivityEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private finish(activity: Activity, result: ActivityResult): void {
    this.running.delete(activity.object);
    this.emit({ type: 'ended', activity, result, endedAt: this.now() });
  }

  private emit(e: ActivityEvent): void {
    const event = { ...e, activity: { ...e.activity } };
    for (const l of this.listeners) l(event);
  }
}

/** activityRoute serves registry's snapshot at activityPath. */
export function activityRoute(registry: ActivityRegistry) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(registry.snapshot()));
  };
}
