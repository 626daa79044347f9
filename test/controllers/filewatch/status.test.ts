import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  boundSeenFiles,
  fileWatchStatus,
  maxSeenFilesChars,
  recordBatch,
  watchSpecKey,
  nextBackoffMs,
} from '../../../controllers/filewatch/status.ts';
import type { DisableStatus } from '../../../src/apis/index.ts';

const enabled: DisableStatus = { disabled: false, lastUpdateTime: '2024-01-01T00:00:00Z', reason: 'x', state: 'Enabled' };

describe('boundSeenFiles', () => {
  it('keeps a small batch in arrival order, each path once', () => {
    assert.deepEqual(boundSeenFiles(['/r/a', '/r/b', '/r/a', '/r/c', '/r/b'], ['/r']), ['/r/a', '/r/b', '/r/c']);
  });

  it('lists directories instead of files past the size bound, never above the watched path', () => {
    const files: string[] = [];
    for (let d = 0; d < 100; d++) for (let f = 0; f < 1000; f++) files.push(`/repo/src/pkg${d}/sub/file${f}.ts`);
    const out = boundSeenFiles(files, ['/repo/src']);
    assert.ok(JSON.stringify(out).length <= maxSeenFilesChars);
    assert.equal(out.length, 100);
    assert.ok(out.every((p) => /^\/repo\/src\/pkg\d+\/sub$/.test(p)) || out.every((p) => /^\/repo\/src\/pkg\d+$/.test(p)));
    // every changed file is at or under a listed entry
    for (const f of files) assert.ok(out.some((p) => f === p || f.startsWith(p + '/')), f);

    const flat = Array.from({ length: 50_000 }, (_, i) => `/repo/src/file-with-a-long-name-${i}.ts`);
    assert.deepEqual(boundSeenFiles(flat, ['/repo/src']), ['/repo/src']);
  });

  it('deduplicates first when that is enough', () => {
    const many = Array.from({ length: 5000 }, () => '/r/same/file.txt');
    assert.deepEqual(boundSeenFiles(many, ['/r']), ['/r/same/file.txt']);
  });
});

describe('recordBatch', () => {
  it('appends a stamped event, keeps 20, ignores empty batches', () => {
    let h = { fileEvents: [] as { time: string; seenFiles: string[] }[] } as Parameters<typeof recordBatch>[0];
    assert.equal(recordBatch(h, [], new Date(0), ['/r']), h);
    for (let i = 0; i < 22; i++) h = recordBatch(h, [`/r/${i}`], new Date(1000 * i), ['/r']);
    assert.equal(h.fileEvents.length, 20);
    assert.deepEqual(h.fileEvents[0]!.seenFiles, ['/r/2']);
    assert.equal(h.lastEventTime, '1970-01-01T00:00:21.000000Z');
  });
});

describe('fileWatchStatus', () => {
  it('shows only the disableStatus when disabled', () => {
    const disabled: DisableStatus = { ...enabled, disabled: true, state: 'Disabled' };
    assert.deepEqual(fileWatchStatus(disabled, { monitorStartTime: 't', error: 'e' }, { fileEvents: [] }), { disableStatus: disabled });
  });

  it('omits empty fields', () => {
    assert.deepEqual(fileWatchStatus(enabled, { monitorStartTime: 't' }, { fileEvents: [] }), { monitorStartTime: 't', disableStatus: enabled });
  });
});

describe('helpers', () => {
  it('keys the watch on paths and ignores only', () => {
    assert.equal(
      watchSpecKey({ watchedPaths: ['/a'], disableSource: { configMap: { name: 'x', key: 'y' } } }),
      watchSpecKey({ watchedPaths: ['/a'] }),
    );
    assert.notEqual(watchSpecKey({ watchedPaths: ['/a'] }), watchSpecKey({ watchedPaths: ['/a'], ignores: [{ basePath: '/a' }] }));
  });

  it('doubles the backoff up to 5 minutes', () => {
    assert.equal(nextBackoffMs(1000), 2000);
    assert.equal(nextBackoffMs(200_000), 300_000);
  });
});
