/**
 * SqliteStorage: the last resourceVersion survives reopening whether the newest change was a
 * write or a delete, and a database written before objects carried their resourceVersion is
 * upgraded in place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStorage } from '../../src/apiserver/storage.ts';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-storage-'));

test('the last resourceVersion is the newest write or delete', () => {
  const dir = tempDir();
  let s = new SqliteStorage(dir);
  s.put('configmaps', 'a', '{"a":1}', 1);
  s.put('configmaps', 'b', '{"b":1}', 2);
  s.close();
  s = new SqliteStorage(dir);
  assert.equal(s.load().resourceVersion, 2);
  s.remove('configmaps', 'b', 3);
  s.close();
  s = new SqliteStorage(dir);
  const { rows, resourceVersion } = s.load();
  assert.equal(resourceVersion, 3);
  assert.deepEqual(rows, [{ resource: 'configmaps', name: 'a', json: '{"a":1}' }]);
  s.put('configmaps', 'a', '{"a":2}', 4);
  s.close();
  s = new SqliteStorage(dir);
  assert.equal(s.load().resourceVersion, 4);
  assert.deepEqual(s.load().rows, [{ resource: 'configmaps', name: 'a', json: '{"a":2}' }]);
  s.close();
});

test('a database without per-object resourceVersions is upgraded and keeps its counter', () => {
  const dir = tempDir();
  const old = new Database(path.join(dir, 'ferry.db'));
  old.exec(`
    CREATE TABLE objects (resource TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (resource, name));
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO objects VALUES ('configmaps', 'kept', '{"kept":true}');
    INSERT INTO meta VALUES ('resourceVersion', 41);
  `);
  old.close();
  const s = new SqliteStorage(dir);
  assert.deepEqual(s.load(), { rows: [{ resource: 'configmaps', name: 'kept', json: '{"kept":true}' }], resourceVersion: 41 });
  s.put('configmaps', 'new', '{}', 42);
  s.close();
  const again = new SqliteStorage(dir);
  assert.equal(again.load().resourceVersion, 42);
  assert.equal(again.load().rows.length, 2);
  again.close();
});
