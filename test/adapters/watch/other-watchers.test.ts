import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ChokidarWatcher } from '../../../src/adapters/watch/chokidar-watcher.ts';
import { ParcelWatcher } from '../../../src/adapters/watch/parcel-watcher.ts';
import { inotifyWatchesUnder } from '../../../src/adapters/watch/inotify.ts';
import { Recorder, tempDir, write, type WatcherMaker } from './helpers.ts';

// The benchmark's other candidates: the basics work, so their figures compare like with like.
const makers: Record<string, (ignoredDir: string) => WatcherMaker> = {
  ChokidarWatcher: () => (opts) => new ChokidarWatcher(opts),
  ParcelWatcher: (ignoredDir) => (opts) => new ParcelWatcher({ ...opts, ignoreDirs: [ignoredDir] }),
};

for (const [name, maker] of Object.entries(makers)) {
  describe(name, () => {
    it('reports create, modify and delete, and prunes an ignored directory', async (t) => {
      const dir = tempDir(t);
      write(path.join(dir, 'node_modules', 'dep', 'index.js'));
      write(path.join(dir, 'mod.txt'));
      const r = await Recorder.start(t, [dir], [{ basePath: dir, patterns: ['node_modules'] }], maker(path.join(dir, 'node_modules')));
      assert.equal(inotifyWatchesUnder(path.join(dir, 'node_modules')), 0);
      write(path.join(dir, 'new.txt'));
      fs.appendFileSync(path.join(dir, 'mod.txt'), 'more');
      await r.waitFor(path.join(dir, 'new.txt'), path.join(dir, 'mod.txt'));
      fs.rmSync(path.join(dir, 'new.txt'));
      write(path.join(dir, 'node_modules', 'dep', 'index.js'), 'changed');
      write(path.join(dir, 'x.js~'));
      r.clear();
      await r.waitFor(path.join(dir, 'new.txt'));
      await r.sentinel(dir);
      assert.deepEqual(r.seen.filter((p) => p.includes('node_modules') || p.endsWith('~')), []);
    });
  });
}
