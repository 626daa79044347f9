import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createIgnoreMatcher } from '../../../src/adapters/ignore/matcher.ts';
import { FsWatchWatcher } from '../../../src/adapters/watch/fs-watch-watcher.ts';
import { inotifyWatchesUnder } from '../../../src/adapters/watch/inotify.ts';
import { realClock } from '../../../src/util/clock.ts';
import { Recorder, tempDir, write } from './helpers.ts';

describe('FsWatchWatcher', () => {
  it('reports create, modify, delete and rename', async (t) => {
    const dir = tempDir(t);
    write(path.join(dir, 'old.txt'));
    write(path.join(dir, 'mod.txt'));
    write(path.join(dir, 'del.txt'));
    const r = await Recorder.start(t, [dir]);
    write(path.join(dir, 'new.txt'));
    await r.waitFor(path.join(dir, 'new.txt'));
    fs.appendFileSync(path.join(dir, 'mod.txt'), 'more');
    await r.waitFor(path.join(dir, 'mod.txt'));
    fs.rmSync(path.join(dir, 'del.txt'));
    await r.waitFor(path.join(dir, 'del.txt'));
    fs.renameSync(path.join(dir, 'old.txt'), path.join(dir, 'renamed.txt'));
    await r.waitFor(path.join(dir, 'old.txt'), path.join(dir, 'renamed.txt'));
    assert.deepEqual(r.errors, []);
  });

  it('with changedSinceMs, reports at start the files changed since then, and only those', async (t) => {
    const dir = tempDir(t);
    const other = tempDir(t);
    for (const f of ['a.txt', 'sub/deeper/b.txt', 'ignored/c.txt']) write(path.join(dir, f));
    const fileRoot = path.join(other, 'single.txt');
    write(fileRoot);
    const start = async (changedSinceMs: number) => {
      const seen: string[] = [];
      const w = new FsWatchWatcher({
        paths: [dir, fileRoot],
        ignore: createIgnoreMatcher([{ basePath: dir, patterns: ['ignored'] }]),
        clock: realClock,
        changedSinceMs,
        handlers: { onChange: (ps) => seen.push(...ps), onError: (e) => assert.fail(e) },
      });
      await w.start();
      t.after(() => w.close());
      return seen;
    };

    const later = await start(Date.now() + 60_000);
    const earlier = await start(Date.now() - 60_000);
    const { waitFor } = await import('../../support/wait.ts');
    const want = [path.join(dir, 'a.txt'), path.join(dir, 'sub', 'deeper', 'b.txt'), fileRoot];
    await waitFor(() => want.every((p) => earlier.includes(p)), { message: `changed files reported: ${want}` });
    assert.equal(earlier.includes(path.join(dir, 'ignored', 'c.txt')), false, 'ignored files stay ignored');
    assert.equal(new Set(earlier).size, earlier.length, 'each path once');
    assert.deepEqual(later, [], 'nothing changed after a later changedSinceMs');
  });

  it('reports the files of a new directory tree created at once', async (t) => {
    const dir = tempDir(t);
    const r = await Recorder.start(t, [dir]);
    const deep = path.join(dir, 'nest', 'a', 'b', 'c');
    fs.mkdirSync(deep, { recursive: true });
    write(path.join(deep, 'f1'));
    await r.waitFor(path.join(dir, 'nest'), path.join(deep, 'f1'));
    // and keeps watching inside it
    write(path.join(deep, 'f2'));
    await r.waitFor(path.join(deep, 'f2'));
  });

  it('reports a directory moved in, with its files, and watches it', async (t) => {
    const dir = tempDir(t);
    const outside = tempDir(t);
    write(path.join(outside, 'pkg', 'sub', 'a.js'));
    write(path.join(outside, 'pkg', 'b.js'));
    const r = await Recorder.start(t, [dir]);
    fs.renameSync(path.join(outside, 'pkg'), path.join(dir, 'pkg'));
    await r.waitFor(path.join(dir, 'pkg'), path.join(dir, 'pkg', 'sub', 'a.js'), path.join(dir, 'pkg', 'b.js'));
    write(path.join(dir, 'pkg', 'sub', 'c.js'));
    await r.waitFor(path.join(dir, 'pkg', 'sub', 'c.js'));
  });

  it('reports a directory moved out, and stops watching it', async (t) => {
    const dir = tempDir(t);
    const outside = tempDir(t);
    write(path.join(dir, 'pkg', 'a.js'));
    const r = await Recorder.start(t, [dir]);
    fs.renameSync(path.join(dir, 'pkg'), path.join(outside, 'pkg'));
    await r.waitFor(path.join(dir, 'pkg'));
    write(path.join(outside, 'pkg', 'after.js'));
    await r.sentinel(dir);
    assert.equal(r.seen.some((p) => p.includes('after.js')), false);
  });

  it('reports symlinks as entries and does not follow them', async (t) => {
    const dir = tempDir(t);
    const target = tempDir(t);
    const r = await Recorder.start(t, [dir]);
    fs.symlinkSync(target, path.join(dir, 'link'));
    await r.waitFor(path.join(dir, 'link'));
    write(path.join(target, 'inside.txt'));
    await r.sentinel(dir);
    assert.equal(r.seen.some((p) => p.includes('inside.txt')), false);
    fs.rmSync(path.join(dir, 'link'));
    r.clear();
    await r.waitFor(path.join(dir, 'link'));
  });

  it('does not report ignored files, nor watch ignored directories', async (t) => {
    const dir = tempDir(t);
    write(path.join(dir, 'node_modules', 'dep', 'lib', 'index.js'));
    write(path.join(dir, 'node_modules', 'keep', 'x.js'));
    write(path.join(dir, 'src', 'app.js'));
    const ignores = [
      { basePath: dir, patterns: ['node_modules', '!node_modules/keep', '**/*.log'] },
      { basePath: path.join(dir, 'vendor') },
    ];
    const r = await Recorder.start(t, [dir], ignores);
    assert.equal(inotifyWatchesUnder(path.join(dir, 'node_modules', 'dep')), 0);
    assert.ok(inotifyWatchesUnder(path.join(dir, 'node_modules', 'keep')) > 0, 'an exclusion below keeps its directory watched');
    assert.ok(inotifyWatchesUnder(path.join(dir, 'src')) > 0);

    write(path.join(dir, 'node_modules', 'dep', 'lib', 'index.js'), 'changed');
    write(path.join(dir, 'src', 'debug.log'));
    write(path.join(dir, 'src', 'deep', 'er.log'));
    write(path.join(dir, 'vendor', 'v.go'));
    write(path.join(dir, 'src', '.app.js.swp'));
    write(path.join(dir, 'src', 'app.js~'));
    write(path.join(dir, 'node_modules', 'keep', 'y.js'));
    await r.waitFor(path.join(dir, 'node_modules', 'keep', 'y.js'));
    await r.sentinel(path.join(dir, 'src'));
    const leaked = r.seen.filter(
      (p) => p.includes('dep') || p.endsWith('.log') || p.includes('vendor') || p.endsWith('.swp') || p.endsWith('~'),
    );
    assert.deepEqual(leaked, []);
    // A new ignored directory is not entered either.
    fs.mkdirSync(path.join(dir, 'node_modules', 'late', 'x'), { recursive: true });
    await r.sentinel(dir);
    assert.equal(inotifyWatchesUnder(path.join(dir, 'node_modules', 'late')), 0);
  });

  it('watches a path that does not exist yet and picks it up when it is created', async (t) => {
    const dir = tempDir(t);
    const later = path.join(dir, 'later', 'deeper');
    const r = await Recorder.start(t, [later]);
    write(path.join(dir, 'unrelated.txt'));
    fs.mkdirSync(later, { recursive: true });
    write(path.join(later, 'a.txt'));
    await r.waitFor(path.join(later, 'a.txt'));
    write(path.join(later, 'b.txt'));
    await r.waitFor(path.join(later, 'b.txt'));
    assert.equal(r.has(path.join(dir, 'unrelated.txt')), false);
    assert.equal(r.has(later), false, 'the watched directory itself is not reported');
    // deleted and created again
    fs.rmSync(later, { recursive: true });
    await r.waitFor(path.join(later, 'a.txt'));
    write(path.join(later, 'c.txt'));
    await r.waitFor(path.join(later, 'c.txt'));
  });

  it('watches a single file, including replacement by rename', async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'Dockerfile');
    write(file);
    const r = await Recorder.start(t, [file]);
    write(path.join(dir, 'tmp-save'), 'new');
    fs.renameSync(path.join(dir, 'tmp-save'), file);
    await r.waitFor(file);
    assert.equal(r.has(path.join(dir, 'tmp-save')), false);
    r.clear();
    fs.appendFileSync(file, 'more');
    await r.waitFor(file);
  });

  it('refuses to watch /', () => {
    const make = (paths: string[]) =>
      new FsWatchWatcher({
        paths,
        ignore: createIgnoreMatcher([]),
        clock: realClock,
        handlers: { onChange: () => {}, onError: () => {} },
      });
    assert.throws(() => make(['/']), /cannot watch root directory/);
    assert.throws(() => make(['/tmp/../']), /cannot watch root directory/);
  });

  it('refuses a missing path whose only existing ancestor is /', async () => {
    const w = new FsWatchWatcher({
      paths: ['/ferry-does-not-exist/x'],
      ignore: createIgnoreMatcher([]),
      clock: realClock,
      handlers: { onChange: () => {}, onError: () => {} },
    });
    await assert.rejects(w.start(), /cannot watch root directory/);
  });

  it('rescans after a burst and reports what changed, once', async (t) => {
    const dir = tempDir(t);
    for (let i = 0; i < 50; i++) write(path.join(dir, 'd', `f${i}`));
    const seen: string[] = [];
    const busy: boolean[] = [];
    const w = new FsWatchWatcher({
      paths: [dir],
      ignore: createIgnoreMatcher([]),
      clock: realClock,
      rescanThreshold: 10,
      handlers: { onChange: (ps) => seen.push(...ps), onError: (e) => assert.fail(e), onBusy: (b) => busy.push(b) },
    });
    await w.start();
    t.after(() => w.close());
    for (let i = 0; i < 50; i++) fs.appendFileSync(path.join(dir, 'd', `f${i}`), 'y');
    const { waitFor } = await import('../../support/wait.ts');
    await waitFor(() => busy.length === 2, { message: 'a rescan' });
    assert.deepEqual(busy, [true, false]);
    for (let i = 0; i < 50; i++) assert.ok(seen.includes(path.join(dir, 'd', `f${i}`)), `f${i}`);
    // The rescan found nothing new: no file reported twice beyond the raw events' duplicates.
    const counts = new Map<string, number>();
    for (const p of seen) counts.set(p, (counts.get(p) ?? 0) + 1);
    assert.ok([...counts.values()].every((n) => n <= 2));
  });

  it('reports files changed while events were lost, on rescan', async (t) => {
    const dir = tempDir(t);
    write(path.join(dir, 'a', 'kept.txt'));
    write(path.join(dir, 'a', 'gone.txt'));
    const seen: string[] = [];
    const w = new FsWatchWatcher({
      paths: [dir],
      ignore: createIgnoreMatcher([]),
      clock: realClock,
      handlers: { onChange: (ps) => seen.push(...ps), onError: (e) => assert.fail(e) },
    });
    await w.start();
    t.after(() => w.close());
    // Simulate lost events: close every watch, change files, then rescan.
    const since = Date.now();
    for (const d of w.watchedDirs()) (w as unknown as { dirs: Map<string, { watcher: fs.FSWatcher }> }).dirs.get(d)!.watcher.close();
    fs.appendFileSync(path.join(dir, 'a', 'kept.txt'), 'more');
    fs.rmSync(path.join(dir, 'a', 'gone.txt'));
    write(path.join(dir, 'b', 'new.txt'));
    await w.rescan(since - 1000);
    const { waitFor } = await import('../../support/wait.ts');
    const expected = ['a/kept.txt', 'a/gone.txt', 'b', 'b/new.txt'].map((p) => path.join(dir, p));
    await waitFor(() => expected.every((p) => seen.includes(p))).catch(() => undefined);
    for (const p of expected) assert.ok(seen.includes(p), p);
  });
});
