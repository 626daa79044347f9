import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeList, KubeObject } from '../../src/apis/meta.ts';
import type { WatchEvent, WatchHandle, WatchOptions } from '../../src/client/client.ts';
import { ApiError } from '../../src/client/errors.ts';
import { FakeClock, settle } from '../../src/util/clock.ts';
import { Informer, type ListWatcher, type ObjectEvent } from '../../src/runtime/informer.ts';
import { silentLogger } from '../../src/log.ts';


interface FakeWatch {
  opts: WatchOptions;
  onEvent: (ev: WatchEvent) => void;
  done: (err?: unknown) => void;
  stopped: boolean;
}

/** FakeListWatcher is a server in memory: tests change objects, and end or break watches. */
class FakeListWatcher implements ListWatcher {
  objects = new Map<string, KubeObject>();
  rv = 100;
  lists = 0;
  listError?: Error;
  watches: FakeWatch[] = [];

  put(name: string, data = ''): KubeObject {
    const obj: KubeObject = { kind: 'ConfigMap', apiVersion: 'tilt.dev/v1alpha1', metadata: { name, resourceVersion: String(++this.rv) }, spec: { data } };
    this.objects.set(name, obj);
    return obj;
  }

  remove(name: string): KubeObject {
    const obj = this.objects.get(name)!;
    this.objects.delete(name);
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
  }

  get current(): FakeWatch {
    return this.watches[this.watches.length - 1];
  }

  async list(): Promise<KubeList<KubeObject>> {
    this.lists++;
    if (this.listError) throw this.listError;
    return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: String(this.rv) }, items: [...this.objects.values()].map((o) => structuredClone(o)) };
  }

  async watch(_kind: string, opts: WatchOptions, onEvent: (ev: WatchEvent) => void, done: (err?: unknown) => void): Promise<WatchHandle> {
    const w: FakeWatch = { opts, onEvent, done, stopped: false };
    this.watches.push(w);
    return { stop: () => (w.stopped = true) };
  }

  send(type: WatchEvent['type'], object: KubeObject): void {
    this.current.onEvent({ type, object: structuredClone(object) });
  }
}

function newFixture() {
  const clock = new FakeClock();
  const lw = new FakeListWatcher();
  const inf = new Informer({ kind: 'ConfigMap', source: lw, clock, log: silentLogger() });
  const events: string[] = [];
  inf.onEvent((ev: ObjectEvent) => events.push(`${ev.type} ${ev.obj.metadata.name}`));
  return { clock, lw, inf, events };
}

/** syncedFixture is a fixture whose informer has listed (nothing) and watches. */
async function syncedFixture() {
  const f = newFixture();
  f.inf.start();
  await f.inf.waitForSync();
  await settle();
  return f;
}

test('lists, then watches from the list resourceVersion, and reports changes', async () => {
  const f = newFixture();
  f.lw.put('a');
  f.lw.put('b');
  f.inf.start();
  await f.inf.waitForSync();
  await settle();
  assert.deepEqual(f.events, ['add a', 'add b']);
  assert.equal(f.lw.current.opts.resourceVersion, '102');

  f.lw.send('MODIFIED', f.lw.put('a', 'x'));
  f.lw.send('ADDED', f.lw.put('c'));
  f.lw.send('DELETED', f.lw.remove('b'));
  assert.deepEqual(f.events.slice(2), ['update a', 'add c', 'delete b']);
  assert.deepEqual(f.inf.store.names().sort(), ['a', 'c']);
  assert.equal(f.inf.lastResourceVersion(), '105');

  // A replayed event with a resourceVersion the cache already has is not reported.
  f.lw.send('ADDED', f.lw.objects.get('a')!);
  assert.equal(f.events.length, 5);
  f.inf.stop();
});

test('a 410 ERROR event relists at once, reporting deletes for objects that vanished meanwhile', async () => {
  const f = newFixture();
  f.lw.put('keep');
  f.lw.put('gone');
  f.lw.put('changed');
  f.inf.start();
  await f.inf.waitForSync();
  await settle();
  f.events.length = 0;

  // Changes the watch never delivered:
  f.lw.remove('gone');
  f.lw.put('changed', 'new');
  f.lw.put('new');
  f.lw.send('ERROR', { kind: 'Status', code: 410, reason: 'Expired', metadata: {} } as unknown as KubeObject);
  await settle();

  assert.equal(f.lw.lists, 2);
  assert.deepEqual(f.events.sort(), ['add new', 'delete gone', 'update changed']);
  assert.deepEqual(f.inf.store.names().sort(), ['changed', 'keep', 'new']);
  assert.equal(f.lw.watches[0].stopped, true);
  assert.equal(f.lw.current.opts.resourceVersion, String(f.lw.rv));
  f.inf.stop();
});

test('a watch refused with HTTP 410 relists at once', async () => {
  const f = await syncedFixture();
  f.lw.current.done(new ApiError(410, undefined));
  await settle();
  assert.equal(f.lw.lists, 2);
  assert.equal(f.clock.pendingTimers(), 0);
  f.inf.stop();
});

test('a lost connection relists after a backoff that doubles while the server stays away', async () => {
  const f = newFixture();
  f.lw.put('a');
  f.lw.put('b');
  f.inf.start();
  await f.inf.waitForSync();
  await settle();
  f.events.length = 0;

  f.lw.listError = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  f.lw.current.done(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  await settle();
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    delays.push(f.clock.nextTimerInMs()!);
    await f.clock.advance(delays[i]);
  }
  assert.deepEqual(delays, [800, 1600, 3200, 6400, 12800, 25600, 30000]);
  assert.equal(f.lw.lists, 1 + 7);

  // The server comes back without b.
  f.lw.listError = undefined;
  f.lw.remove('b');
  await f.clock.advance(f.clock.nextTimerInMs()!);
  assert.deepEqual(f.events, ['delete b']);
  assert.equal(f.lw.watches.length, 2);

  // An event proves the watch healthy again: the next failure starts at 800 ms.
  f.lw.send('ADDED', f.lw.put('c'));
  f.lw.current.done(new Error('socket hang up'));
  await settle();
  assert.equal(f.clock.nextTimerInMs(), 800);
  f.inf.stop();
  assert.equal(f.clock.pendingTimers(), 0);
});

test('a watch the server ends after a while is resumed at once from the last resourceVersion, without a list', async () => {
  const f = await syncedFixture();
  f.lw.send('ADDED', f.lw.put('a'));
  await f.clock.advance(60_000);
  f.lw.current.done();
  await settle();
  assert.equal(f.lw.lists, 1);
  assert.equal(f.lw.watches.length, 2);
  assert.equal(f.lw.current.opts.resourceVersion, '101');
  f.inf.stop();
});

test('a watch the server ends at once without events is resumed after a backoff, not in a loop', async () => {
  const f = await syncedFixture();
  f.lw.current.done();
  await settle();
  assert.equal(f.lw.watches.length, 1);
  assert.equal(f.clock.nextTimerInMs(), 800);
  await f.clock.advance(800);
  assert.equal(f.lw.watches.length, 2);
  assert.equal(f.lw.lists, 1);
  f.inf.stop();
});

test('other error statuses re-watch from the last resourceVersion after a backoff', async () => {
  const f = await syncedFixture();
  f.lw.current.done(new ApiError(500, undefined));
  await settle();
  await f.clock.advance(800);
  assert.equal(f.lw.lists, 1);
  assert.equal(f.lw.watches.length, 2);
  f.inf.stop();
});

test('objects in the store are frozen', async () => {
  const f = newFixture();
  f.lw.put('a');
  f.inf.start();
  await f.inf.waitForSync();
  const a = f.inf.store.get('a')!;
  assert.throws(() => {
    (a.metadata as { name?: string }).name = 'b';
  }, TypeError);
  f.inf.stop();
});
