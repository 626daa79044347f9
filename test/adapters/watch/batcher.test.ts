import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventBatcher } from '../../../src/adapters/watch/batcher.ts';
import { FakeClock } from '../../../src/runtime/index.ts';

function fixture(quietMs?: number) {
  const clock = new FakeClock();
  const batches: string[][] = [];
  const b = new EventBatcher({ clock, quietMs, onBatch: (ps) => batches.push(ps) });
  return { clock, batches, b };
}

describe('EventBatcher', () => {
  it('flushes after the quiet period, restarted by every change', async () => {
    const { clock, batches, b } = fixture();
    b.add(['a']);
    await clock.advance(199);
    b.add(['b']);
    await clock.advance(199);
    assert.deepEqual(batches, []);
    await clock.advance(1);
    assert.deepEqual(batches, [['a', 'b']]);
  });

  it('lists a path changed many times once, at its first change', async () => {
    const { clock, batches, b } = fixture();
    b.add(['a', 'b', 'a']);
    for (let i = 0; i < 100; i++) b.add(['b', 'a', 'c']);
    await clock.advance(200);
    assert.deepEqual(batches, [['a', 'b', 'c']]);
    b.add(['a']);
    await clock.advance(200);
    assert.deepEqual(batches, [['a', 'b', 'c'], ['a']], 'a new batch lists it again');
  });

  it('uses the configured quiet period', async () => {
    const { clock, batches, b } = fixture(50);
    b.add(['a']);
    await clock.advance(50);
    assert.deepEqual(batches, [['a']]);
  });

  it('cuts a batch 10 s after its first change', async () => {
    const { clock, batches, b } = fixture();
    for (let i = 0; i < 150; i++) {
      b.add([`f${i}`]);
      await clock.advance(100);
    }
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.length, 100);
    await clock.advance(200);
    assert.equal(batches[1]!.length, 50);
  });

  it('holds the batch while the watcher is busy, up to the 10 s bound', async () => {
    const { clock, batches, b } = fixture();
    b.add(['a']);
    b.setBusy(true);
    await clock.advance(5000);
    assert.deepEqual(batches, []);
    b.add(['b']);
    b.setBusy(false);
    await clock.advance(200);
    assert.deepEqual(batches, [['a', 'b']]);
    b.add(['c']);
    b.setBusy(true);
    await clock.advance(10_000);
    assert.deepEqual(batches[1], ['c']);
  });

  it('ignores empty adds and drops the pending batch on close', async () => {
    const { clock, batches, b } = fixture();
    b.add([]);
    b.add(['a']);
    b.close();
    await clock.advance(20_000);
    assert.deepEqual(batches, []);
    assert.equal(clock.pendingTimers(), 0);
  });
});
