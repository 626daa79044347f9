import { setTimeout as sleep } from 'node:timers/promises';

/** WaitOptions tune waitFor. */
export interface WaitOptions {
  /** timeoutMs is how long to keep polling before failing. Default 10,000. */
  timeoutMs?: number;
  /** intervalMs is the pause between two polls. Default 50. */
  intervalMs?: number;
  /** message says what was awaited, for the timeout error. Default 'condition'. */
  message?: string;
}

/**
 * waitFor polls fn until it returns a value other than undefined, null or false, and resolves
 * with that value. A poll that throws counts as not yet; after timeoutMs waitFor rejects with
 * the last thrown error (or the last value) as the cause.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  const { timeoutMs = 10_000, intervalMs = 50, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) {
        return value as Exclude<T, undefined | null | false>;
      }
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const cause = last instanceof Error ? last : new Error(`last value: ${String(last)}`);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`, { cause });
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}
