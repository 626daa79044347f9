import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PathFilter, describeWatchError, resolveWatchedPaths } from '../../../src/adapters/watch/file-watcher.ts';
import { createIgnoreMatcher } from '../../../src/adapters/ignore/matcher.ts';

describe('file-watcher helpers', () => {
  it('explains the inotify watch limit and how to raise it', () => {
    const err = describeWatchError(Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' }), '/x');
    assert.match(err.message, /inotify watch limit is reached \(fs\.inotify\.max_user_watches = \d+\)/);
    assert.match(err.message, /sysctl fs\.inotify\.max_user_watches=524288/);
  });

  it('names the directory for other errors', () => {
    const err = describeWatchError(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }), '/secret');
    assert.equal(err.message, 'watching /secret: EACCES: permission denied');
  });

  it('resolves watched paths and refuses /', () => {
    assert.deepEqual(resolveWatchedPaths(['/a/b/', '/c/./d']), ['/a/b', '/c/d']);
    assert.throws(() => resolveWatchedPaths(['/a', '/']), { message: 'cannot watch root directory' });
  });

  it('reports paths at or under a watched path, not ignored, not a watched directory itself', () => {
    const f = new PathFilter(['/w', '/f.txt'], createIgnoreMatcher([{ basePath: '/w', patterns: ['tmp'] }]));
    assert.equal(f.reportable('/w/a'), true);
    assert.equal(f.reportable('/f.txt'), true);
    assert.equal(f.reportable('/f.txt.bak'), false);
    assert.equal(f.reportable('/w/tmp/a'), false);
    assert.equal(f.reportable('/w', true), false);
    assert.equal(f.reportable('/other'), false);
  });
});
