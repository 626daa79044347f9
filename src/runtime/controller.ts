import PQueue from 'p-queue';
import type { Logger } from 'winston';
import type { Clock } from '../util/clock.ts';
import type { ControllerMetrics, ReconcileOutcome } from './metrics.ts';
import { TerminalError, type Reconciler, type Result } from './reconciler.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { WorkQueue, type WorkQueueMetrics } from './work-queue.ts';
import { errorText } from '../util/errors.ts';

/** ControllerOptions tune one controller. */
export interface ControllerOptions {
  /** concurrency is how many different keys are reconciled at once. Default 1. */
  concurrency?: number;
  /** rateLimiter sets the retry backoff. Default: defaultControllerRateLimiter (client-go's). */
  rateLimiter?: RateLimiter;
}

/**
 * Controller feeds one Reconciler from a work queue with bounded concurrency. Event sources
 * (informers, a file watcher, a timer) call enqueue; the queue guarantees a key is never
 * reconciled by two workers at once and retries failures with backoff.
 */
export class Controller {
  readonly name: string;
  /** queue is exposed for tests and metrics; callers use enqueue/enqueueAfter. */
  readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly log: Logger;
  private readonly metrics: ControllerMetrics;
  private readonly workers: PQueue;
  private readonly abort = new AbortController();
  private readonly lastErrors = new Map<string, string>();
  private loop?: Promise<void>;

  constructor(deps: {
    name: string;
    reconciler: Reconciler;
    clock: Clock;
    log: Logger;
    rateLimiter: RateLimiter;
    concurrency?: number;
    queueMetrics?: WorkQueueMetrics;
    metrics?: ControllerMetrics;
  }) {
    this.name = deps.name;
    this.reconciler = deps.reconciler;
    this.log = deps.log;
    this.metrics = deps.metrics ?? { started() {}, finished() {} };
    this.queue = new WorkQueue({ clock: deps.clock, rateLimiter: deps.rateLimiter, metrics: deps.queueMetrics });
    this.workers = new PQueue({ concurrency: Math.max(1, deps.concurrency ?? 1) });
  }

  /** enqueue asks for name to be reconciled (once, however often it is asked before it runs). */
  enqueue(name: string): void {
    this.queue.add(name);
  }

  /** enqueueAfter asks for name to be reconciled after delayMs (the earliest request wins). */
  enqueueAfter(name: string, delayMs: number): void {
    this.queue.addAfter(name, delayMs);
  }

  /** start begins taking keys from the queue (keys enqueued before start wait for it). */
  start(): void {
    this.loop ??= this.run();
  }

  /**
   * stop takes no more keys, aborts the reconcile signal, and resolves when the reconciles in
   * flight have returned. Queued and delayed keys are dropped.
   */
  async stop(): Promise<void> {
    this.queue.shutDown();
    this.abort.abort();
    await this.loop;
    await this.workers.onIdle();
  }

  /** idle resolves when no key is queued and no reconcile runs (delayed keys may be pending). For tests. */
  async idle(): Promise<void> {
    for (;;) {
      await this.workers.onIdle();
      await new Promise<void>((r) => setImmediate(r));
      if (this.queue.len() === 0 && this.workers.pending === 0 && this.workers.size === 0) return;
    }
  }

  private async run(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      void this.workers.add(() => this.process(key));
      // Take the next key only once a worker is free for it.
      await this.workers.onSizeLessThan(1);
    }
  }

  private async process(key: string): Promise<void> {
    let childLog: Logger | undefined;
    const parent = this.log;
    // The per-key logger is made only when someone logs: most reconciles never do.
    const ctx = {
      get log(): Logger {
        return (childLog ??= parent.child({ name: key }));
      },
      signal: this.abort.signal,
    };
    const started = performance.now();
    this.metrics.started();
    let outcome: ReconcileOutcome = 'success';
    try {
      const result = (await this.reconciler.reconcile({ name: key }, ctx)) as Result | undefined;
      this.queue.forget(key);
      if (this.lastErrors.delete(key)) ctx.log.info('Reconcile succeeded after failure');
      const after = result?.requeueAfterMs;
      if (after !== undefined && after >= 0) {
        outcome = 'requeue_after';
        this.queue.addAfter(key, after);
      }
    } catch (err) {
      const message = errorText(err);
      if (err instanceof TerminalError) {
        outcome = 'terminal_error';
        this.queue.forget(key);
        ctx.log.error('Reconcile failed permanently', { error: message });
        this.lastErrors.set(key, message);
      } else {
        outcome = 'error';
        const retries = this.queue.numRequeues(key);
        if (this.lastErrors.get(key) !== message) {
          ctx.log.error('Reconcile failed', { error: message, retries });
          this.lastErrors.set(key, message);
        } else {
          ctx.log.debug('Reconcile failed again', { error: message, retries });
        }
        this.queue.addRateLimited(key);
      }
    } finally {
      this.queue.done(key);
      this.metrics.finished(outcome, (performance.now() - started) / 1000);
    }
  }
}

