import type { Clock, TimerHandle } from '../../util/clock.ts';
import { wallMicros } from '../../util/precise-time.ts';

/**
 * defaultQuietMs is the quiet period that ends a batch: 10 ms with no new change, long enough
 * for an editor's save (a temporary file, then a rename, within a millisecond or two) to be one
 * batch, and short enough that a save is in the container in about twice that. It grows while a
 * burst goes on (see EventBatcher).
 */
export const defaultQuietMs = 10;
/** tiltQuietMs is Tilt's fixed quiet period, 200 ms (`--filewatch-quiet-ms=200`). */
export const tiltQuietMs = 200;
/** defaultMaxBatchMs bounds a batch: it is flushed 10 s after its first change at the latest. */
export const defaultMaxBatchMs = 10_000;
/**
 * lateToleranceMs: a quiet timer that fires later than this after its time found the process
 * stalled (a busy CPU, a long task), and changes the kernel reported meanwhile are not read
 * yet: Node runs due timers before it reads I/O.
 */
const lateToleranceMs = 2;

/** EventBatcherDeps configure an EventBatcher. */
export interface EventBatcherDeps {
  clock: Clock;
  /** onBatch receives each batch, and the wall time (µs) of its last change. */
  onBatch: (paths: string[], lastChangeUs: number) => void;
  /** quietMs is the base quiet period. Default defaultQuietMs (10 ms). */
  quietMs?: number;
  /** maxBatchMs bounds a batch from its first change. Default defaultMaxBatchMs (10 s). */
  maxBatchMs?: number;
  /**
   * adaptive grows the quiet period while a burst goes on (default true); false keeps it fixed
   * at quietMs, as Tilt does.
   */
  adaptive?: boolean;
}

/**
 * EventBatcher collects changed paths into batches: a batch is flushed once no change came for
 * its quiet period, or maxBatchMs after its first change, whichever comes first. A batch lists
 * each path once, in the order of its first change.
 *
 * The quiet period adapts to the burst: each batch starts with quietMs; a change that comes
 * after a pause of more than half the current period (the burst nearly ended, and goes on)
 * doubles it; and it is never less than a tenth of the time the batch has lasted. Both stop at
 * maxBatchMs. A save (a few changes within milliseconds) is flushed quietMs after its last
 * change; a branch switch writing for seconds stays one batch across its pauses, and is flushed
 * a tenth of its length after its last change, not more.
 *
 * While the watcher says it is busy (catching up after a burst) the quiet period does not end
 * the batch; the maximum still does.
 *
 * A quiet period that ends late (the process was stalled) ends the batch one event-loop turn
 * later, after the changes that arrived during the stall are read: an editor's save made while
 * the process was stalled is still one batch.
 */
export class EventBatcher {
  private readonly clock: Clock;
  private readonly quietMs: number;
  private readonly maxBatchMs: number;
  private readonly adaptive: boolean;
  private readonly onBatch: (paths: string[], lastChangeUs: number) => void;
  private pending = new Set<string>();
  private quietTimer: TimerHandle | undefined;
  private maxTimer: TimerHandle | undefined;
  private busy = false;
  private closed = false;
  /** batchStartMs is the clock time of the pending batch's first change. */
  private batchStartMs = 0;
  /** windowMs is the pending batch's current quiet period. */
  private windowMs: number;
  /** lastChangeMs is the clock time of the pending batch's last change. */
  private lastChangeMs = 0;
  private lastChangeUs = 0;
  /** quietDueMs is the clock time the armed quiet timer is due. */
  private quietDueMs = 0;

  constructor(deps: EventBatcherDeps) {
    this.clock = deps.clock;
    this.onBatch = deps.onBatch;
    this.quietMs = deps.quietMs ?? defaultQuietMs;
    this.maxBatchMs = deps.maxBatchMs ?? defaultMaxBatchMs;
    this.adaptive = deps.adaptive ?? true;
    this.windowMs = this.quietMs;
  }

  /** currentQuietMs is the quiet period the pending batch waits for now. */
  get currentQuietMs(): number {
    return this.windowMs;
  }

  add(paths: readonly string[]): void {
    if (this.closed || paths.length === 0) return;
    const nowMs = this.clock.now().getTime();
    if (this.pending.size === 0) {
      this.maxTimer = this.clock.setTimeout(() => this.flush(), this.maxBatchMs);
      this.batchStartMs = nowMs;
      this.windowMs = this.quietMs;
    } else if (this.adaptive) {
      let w = this.windowMs;
      if (nowMs - this.lastChangeMs > w / 2) w *= 2;
      w = Math.max(w, (nowMs - this.batchStartMs) / 10);
      this.windowMs = Math.min(w, this.maxBatchMs);
    }
    this.lastChangeMs = nowMs;
    this.lastChangeUs = Math.max(this.lastChangeUs + 1, wallMicros(this.clock));
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
    this.windowMs = this.quietMs;
    if (this.pending.size === 0 || this.closed) return;
    const batch = [...this.pending];
    this.pending = new Set();
    this.onBatch(batch, this.lastChangeUs);
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
    if (this.busy) return;
    this.quietDueMs = this.clock.now().getTime() + this.windowMs;
    this.quietTimer = this.clock.setTimeout(() => this.quietEnded(), this.windowMs);
  }

  /** quietEnded flushes, or when the timer fired late, re-checks once pending I/O was read. */
  private quietEnded(): void {
    if (this.clock.now().getTime() - this.quietDueMs <= lateToleranceMs) return this.flush();
    // A change read in this turn re-arms the timer (add clears this one).
    this.quietTimer = this.clock.setTimeout(() => this.flush(), 0);
  }

  private clearQuiet(): void {
    if (this.quietTimer) this.clock.clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
  }
}
