import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FakeClock } from '../../../src/runtime/index.ts';
import { inotifyWatchesUnder } from '../../../src/adapters/watch/inotify.ts';
import { Fixture, FakeWatchers } from './fixture.ts';
import { tempDir, write } from '../../adapters/watch/helpers.ts';
import { waitFor } from '../../support/wait.ts';
import { FileBatches } from '../../../src/tilt/index.ts';

const seen = Fixture.seen;

describe('FileWatchReconciler with real files', () => {
  it('records batches of changes, without ignored files, and settles', async (t) => {
    const f = await Fixture.start(t);
    const dir = tempDir(t);
    write(path.join(dir, 'node_modules', 'dep', 'index.js'));
    await f.create('app', {
      watchedPaths: [dir],
      ignores: [{ basePath: dir, patterns: ['node_modules', '**/*.log'] }],
    });
    let fw = await f.waitStatus('app', (o) => !!o.status?.monitorStartTime, 'monitor started');
    assert.equal(fw.status!.disableStatus?.state, 'Enabled');
    assert.equal(fw.status!.fileEvents, undefined);
    assert.equal(inotifyWatchesUnder(path.join(dir, 'node_modules')), 0);

    write(path.join(dir, 'node_modules', 'dep', 'index.js'), 'changed');
    write(path.join(dir, 'app.log'));
    write(path.join(dir, 'src', '.main.ts.swp'));
    write(path.join(dir, 'src', 'main.ts'));
    fw = await f.waitStatus('app', (o) => seen(o).includes(path.join(dir, 'src', 'main.ts')), 'main.ts seen');
    assert.deepEqual(seen(fw).filter((p) => /node_modules|\.log$|\.swp$/.test(p)), []);
    assert.equal(fw.status!.lastEventTime, fw.status!.fileEvents!.at(-1)!.time);
    assert.match(fw.status!.lastEventTime!, /\.\d{6}Z$/);
    assert.equal(fw.status!.error, undefined);

    const steady = await f.steadyState('app');
    assert.equal(steady.after, steady.before);
  });

  it('reports an error for / and keeps the object otherwise intact', async (t) => {
    const f = await Fixture.start(t);
    await f.create('root', { watchedPaths: ['/'] });
    const fw = await f.waitStatus('root', (o) => !!o.status?.error, 'error');
    assert.equal(fw.status!.error, 'filewatch init: cannot watch root directory');
    assert.equal(fw.status!.monitorStartTime, undefined);
    const steady = await f.steadyState('root');
    assert.equal(steady.after, steady.before);
  });

  it('is stopped while disabled through a ConfigMap and starts afresh when enabled again', async (t) => {
    const f = await Fixture.start(t);
    const dir = tempDir(t);
    await f.create('svc', { watchedPaths: [dir], disableSource: { configMap: { name: 'svc-disable', key: 'isDisabled' } } });
    // A missing ConfigMap is Pending: reported as disabled, yet still watching.
    let fw = await f.waitStatus('svc', (o) => o.status?.disableStatus?.state === 'Pending' && !!o.status.monitorStartTime, 'pending');
    assert.equal(fw.status!.disableStatus!.disabled, true);
    write(path.join(dir, 'one.txt'));
    await f.waitStatus('svc', (o) => seen(o).includes(path.join(dir, 'one.txt')), 'one.txt');

    await f.setConfigMap('svc-disable', { isDisabled: 'true' });
    fw = await f.waitStatus('svc', (o) => o.status?.disableStatus?.state === 'Disabled', 'disabled');
    assert.deepEqual(Object.keys(fw.status!), ['disableStatus']);
    assert.deepEqual(f.reconciler.watching(), []);
    assert.equal(inotifyWatchesUnder(dir), 0);
    let steady = await f.steadyState('svc');
    assert.equal(steady.after, steady.before);

    await f.setConfigMap('svc-disable', { isDisabled: 'false' });
    fw = await f.waitStatus('svc', (o) => o.status?.disableStatus?.state === 'Enabled' && !!o.status.monitorStartTime, 'enabled');
    assert.equal(fw.status!.fileEvents, undefined, 'the history starts empty');
    write(path.join(dir, 'two.txt'));
    fw = await f.waitStatus('svc', (o) => seen(o).includes(path.join(dir, 'two.txt')), 'two.txt');
    assert.equal(seen(fw).includes(path.join(dir, 'one.txt')), false);
    steady = await f.steadyState('svc');
    assert.equal(steady.after, steady.before);
  });

  it('restarts on a spec change, keeping the history, and stops on delete', async (t) => {
    const f = await Fixture.start(t);
    const a = tempDir(t);
    const b = tempDir(t);
    await f.create('ab', { watchedPaths: [a] });
    await f.waitStatus('ab', (o) => !!o.status?.monitorStartTime, 'started');
    write(path.join(a, 'first.txt'));
    const before = await f.waitStatus('ab', (o) => seen(o).includes(path.join(a, 'first.txt')), 'first.txt');

    await f.updateSpec('ab', { watchedPaths: [b] });
    await waitFor(() => inotifyWatchesUnder(a) === 0 && inotifyWatchesUnder(b) > 0, { message: 'watching b only' });
    write(path.join(a, 'old-path.txt'));
    write(path.join(b, 'second.txt'));
    const after = await f.waitStatus('ab', (o) => seen(o).includes(path.join(b, 'second.txt')), 'second.txt');
    assert.deepEqual(after.status!.fileEvents![0], before.status!.fileEvents![0], 'history kept');
    assert.equal(seen(after).includes(path.join(a, 'old-path.txt')), false);
    assert.notEqual(after.status!.monitorStartTime, undefined);

    await f.mgr.client.delete('FileWatch', 'ab');
    await waitFor(() => f.reconciler.watching().length === 0, { message: 'watcher stopped' });
    assert.equal(inotifyWatchesUnder(b), 0);
  });

  it('reports a file written right after the FileWatch is created, every time', async (t) => {
    const f = await Fixture.start(t);
    for (let i = 0; i < 10; i++) {
      const dir = tempDir(t);
      const name = `early-${i}`;
      await f.create(name, { watchedPaths: [dir] });
      write(path.join(dir, 'a.txt'), 'hello');
      const fw = await f.waitStatus(name, (o) => seen(o).includes(path.join(dir, 'a.txt')), `a.txt seen (try ${i})`);
      assert.deepEqual(seen(fw), [path.join(dir, 'a.txt')], `try ${i}: reported once`);
      await f.mgr.client.delete('FileWatch', name);
    }
  });

  it('lists a path touched many times in one burst once in its batch', async (t) => {
    const f = await Fixture.start(t);
    const dir = tempDir(t);
    await f.create('burst', { watchedPaths: [dir] });
    await f.waitStatus('burst', (o) => !!o.status?.monitorStartTime, 'started');
    const file = path.join(dir, 'same.txt');
    for (let i = 0; i < 100; i++) fs.appendFileSync(file, `${i}\n`);
    write(path.join(dir, 'last.txt'));
    const fw = await f.waitStatus('burst', (o) => seen(o).includes(path.join(dir, 'last.txt')), 'last.txt seen');
    for (const e of fw.status!.fileEvents!) assert.equal(new Set(e.seenFiles).size, e.seenFiles.length, `no duplicates in ${JSON.stringify(e.seenFiles)}`);
    assert.ok(seen(fw).includes(file));
  });

  it('keeps the exact paths of a batch too large for its status, for the daemon\'s LiveUpdates, and forgets them on delete', async (t) => {
    const batches = new FileBatches();
    const f = await Fixture.start(t, { batches });
    const dir = tempDir(t);
    write(path.join(dir, 'src', 'unchanged.txt'));
    // Older than the FileWatch, and than a rescan's window (a second before its burst): never reported.
    await new Promise((r) => setTimeout(r, 1200));
    const created = await f.create('big', { watchedPaths: [dir] });
    await f.waitStatus('big', (o) => !!o.status?.monitorStartTime, 'started');
    // 400 names of 100 characters: past the 32 KiB of seenFiles a batch may take.
    const names = Array.from({ length: 400 }, (_, i) => path.join(dir, 'src', `${String(i).padStart(4, '0')}-${'n'.repeat(95)}`));
    for (const p of names) write(p);
    const fw = await f.waitStatus('big', (o) => (o.status?.fileEvents ?? []).length > 0 && seen(o).includes(path.join(dir, 'src')), 'a shortened batch');
    const events = fw.status!.fileEvents!;
    const exact = new Set(events.flatMap((ev) => batches.pathsOf(created.metadata.uid, ev) ?? ev.seenFiles));
    for (const p of names) assert.ok(exact.has(p), `${p} is listed`);
    assert.ok(!exact.has(path.join(dir, 'src', 'unchanged.txt')), 'a file that did not change is not');
    assert.ok(!exact.has(path.join(dir, 'src')), 'nor the directory the status names');
    await f.mgr.client.delete('FileWatch', 'big');
    await waitFor(() => batches.size === 0, { message: 'the records forgotten' });
  });

  it('picks up a watched path created later', async (t) => {
    const f = await Fixture.start(t);
    const dir = tempDir(t);
    const later = path.join(dir, 'later');
    await f.create('later', { watchedPaths: [later] });
    await f.waitStatus('later', (o) => !!o.status?.monitorStartTime, 'started');
    fs.mkdirSync(later);
    write(path.join(later, 'x.txt'));
    await f.waitStatus('later', (o) => seen(o).includes(path.join(later, 'x.txt')), 'x.txt');
  });
});

describe('FileWatchReconciler with a fake watcher', () => {
  async function fakeFixture(t: import('node:test').TestContext) {
    const clock = new FakeClock();
    const watchers = new FakeWatchers();
    // Tilt's fixed 200 ms quiet period (`--filewatch-quiet-ms=200`, not adaptive).
    const f = await Fixture.start(t, { clock, newWatcher: watchers.factory, quietMs: 200, adaptiveQuiet: false });
    return { f, clock, watchers };
  }

  it('batches changes: 200 ms of quiet closes a batch, 10 s bound a long one', async (t) => {
    const { f, clock, watchers } = await fakeFixture(t);
    await f.create('b', { watchedPaths: ['/src'] });
    await f.waitStatus('b', (o) => !!o.status?.monitorStartTime, 'started');
    const w = watchers.last;
    w.change('/src/a');
    await clock.advance(150);
    w.change('/src/b', '/src/a');
    await clock.advance(199);
    w.change('/src/c');
    await clock.advance(200);
    let fw = await f.waitStatus('b', (o) => o.status?.fileEvents?.length === 1, 'one batch');
    assert.deepEqual(fw.status!.fileEvents![0]!.seenFiles, ['/src/a', '/src/b', '/src/c'], 'each path once, at its first change');
    assert.equal(fw.status!.fileEvents![0]!.time, '2024-01-01T00:00:00.349000Z', 'the time of the last change of the batch');

    // A change every 100 ms never goes quiet: the batch is cut at 10 s.
    for (let i = 0; i < 120; i++) {
      w.change(`/src/busy${i}`);
      await clock.advance(100);
    }
    await clock.advance(200);
    fw = await f.waitStatus('b', (o) => o.status?.fileEvents?.length === 3, 'two more batches');
    assert.equal(fw.status!.fileEvents![1]!.seenFiles.length, 100);
    assert.equal(fw.status!.fileEvents![2]!.seenFiles.length, 20);
  });

  it('keeps the 20 most recent batches; a batch clears the error', async (t) => {
    const { f, clock, watchers } = await fakeFixture(t);
    await f.create('cap', { watchedPaths: ['/src'] });
    await f.waitStatus('cap', (o) => !!o.status?.monitorStartTime, 'started');
    const w = watchers.last;
    w.error(new Error('The inotify event queue has overflowed.'));
    await f.waitStatus('cap', (o) => !!o.status?.error, 'error shown');
    for (let i = 1; i <= 25; i++) {
      w.change(`/src/f${i}`);
      await clock.advance(200);
    }
    const fw = await f.waitStatus('cap', (o) => seen(o).includes('/src/f25'), 'last batch');
    assert.equal(fw.status!.fileEvents!.length, 20);
    assert.deepEqual(fw.status!.fileEvents![0]!.seenFiles, ['/src/f6']);
    assert.equal(fw.status!.error, undefined);
    const steady = await f.steadyState('cap');
    assert.equal(steady.after, steady.before);
  });

  it('restarts a watcher that closed by itself, after 1 s then 2 s, keeping the history', async (t) => {
    const { f, clock, watchers } = await fakeFixture(t);
    await f.create('r', { watchedPaths: ['/src'] });
    await f.waitStatus('r', (o) => !!o.status?.monitorStartTime, 'started');
    watchers.last.change('/src/a');
    await clock.advance(200);
    await f.waitStatus('r', (o) => seen(o).includes('/src/a'), 'a');

    watchers.last.die();
    let fw = await f.waitStatus('r', (o) => o.status?.error === 'unexpected close', 'unexpected close');
    assert.equal(watchers.made.length, 1);
    await clock.advance(1000);
    f.controller.enqueue('r');
    await waitFor(() => watchers.made.length === 2, { message: 'restarted' });
    fw = await f.waitStatus('r', (o) => o.status?.monitorStartTime !== fw.status!.monitorStartTime, 'new monitor');
    assert.deepEqual(seen(fw), ['/src/a']);
    assert.equal(fw.status!.error, 'unexpected close', 'the error stays until a batch arrives');

    watchers.last.die();
    await clock.advance(1000);
    f.controller.enqueue('r');
    await f.steadyState('r');
    assert.equal(watchers.made.length, 2, 'the second restart waits 2 s');
    await clock.advance(1000);
    f.controller.enqueue('r');
    await waitFor(() => watchers.made.length === 3, { message: 'restarted again' });
    watchers.last.change('/src/b');
    await clock.advance(200);
    fw = await f.waitStatus('r', (o) => seen(o).includes('/src/b'), 'b');
    assert.equal(fw.status!.error, undefined);
  });

  it('does not retry a watcher that failed to start until the spec changes', async (t) => {
    const { f, watchers } = await fakeFixture(t);
    watchers.failNext = new Error('the inotify watch limit is reached');
    await f.create('bad', { watchedPaths: ['/src'] });
    await f.waitStatus('bad', (o) => o.status?.error === 'filewatch init: the inotify watch limit is reached', 'init error');
    await f.steadyState('bad');
    assert.equal(watchers.made.length, 1);
    await f.updateSpec('bad', { watchedPaths: ['/src', '/lib'] });
    const fw = await f.waitStatus('bad', (o) => !!o.status?.monitorStartTime, 'started');
    assert.equal(fw.status!.error, undefined);
    assert.deepEqual(watchers.last.opts.paths, ['/src', '/lib']);
  });
});
