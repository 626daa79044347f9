/**
 * StallWatch on a fake clock: a connection that delivered a line and then nothing for 15 s is
 * stalled; one that keeps delivering, or that has delivered nothing yet, is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/util/clock.ts';
import { StallWatch, stallMs } from '../../../controllers/podlogstream/stall.ts';

test('stall detection waits Tilt\'s 15 s', () => {
  assert.equal(stallMs, 15_000);
});

test('a connection that delivered a line and then nothing for 15 s is stalled, once', async () => {
  const clock = new FakeClock();
  let stalls = 0;
  const w = new StallWatch(clock, () => stalls++);
  await clock.advance(5_000);
  w.read();
  await clock.advance(14_999);
  assert.equal(stalls, 0, 'the check at 15 s finds a line read 10 s ago');
  await clock.advance(1);
  assert.equal(stalls, 0, '15 s after the last line falls between checks');
  await clock.advance(10_000);
  assert.equal(stalls, 1, 'the check at 30 s finds the last line 25 s old');
  assert.equal(clock.pendingTimers(), 0, 'no more checks once stalled');
});

test('a connection that keeps delivering is never stalled', async () => {
  const clock = new FakeClock();
  let stalls = 0;
  const w = new StallWatch(clock, () => stalls++);
  for (let i = 0; i < 20; i++) {
    w.read();
    await clock.advance(10_000);
  }
  assert.equal(stalls, 0);
  w.stop();
  assert.equal(clock.pendingTimers(), 0, 'stop ends the checks');
});

test('a connection that has delivered no line yet is a quiet container, not a stall', async () => {
  const clock = new FakeClock();
  let stalls = 0;
  const w = new StallWatch(clock, () => stalls++);
  await clock.advance(10 * stallMs);
  assert.equal(stalls, 0);
  w.stop();
});
