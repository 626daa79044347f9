import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/util/clock.ts';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  defaultControllerRateLimiter,
} from '../../src/runtime/rate-limiter.ts';

test('per-item backoff doubles from 5 ms and stops at 1,000 s', () => {
  const rl = new ItemExponentialFailureRateLimiter();
  const delays = Array.from({ length: 20 }, () => rl.when('a'));
  assert.deepEqual(delays.slice(0, 8), [5, 10, 20, 40, 80, 160, 320, 640]);
  assert.equal(delays[17], 655_360);
  assert.equal(delays[18], 1_000_000);
  assert.equal(delays[19], 1_000_000);
  assert.equal(rl.numRequeues('a'), 20);
});

test('per-item backoff is per key, and forget starts a key over', () => {
  const rl = new ItemExponentialFailureRateLimiter();
  rl.when('a');
  rl.when('a');
  assert.equal(rl.when('b'), 5);
  assert.equal(rl.when('a'), 20);
  rl.forget('a');
  assert.equal(rl.numRequeues('a'), 0);
  assert.equal(rl.when('a'), 5);
});

test('bucket gives a burst of 100 for free, then one token every 100 ms', async () => {
  const clock = new FakeClock();
  const rl = new BucketRateLimiter({ clock });
  for (let i = 0; i < 100; i++) assert.equal(rl.when(`k${i}`), 0);
  assert.equal(rl.when('x'), 100);
  assert.equal(rl.when('y'), 200);
  await clock.advance(1000);
  // 10 tokens came back; 2 were already spent in advance.
  for (let i = 0; i < 8; i++) assert.equal(rl.when(`z${i}`), 0);
  assert.equal(rl.when('late'), 100);
});

test('the default controller limiter waits the longer of the two', () => {
  const clock = new FakeClock();
  const rl = defaultControllerRateLimiter(clock);
  assert.deepEqual([rl.when('a'), rl.when('a'), rl.when('a'), rl.when('a')], [5, 10, 20, 40]);
  for (let i = 0; i < 96; i++) rl.when(`b${i}`);
  // The bucket is empty now: a fresh key waits for a token instead of 5 ms.
  assert.equal(rl.when('c'), 100);
});
