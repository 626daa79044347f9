/**
 * Clock is the one source of time and timers for the runtime and the reconcilers, so that
 * tests can move time instead of waiting for it.
 */
export interface Clock {
  now(): Date;
  /** setTimeout runs fn once after ms milliseconds and returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** TimerHandle is an opaque handle returned by Clock.setTimeout. */
export type TimerHandle = object;

/** maxTimerMs is the longest delay a Node timer takes (2^31-1 ms, about 24.8 days); a longer one fires at once. */
export const maxTimerMs = 2 ** 31 - 1;

/**
 * realClock is the wall clock. Its timers are unref'd: a pending requeue never keeps the
 * process alive on its own (servers and watch connections do that). A delay longer than
 * maxTimerMs waits maxTimerMs.
 */
export const realClock: Clock = {
  now: () => new Date(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.min(Math.max(0, ms), maxTimerMs));
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * FakeClock is a Clock for tests: time stands still until advance() moves it, and timers fire
 * in time order as it passes them. Between timers, advance() lets pending promise callbacks and
 * I/O callbacks run, so async work started by a timer settles before the next one fires.
 */
export class FakeClock implements Clock {
  private nowMs: number;
  private nextId = 1;
  private timers: FakeTimer[] = [];

  /** FakeClock starts at `start`, default 2024-01-01T00:00:00Z. */
  constructor(start: Date = new Date('2024-01-01T00:00:00Z')) {
    this.nowMs = start.getTime();
  }

  now(): Date {
    return new Date(this.nowMs);
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { id: this.nextId++, at: this.nowMs + Math.max(0, ms), fn };
    this.timers.push(timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id?: number }).id;
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  /** pendingTimers is the number of timers that have not fired yet. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** nextTimerInMs is the delay until the earliest pending timer, or undefined when none. */
  nextTimerInMs(): number | undefined {
    if (this.timers.length === 0) return undefined;
    return Math.min(...this.timers.map((t) => t.at)) - this.nowMs;
  }

  /** advance moves time forward by ms, firing every timer due on the way, earliest first. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    await settle();
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.nowMs = Math.max(this.nowMs, due.at);
      due.fn();
      await settle();
    }
    this.nowMs = target;
    await settle();
  }
}

/** settle lets queued promise callbacks and immediates run (a few rounds, for chained awaits). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** sleep waits ms on the given clock. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
