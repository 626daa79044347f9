import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realClock, settle } from '../../src/util/clock.ts';

test('realClock waits the longest a timer can for a delay beyond it, instead of firing at once', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  let fired = false;
  const timer = realClock.setTimeout(() => (fired = true), 2 ** 40);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await settle();
  realClock.clearTimeout(timer);
  process.off('warning', onWarning);
  assert.equal(fired, false);
  assert.deepEqual(warnings.filter((w) => w === 'TimeoutOverflowWarning'), []);
});
