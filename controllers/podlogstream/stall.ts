/**
 * Stall detection for one connection to a container's log, as Tilt has it: the pod log API can
 * stop sending while the container still prints (the connection stays open, nothing arrives).
 * Nothing on the wire tells that apart from a container with nothing to say, so a connection
 * that has delivered a line and then nothing for `stallMs` is taken as stalled and reconnected
 * from the last line read. A quiet container costs one reconnect per quiet spell: a connection
 * that has delivered no new line yet is never taken as stalled.
 */
import type { Clock, TimerHandle } from '../../src/runtime/index.ts';

/** stallMs is how long a connection that delivered a line may then stay silent (Tilt's podLogHealthCheck). */
export const stallMs = 15_000;

/**
 * StallWatch checks one connection every `everyMs` (default stallMs) and calls onStall once,
 * at the first check that finds a line was read and the last one at least `everyMs` ago.
 */
export class StallWatch {
  private lastReadMs?: number;
  private timer?: TimerHandle;

  constructor(
    private readonly clock: Clock,
    private readonly onStall: () => void,
    private readonly everyMs = stallMs,
  ) {
    this.schedule();
  }

  /** read notes that the connection delivered a new line now. */
  read(): void {
    this.lastReadMs = this.clock.now().getTime();
  }

  /** stop ends the checks (the connection ended). */
  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => this.check(), this.everyMs);
  }

  private check(): void {
    this.timer = undefined;
    if (this.lastReadMs !== undefined && this.clock.now().getTime() - this.lastReadMs >= this.everyMs) {
      this.onStall();
      return;
    }
    this.schedule();
  }
}
