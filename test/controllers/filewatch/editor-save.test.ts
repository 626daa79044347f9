import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FileWatch } from '../../../src/apis/index.ts';
import { defaultFileWatchQuietMs, pollingDecision } from '../../../controllers/filewatch/index.ts';
import { Fixture } from './fixture.ts';
import { tempDir, write } from '../../adapters/watch/helpers.ts';

describe('FileWatch quiet window, with real files', () => {
  it('an editor-style save (temporary file, then rename) is one change with the default window', async (t) => {
    const f = await Fixture.start(t, { quietMs: defaultFileWatchQuietMs });
    const dir = tempDir(t);
    write(path.join(dir, 'a.txt'), 'old');
    await f.create('save', { watchedPaths: [dir] });
    await f.waitStatus('save', (o) => !!o.status?.monitorStartTime, 'monitor started');

    const tmp = path.join(dir, '.a.txt.tmp-1234');
    fs.writeFileSync(tmp, 'new');
    fs.renameSync(tmp, path.join(dir, 'a.txt'));
    const fw = await f.waitStatus('save', (o) => Fixture.seen(o).includes(path.join(dir, 'a.txt')), 'a.txt seen');
    assert.equal(fw.status!.fileEvents!.length, 1, 'one batch');
    assert.ok(fw.status!.fileEvents![0]!.seenFiles.includes(path.join(dir, 'a.txt')));
    const steady = await f.steadyState('save');
    assert.equal(steady.after, steady.before);
    assert.equal((await f.get('save'))!.status!.fileEvents!.length, 1, 'nothing more came');
  });
});

describe('pollingDecision', () => {
  const fw = (annotations?: Record<string, string>): FileWatch => ({ kind: 'FileWatch', metadata: { name: 'x', annotations }, spec: { watchedPaths: ['/nfs/app'] } });
  const nfs = () => '/nfs/app is on nfs';

  it('polls what the daemon or the annotation asks for, and what is on a filesystem without events', () => {
    assert.equal(pollingDecision(fw(), true, () => undefined, 100)?.reason, 'Requested');
    assert.equal(pollingDecision(fw({ 'ferry.dev/filewatch-poll': 'true' }), false, () => undefined, 100)?.reason, 'Requested');
    assert.deepEqual(pollingDecision(fw(), false, nfs, 250), { reason: 'UnsupportedFilesystem', message: 'polling every 250 ms: /nfs/app is on nfs, which delivers no file events' });
    assert.equal(pollingDecision(fw(), false, () => undefined, 100), undefined);
  });

  it('the annotation "false" turns the detection off', () => {
    assert.equal(pollingDecision(fw({ 'ferry.dev/filewatch-poll': 'false' }), false, nfs, 100), undefined);
  });
});
