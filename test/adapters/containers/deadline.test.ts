import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realClock } from '../../../src/util/clock.ts';
import { withDeadline } from '../../../src/adapters/containers/updater.ts';

/** unhandledDuring runs fn and lists the promise rejections nothing handled meanwhile. */
async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const on = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', on);
  const hold = setTimeout(() => undefined, 10_000); // realClock's timers do not keep the process up
  try {
    await fn();
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    clearTimeout(hold);
    process.off('unhandledRejection', on);
  }
  return seen;
}

test('withDeadline: a step abandoned because ferry is stopping may still fail later, handled', async () => {
  const unhandled = await unhandledDuring(async () => {
    const stopping = new AbortController();
    stopping.abort();
    let fail: (err: Error) => void = () => undefined;
    const step = new Promise<never>((_, reject) => (fail = reject));
    await assert.rejects(withDeadline(step, { clock: realClock, timeoutMs: 10_000, timeoutMessage: 'too long', signal: stopping.signal }), /ferry is stopping/);
    fail(new Error('Unexpected server response: 503')); // the exec's connection, refused after the abort
  });
  assert.deepEqual(unhandled, []);
});

test('withDeadline: a step that times out and fails afterwards, handled too', async () => {
  const unhandled = await unhandledDuring(async () => {
    let fail: (err: Error) => void = () => undefined;
    const step = new Promise<never>((_, reject) => (fail = reject));
    await assert.rejects(withDeadline(step, { clock: realClock, timeoutMs: 5, timeoutMessage: 'too long' }), /too long/);
    fail(new Error('the connection closed'));
  });
  assert.deepEqual(unhandled, []);
});
