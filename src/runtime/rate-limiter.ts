import type { Clock } from '../util/clock.ts';

/**
 * RateLimiter decides how long a key waits before it is retried. `when` records one more
 * failure of the key and returns the delay; `forget` clears the key's history (on success).
 */
export interface RateLimiter {
  when(key: string): number;
  forget(key: string): void;
  numRequeues(key: string): number;
}

/**
 * ItemExponentialFailureRateLimiter delays the n-th consecutive failure of a key by
 * baseDelayMs * 2^(n-1), capped at maxDelayMs. Defaults are client-go's: 5 ms doubling to 1,000 s.
 */
export class ItemExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(opts: { baseDelayMs?: number; maxDelayMs?: number } = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 1_000_000;
  }

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.baseDelayMs * 2 ** n, this.maxDelayMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * BucketRateLimiter is a token bucket shared by all keys: `burst` tokens, refilled at `qps` per
 * second; a key that finds the bucket empty waits for its token. Defaults are client-go's
 * controller defaults: 10 qps, burst 100.
 */
export class BucketRateLimiter implements RateLimiter {
  private readonly clock: Clock;
  private readonly qps: number;
  private readonly burst: number;
  private tokens: number;
  private lastMs: number;

  constructor(deps: { clock: Clock; qps?: number; burst?: number }) {
    this.clock = deps.clock;
    this.qps = deps.qps ?? 10;
    this.burst = deps.burst ?? 100;
    this.tokens = this.burst;
    this.lastMs = this.clock.now().getTime();
  }

  when(_key: string): number {
    const nowMs = this.clock.now().getTime();
    const elapsedMs = Math.max(0, nowMs - this.lastMs);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.qps) / 1000);
    this.lastMs = nowMs;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps);
  }

  forget(_key: string): void {}

  numRequeues(_key: string): number {
    return 0;
  }
}

/** MaxOfRateLimiter asks every limiter and waits the longest of their delays. */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    let delay = 0;
    for (const l of this.limiters) delay = Math.max(delay, l.when(key));
    return delay;
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    let n = 0;
    for (const l of this.limiters) n = Math.max(n, l.numRequeues(key));
    return n;
  }
}

/**
 * defaultControllerRateLimiter is client-go's DefaultControllerRateLimiter: the larger of a
 * per-key exponential backoff (5 ms doubling to 1,000 s) and an overall bucket (10 qps, burst 100).
 */
export function defaultControllerRateLimiter(clock: Clock): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(), new BucketRateLimiter({ clock }));
}
