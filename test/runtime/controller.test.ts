import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, settle } from '../../src/util/clock.ts';
import { Controller } from '../../src/runtime/controller.ts';
import { defaultControllerRateLimiter } from '../../src/runtime/rate-limiter.ts';
import { TerminalError, type ReconcileContext, type Reconciler, type Result } from '../../src/runtime/reconciler.ts';
import { deferred, type Deferred } from './support.ts';
import { silentLogger } from '../../src/log.ts';

type Behaviour = (ctx: ReconcileContext) => Promise<Result | void>;

/** FakeReconciler records every call and replays queued behaviours (default: succeed). */
class FakeReconciler implements Reconciler {
  calls: Array<{ name: string; atMs: number }> = [];
  active = new Map<string, number>();
  maxActivePerKey = 0;
  maxActive = 0;
  behaviours = new Map<string, Array<Behaviour>>();
  fallback = new Map<string, Behaviour>();

  constructor(private readonly clock: FakeClock) {}

  /** then queues one behaviour for key's next call. */
  then(key: string, fn: Behaviour): this {
    const list = this.behaviours.get(key) ?? [];
    list.push(fn);
    this.behaviours.set(key, list);
    return this;
  }

  always(key: string, fn: Behaviour): this {
    this.fallback.set(key, fn);
    return this;
  }

  callsOf(key: string): number[] {
    return this.calls.filter((c) => c.name === key).map((c) => c.atMs);
  }

  async reconcile(req: { name: string }, ctx: ReconcileContext): Promise<Result | void> {
    this.calls.push({ name: req.name, atMs: this.clock.now().getTime() });
    const n = (this.active.get(req.name) ?? 0) + 1;
    this.active.set(req.name, n);
    this.maxActivePerKey = Math.max(this.maxActivePerKey, n);
    this.maxActive = Math.max(this.maxActive, [...this.active.values()].reduce((a, b) => a + b, 0));
    try {
      const fn = this.behaviours.get(req.name)?.shift() ?? this.fallback.get(req.name);
      return fn ? await fn(ctx) : undefined;
    } finally {
      this.active.set(req.name, this.active.get(req.name)! - 1);
    }
  }
}

function newFixture(opts: { concurrency?: number } = {}) {
  const clock = new FakeClock();
  const r = new FakeReconciler(clock);
  const c = new Controller({
    name: 'test',
    reconciler: r,
    clock,
    log: silentLogger(),
    rateLimiter: defaultControllerRateLimiter(clock),
    concurrency: opts.concurrency,
  });
  c.start();
  const t0 = clock.now().getTime();
  return { clock, r, c, since: (ms: number[]) => ms.map((m) => m - t0) };
}

test('one key is never reconciled by two workers at once; re-added while running, it runs once more', async () => {
  const f = newFixture({ concurrency: 4 });
  const gate: Deferred = deferred();
  f.r.then('a', () => gate.promise);
  f.c.enqueue('a');
  await settle();
  assert.equal(f.r.callsOf('a').length, 1);
  for (let i = 0; i < 10; i++) f.c.enqueue('a');
  f.c.enqueue('b');
  f.c.enqueue('c');
  await settle();
  assert.equal(f.r.callsOf('a').length, 1, 'a is not started twice');
  assert.equal(f.r.callsOf('b').length, 1, 'other keys run meanwhile');
  assert.equal(f.r.callsOf('c').length, 1);
  gate.resolve();
  await f.c.idle();
  assert.equal(f.r.callsOf('a').length, 2, 'a runs exactly once more');
  assert.equal(f.r.maxActivePerKey, 1);
  await f.c.stop();
});

test('concurrency bounds the reconciles in flight', async () => {
  const f = newFixture({ concurrency: 2 });
  const gate: Deferred = deferred();
  for (const k of ['a', 'b', 'c', 'd']) f.r.then(k, () => gate.promise);
  for (const k of ['a', 'b', 'c', 'd']) f.c.enqueue(k);
  await settle();
  assert.equal(f.r.calls.length, 2);
  gate.resolve();
  await f.c.idle();
  assert.equal(f.r.calls.length, 4);
  assert.equal(f.r.maxActive, 2);
  await f.c.stop();
});

test('a failing key is retried after 5, 10, 20, 40, 80 ms', async () => {
  const f = newFixture();
  f.r.always('a', async () => {
    throw new Error('boom');
  });
  f.c.enqueue('a');
  await settle();
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    delays.push(f.clock.nextTimerInMs()!);
    await f.clock.advance(delays[i]);
  }
  assert.deepEqual(delays, [5, 10, 20, 40, 80]);
  assert.deepEqual(f.since(f.r.callsOf('a')), [0, 5, 15, 35, 75, 155]);
  await f.c.stop();
});

test('success forgets the backoff: the next failure waits 5 ms again', async () => {
  const f = newFixture();
  const fail = async () => {
    throw new Error('boom');
  };
  f.r.then('a', fail).then('a', fail).then('a', async () => {}).then('a', fail);
  f.c.enqueue('a');
  await settle();
  await f.clock.advance(5);
  await f.clock.advance(10);
  assert.equal(f.r.callsOf('a').length, 3, 'failed twice, then succeeded');
  assert.equal(f.clock.pendingTimers(), 0);
  f.c.enqueue('a');
  await settle();
  assert.equal(f.r.callsOf('a').length, 4);
  assert.equal(f.clock.nextTimerInMs(), 5);
  await f.c.stop();
});

test('a terminal error is not retried', async () => {
  const f = newFixture();
  f.r.always('a', async () => {
    throw new TerminalError('bad spec');
  });
  f.c.enqueue('a');
  await settle();
  assert.equal(f.clock.pendingTimers(), 0);
  await f.clock.advance(60_000);
  assert.equal(f.r.callsOf('a').length, 1);
  // An event still wakes it.
  f.c.enqueue('a');
  await settle();
  assert.equal(f.r.callsOf('a').length, 2);
  await f.c.stop();
});

test('requeueAfterMs runs the key again after exactly that delay', async () => {
  const f = newFixture();
  f.r.then('a', async () => ({ requeueAfterMs: 1000 }));
  f.c.enqueue('a');
  await settle();
  await f.clock.advance(999);
  assert.equal(f.r.callsOf('a').length, 1);
  await f.clock.advance(1);
  assert.deepEqual(f.since(f.r.callsOf('a')), [0, 1000]);
  await f.clock.advance(10_000);
  assert.equal(f.r.callsOf('a').length, 2, 'no requeue after a plain success');
  await f.c.stop();
});

test('an event before a requeueAfter fires runs it early, and the timer still fires once', async () => {
  const f = newFixture();
  f.r.then('a', async () => ({ requeueAfterMs: 1000 }));
  f.c.enqueue('a');
  await settle();
  await f.clock.advance(100);
  f.c.enqueue('a');
  await settle();
  await f.clock.advance(900);
  assert.deepEqual(f.since(f.r.callsOf('a')), [0, 100, 1000]);
  await f.c.stop();
});

test('stop waits for the reconciles in flight and starts no new ones', async () => {
  const f = newFixture({ concurrency: 2 });
  const gate: Deferred = deferred();
  let sawAbort = false;
  f.r.then('a', async () => {
    await gate.promise;
  });
  f.r.then('b', async (ctx) => {
    await gate.promise;
    sawAbort = ctx.signal.aborted;
  });
  f.c.enqueue('a');
  f.c.enqueue('b');
  f.c.enqueueAfter('c', 10);
  await settle();
  let stopped = false;
  const stopping = f.c.stop().then(() => (stopped = true));
  await settle();
  assert.equal(stopped, false, 'stop waits');
  f.c.enqueue('d');
  await f.clock.advance(100);
  gate.resolve();
  await stopping;
  assert.ok(sawAbort);
  assert.deepEqual(f.r.calls.map((c) => c.name).sort(), ['a', 'b']);
});
