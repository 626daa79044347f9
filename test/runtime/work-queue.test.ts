import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/util/clock.ts';
import { defaultControllerRateLimiter } from '../../src/runtime/rate-limiter.ts';
import { WorkQueue } from '../../src/runtime/work-queue.ts';

function newQueue() {
  const clock = new FakeClock();
  const counts = { add: 0, retry: 0, depth: 0 };
  const q = new WorkQueue({
    clock,
    rateLimiter: defaultControllerRateLimiter(clock),
    metrics: { add: () => counts.add++, retry: () => counts.retry++, depth: (n) => (counts.depth = n) },
  });
  return { clock, q, counts };
}

test('a queued key is queued once however often it is added', async () => {
  const { q, counts } = newQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.len(), 2);
  assert.equal(counts.add, 2);
  assert.equal(counts.depth, 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
});

test('a key being processed is not handed out again; re-added, it comes back once after done', async () => {
  const { q } = newQueue();
  q.add('a');
  const key = await q.get();
  assert.equal(key, 'a');
  q.add('a');
  q.add('a');
  assert.equal(q.len(), 0, 'not queued while processing');
  q.done('a');
  assert.equal(q.len(), 1);
  assert.equal(await q.get(), 'a');
  q.done('a');
  assert.equal(q.len(), 0);
});

test('get waits for a key', async () => {
  const { q } = newQueue();
  const pending = q.get();
  q.add('x');
  assert.equal(await pending, 'x');
  assert.ok(q.isProcessing('x'));
});

test('addAfter keeps the earliest delay of a key', async () => {
  const { q, clock } = newQueue();
  q.addAfter('a', 1000);
  q.addAfter('a', 100);
  q.addAfter('a', 500);
  assert.equal(clock.pendingTimers(), 1);
  await clock.advance(99);
  assert.equal(q.len(), 0);
  await clock.advance(1);
  assert.equal(q.len(), 1);
  await clock.advance(2000);
  assert.equal(q.len(), 1, 'the later delays were dropped');
});

test('addRateLimited backs off 5, 10, 20 ms and forget starts over', async () => {
  const { q, clock, counts } = newQueue();
  const delays: number[] = [];
  for (let i = 0; i < 3; i++) {
    q.addRateLimited('a');
    delays.push(clock.nextTimerInMs()!);
    await clock.advance(delays[i]);
    assert.equal(await q.get(), 'a');
    q.done('a');
  }
  assert.deepEqual(delays, [5, 10, 20]);
  assert.equal(counts.retry, 3);
  assert.equal(q.numRequeues('a'), 3);
  q.forget('a');
  q.addRateLimited('a');
  assert.equal(clock.nextTimerInMs(), 5);
});

test('shutDown drops queued and delayed keys and releases getters', async () => {
  const { q, clock } = newQueue();
  const waiting = q.get();
  q.shutDown();
  assert.equal(await waiting, undefined);
  q.add('a');
  q.addAfter('b', 10);
  assert.equal(q.len(), 0);
  assert.equal(clock.pendingTimers(), 0);
  assert.equal(await q.get(), undefined);
});
