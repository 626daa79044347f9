import type { Clock, TimerHandle } from '../util/clock.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** WorkQueueMetrics receives the queue's counters; the controller binds it to prom-client. */
export interface WorkQueueMetrics {
  add(): void;
  retry(): void;
  depth(n: number): void;
}

const noMetrics: WorkQueueMetrics = { add() {}, retry() {}, depth() {} };

/**
 * WorkQueue is a rate-limited, delaying, de-duplicating queue of keys (client-go's workqueue):
 * - a key waiting in the queue is queued once however often it is added;
 * - a key being processed (between get and done) is not handed out again; if it is added
 *   meanwhile it is queued once more when done() is called;
 * - addAfter keeps the earliest of several pending delays for a key;
 * - addRateLimited delays by the rate limiter; forget resets the key's backoff.
 */
export class WorkQueue {
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly metrics: WorkQueueMetrics;
  private readonly queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, { atMs: number; timer: TimerHandle }>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private shutdown = false;

  constructor(deps: { clock: Clock; rateLimiter: RateLimiter; metrics?: WorkQueueMetrics }) {
    this.clock = deps.clock;
    this.rateLimiter = deps.rateLimiter;
    this.metrics = deps.metrics ?? noMetrics;
  }

  /** add queues key now, unless it is already queued. */
  add(key: string): void {
    if (this.shutdown || this.dirty.has(key)) return;
    this.metrics.add();
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** addAfter queues key after delayMs (at once when delayMs <= 0). */
  addAfter(key: string, delayMs: number): void {
    if (this.shutdown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const atMs = this.clock.now().getTime() + delayMs;
    const pending = this.waiting.get(key);
    if (pending) {
      if (pending.atMs <= atMs) return;
      this.clock.clearTimeout(pending.timer);
    }
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    this.waiting.set(key, { atMs, timer });
  }

  /** addRateLimited queues key after the delay its rate limiter gives (one more failure). */
  addRateLimited(key: string): void {
    if (this.shutdown) return;
    this.metrics.retry();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** forget clears key's failure history: its next failure backs off from the start. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  /** numRequeues is how many consecutive failures key has had. */
  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /**
   * get resolves with the next key, marking it as processing, or undefined once the queue is shut
   * down. Every key from get must be handed back with done().
   */
  get(): Promise<string | undefined> {
    if (this.shutdown) return Promise.resolve(undefined);
    if (this.len() > 0) return Promise.resolve(this.pop());
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** done marks key as processed; if it was added meanwhile it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shutdown) this.push(key);
  }

  /** len is the number of keys ready to be handed out. */
  len(): number {
    return this.queue.length - this.head;
  }

  /** isProcessing is true between get() and done() for key. */
  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  /** shutDown drops queued and delayed keys and makes every get() resolve with undefined. */
  shutDown(): void {
    if (this.shutdown) return;
    this.shutdown = true;
    for (const { timer } of this.waiting.values()) this.clock.clearTimeout(timer);
    this.waiting.clear();
    this.queue.length = 0;
    this.head = 0;
    this.dirty.clear();
    this.metrics.depth(0);
    for (const g of this.getters.splice(0)) g(undefined);
  }

  get shuttingDown(): boolean {
    return this.shutdown;
  }

  private push(key: string): void {
    const getter = this.getters.shift();
    if (getter) {
      this.dirty.delete(key);
      this.processing.add(key);
      getter(key);
      return;
    }
    this.queue.push(key);
    this.metrics.depth(this.len());
  }

  private pop(): string {
    const key = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    this.metrics.depth(this.len());
    return key;
  }
}
