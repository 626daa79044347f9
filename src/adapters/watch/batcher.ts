import type { Clock, TimerHandle } from '../../util/clock.ts';

/** defaultQuietMs is the quiet period that ends a batch: 200 ms with no new change. */
export const defaultQuietMs = 200;
/** defaultMaxBatchMs bounds a batch: it is flushed 10 s after its first change at the latest. */
export const defaultMaxBatchMs = 10_000;

/**
 * EventBatcher collects changed paths into batches: a batch is flushed quietMs after its last
 * change, or maxBatchMs after its first, whichever comes first. A batch lists each path once, in
 * the order of its first change. While the watcher says it is busy
 * (catching up after a burst) the quiet period does not end the batch; the maximum still does.
 */
export class EventBatcher {
  private readonly clock: Clock;
  private readonly quietMs: number;
  private readonly maxBatchMs: number;
  private readonly onBatch: (paths: string[]) => void;
  private pending = new Set<string>();
  private quietTimer: TimerHandle | undefined;
  private maxTimer: TimerHandle | undefined;
  private busy = false;
  private closed = false;

  /** constructor: quietMs defaults to defaultQuietMs, maxBatchMs to defaultMaxBatchMs. */
  constructor(deps: { clock: Clock; onBatch: (paths: string[]) => void; quietMs?: number; maxBatchMs?: number }) {
    this.clock = deps.clock;
    this.onBatch = deps.onBatch;
    this.quietMs = deps.quietMs ?? defaultQuietMs;
    this.maxBatchMs = deps.maxBatchMs ?? defaultMaxBatchMs;
  }

  add(paths: readonly string[]): void {
    if (this.closed || paths.length === 0) return;
    if (this.pending.size === 0) this.maxTimer = this.clock.setTimeout(() => this.flush(), this.maxBatchMs);
    for (const p of paths) this.pending.add(p);
    this.armQuiet();
  }

  setBusy(busy: boolean): void {
    this.busy = busy;
    if (busy) this.clearQuiet();
    else if (this.pending.size > 0) this.armQuiet();
  }

  /** flush hands over the pending batch now, if any. */
  flush(): void {
    this.clearQuiet();
    if (this.maxTimer) this.clock.clearTimeout(this.maxTimer);
    this.maxTimer = undefined;
    if (this.pending.size === 0 || this.closed) return;
    const batch = [...this.pending];
    this.pending = new Set();
    this.onBatch(batch);
  }

  /** close drops the pending batch and stops the timers. */
  close(): void {
    this.clearQuiet();
    if (this.maxTimer) this.clock.clearTimeout(this.maxTimer);
    this.closed = true;
    this.pending = new Set();
  }

  private armQuiet(): void {
    this.clearQuiet();
    if (!this.busy) this.quietTimer = this.clock.setTimeout(() => this.flush(), this.quietMs);
  }

  private clearQuiet(): void {
    if (this.quietTimer) this.clock.clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
  }
}
