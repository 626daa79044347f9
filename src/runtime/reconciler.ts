import type { Logger } from 'winston';

/** Request names the object to reconcile. All kinds are cluster-scoped, so a name is a key. */
export interface Request {
  name: string;
}

/** Result of a reconcile that succeeded. */
export interface Result {
  /**
   * requeueAfterMs reconciles the same name again after this many milliseconds (0: at once),
   * unless an event wakes it earlier. The key's failure backoff is reset either way.
   */
  requeueAfterMs?: number;
}

/** ReconcileContext is what the controller hands to each reconcile. */
export interface ReconcileContext {
  /** log is the controller's logger with the request's name as a field. */
  log: Logger;
  /** signal is aborted when the manager stops: long work should give up and return. */
  signal: AbortSignal;
}

/**
 * Reconciler makes the world match one object. It gets a name, not an event: it re-reads the
 * state it needs, so it must be idempotent and cope with the object being gone.
 *
 * The outcome of `reconcile`:
 * - resolves with nothing (or `{}`): done; the key's backoff is forgotten.
 * - resolves with `{requeueAfterMs}`: done for now, run again after that delay.
 * - throws a `TerminalError`: logged, not retried (until an event wakes the key again).
 * - throws anything else: logged, retried with per-key exponential backoff
 *   (5 ms doubling to 1,000 s, within an overall 10 qps / burst 100 bucket).
 *
 * A key is never reconciled by two workers at once; if it changes while being reconciled,
 * it is reconciled once more afterwards.
 */
export interface Reconciler {
  reconcile(req: Request, ctx: ReconcileContext): Promise<Result | void>;
}

/**
 * TerminalError is a failure that retrying cannot fix (a user mistake belongs in status instead).
 * The controller logs it and does not requeue the key.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}
