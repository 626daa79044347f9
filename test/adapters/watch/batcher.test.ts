import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EventBatcher } from '../../../src/adapters/watch/batcher.ts';
import { FakeClock } from '../../../src/runtime/index.ts';
import { realClock } from '../../../src/util/clock.ts';
import { tempDir } from './helpers.ts';

/** fixture batches with Tilt's fixed 200 ms unless told otherwise. */
function fixture(quietMs = 200, adaptive = false) {
  const clock = new FakeClock();
  const batches: string[][] = [];
  const times: number[] = [];
  const b = new EventBatcher({
    clock,
    quietMs,
    adaptive,
    onBatch: (ps, t) => {
      batches.push(ps);
      times.push(t);
    },
  });
  return { clock, batches, times, b };
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

  it('by default waits 10 ms: a save (temporary file, then rename) is one batch', async () => {
    const clock = new FakeClock();
    const batches: string[][] = [];
    const b = new EventBatcher({ clock, onBatch: (ps) => batches.push(ps) });
    b.add(['/src/.a.js.swp']);
    await clock.advance(2);
    b.add(['/src/a.js']);
    await clock.advance(9);
    assert.deepEqual(batches, []);
    await clock.advance(1);
    assert.deepEqual(batches, [['/src/.a.js.swp', '/src/a.js']]);
  });

  it('stamps a batch with the time of its last change, not of the flush', async () => {
    const { clock, times, b } = fixture(20, true);
    const start = clock.now().getTime();
    b.add(['a']);
    await clock.advance(5);
    b.add(['b']);
    await clock.advance(100);
    assert.deepEqual(times, [(start + 5) * 1000]);
  });

  it('grows the quiet period while a burst goes on, and starts again from the base', async () => {
    const { clock, batches, b } = fixture(20, true);
    // A branch switch: a change every 2 ms for 600 ms (the window follows its length) ...
    for (let t = 0; t < 600; t += 2) {
      b.add([`f${t}`]);
      await clock.advance(2);
    }
    assert.ok(b.currentQuietMs >= 59 && b.currentQuietMs <= 61, `a tenth of the burst: ${b.currentQuietMs}`);
    // ... a pause of 45 ms (more than half the window: it doubles), then more.
    await clock.advance(45);
    b.add(['late']);
    assert.ok(b.currentQuietMs >= 118, `doubled: ${b.currentQuietMs}`);
    await clock.advance(100);
    b.add(['later']);
    await clock.advance(b.currentQuietMs - 1);
    assert.equal(batches.length, 0, 'still one burst');
    await clock.advance(1);
    assert.equal(batches.length, 1);
    assert.ok(batches[0]!.includes('late') && batches[0]!.includes('later'));
    // The next change is a save: the base period again.
    b.add(['x']);
    await clock.advance(20);
    assert.deepEqual(batches[1], ['x']);
  });

  it('does not grow during a burst of changes close together: flushed soon after it', async () => {
    const { clock, batches, b } = fixture(20, true);
    for (let i = 0; i < 100; i++) {
      b.add([`f${i}`]);
      await clock.advance(1);
    }
    assert.equal(b.currentQuietMs, 20);
    await clock.advance(20);
    assert.equal(batches.length, 1);
  });

  it('keeps the quiet period fixed when not adaptive (Tilt)', async () => {
    const { clock, batches, b } = fixture(200, false);
    for (let t = 0; t < 1000; t += 100) {
      b.add([`f${t}`]);
      await clock.advance(100);
    }
    assert.equal(b.currentQuietMs, 200);
    await clock.advance(100);
    assert.equal(batches.length, 1);
  });

  it('never lets the quiet period outgrow the 10 s bound', async () => {
    const { clock, batches, b } = fixture(20, true);
    for (let i = 0; i < 1500; i++) {
      b.add([`f${i}`]);
      await clock.advance(10);
    }
    assert.ok(b.currentQuietMs <= 10_000);
    assert.equal(batches.length, 1, 'cut at 10 s');
    assert.equal(batches[0]!.length, 1000);
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

  it('keeps a change the kernel reported while the process was stalled in the batch', async (t) => {
    // Node runs a due timer before it reads I/O: after a stall, the quiet period would end the
    // batch before the second half of a save (reported during the stall) is read.
    const dir = tempDir(t);
    const batches: string[][] = [];
    const b = new EventBatcher({ clock: realClock, quietMs: 10, onBatch: (ps) => batches.push(ps) });
    t.after(() => b.close());
    const watcher = fs.watch(dir, (_type, name) => b.add([String(name)]));
    t.after(() => watcher.close());
    b.add(['first']);
    fs.writeFileSync(path.join(dir, 'second'), 'x');
    const until = Date.now() + 40;
    while (Date.now() < until) {
      // The stall: longer than the quiet period, with the kernel's event waiting.
    }
    while (batches.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(batches.length, 1, `one batch: ${JSON.stringify(batches)}`);
    assert.deepEqual(batches[0]!.slice(0, 2), ['first', 'second']);
  });
});
