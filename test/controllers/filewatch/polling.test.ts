import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { FileWatch } from '../../../src/apis/index.ts';
import { inotifyWatchesUnder } from '../../../src/adapters/watch/inotify.ts';
import { pollAnnotation, pollingCondition } from '../../../controllers/filewatch/index.ts';
import { Fixture } from './fixture.ts';
import { tempDir, write } from '../../adapters/watch/helpers.ts';

const seen = Fixture.seen;
const polling = (fw: FileWatch) => fw.status?.conditions?.find((c) => c.type === pollingCondition);

describe('FileWatch polling, with real files', () => {
  it('polls when the daemon asks (--filewatch-poll), says so in status, and sees changes', async (t) => {
    const f = await Fixture.start(t, { poll: true });
    const dir = tempDir(t);
    write(path.join(dir, 'a.txt'));
    await f.create('polled', { watchedPaths: [dir] });
    let fw = await f.waitStatus('polled', (o) => !!o.status?.monitorStartTime, 'monitor started');
    assert.equal(polling(fw)?.status, 'True');
    assert.equal(polling(fw)?.reason, 'Requested');
    assert.match(polling(fw)?.message ?? '', /--filewatch-poll/);
    assert.equal(inotifyWatchesUnder(dir), 0, 'no kernel watch: polled');

    write(path.join(dir, 'a.txt'), 'changed');
    write(path.join(dir, 'sub', 'new.txt'));
    fw = await f.waitStatus('polled', (o) => seen(o).includes(path.join(dir, 'a.txt')) && seen(o).includes(path.join(dir, 'sub', 'new.txt')), 'changes seen by polling');
    assert.equal(fw.status?.error, undefined);
    const steady = await f.steadyState('polled');
    assert.equal(steady.after, steady.before);
  });

  it('polls a FileWatch annotated ferry.dev/filewatch-poll=true', async (t) => {
    const f = await Fixture.start(t);
    const dir = tempDir(t);
    await f.create('annotated', { watchedPaths: [dir] }, { [pollAnnotation]: 'true' });
    const fw = await f.waitStatus('annotated', (o) => !!o.status?.monitorStartTime, 'monitor started');
    assert.equal(polling(fw)?.reason, 'Requested');
    assert.match(polling(fw)?.message ?? '', /annotation ferry\.dev\/filewatch-poll/);
    write(path.join(dir, 'b.txt'));
    await f.waitStatus('annotated', (o) => seen(o).includes(path.join(dir, 'b.txt')), 'b.txt seen');
  });

  it('polls by itself when a path is on a filesystem without kernel events', async (t) => {
    const f = await Fixture.start(t, { detectNoEvents: (paths) => `${paths[0]} is on nfs4` });
    const dir = tempDir(t);
    await f.create('nfs', { watchedPaths: [dir] });
    const fw = await f.waitStatus('nfs', (o) => !!o.status?.monitorStartTime, 'monitor started');
    assert.equal(polling(fw)?.reason, 'UnsupportedFilesystem');
    assert.match(polling(fw)?.message ?? '', /is on nfs4, which delivers no file events/);
    write(path.join(dir, 'c.txt'));
    await f.waitStatus('nfs', (o) => seen(o).includes(path.join(dir, 'c.txt')), 'c.txt seen');
  });

  it('uses kernel events, with no condition, elsewhere', async (t) => {
    const f = await Fixture.start(t, { detectNoEvents: () => undefined });
    const dir = tempDir(t);
    await f.create('local', { watchedPaths: [dir] });
    const fw = await f.waitStatus('local', (o) => !!o.status?.monitorStartTime, 'monitor started');
    assert.equal(fw.status?.conditions, undefined);
    assert.ok(inotifyWatchesUnder(dir) > 0);
  });
});
