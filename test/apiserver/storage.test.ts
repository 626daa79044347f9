/**
 * Storage and the store's group commit: the last resourceVersion survives reopening whether the
 * newest change was a write or a delete; a database written before objects carried their
 * resourceVersion is upgraded in place; the writes of one turn of the event loop are committed
 * together, announced only once committed, and undone when the commit fails. The database
 * files are readable by their owner only, whatever the umask, and older open ones are closed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MemoryStorage, SqliteStorage, type StoredChange } from '../../src/apiserver/storage.ts';
import { ObjectStore, type ChangeEvent } from '../../src/apiserver/store.ts';
import type { KubeObject } from '../../src/apis/meta.ts';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-storage-'));
const put = (name: string, json: string, rv: number): StoredChange => ({ resource: 'configmaps', name, json, rv });
const cm = (name: string, v = '1'): KubeObject => ({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ConfigMap', metadata: { name }, data: { v } }) as KubeObject;

test('the last resourceVersion is the newest write or delete', () => {
  const dir = tempDir();
  let s = new SqliteStorage(dir);
  s.commit([put('a', '{"a":1}', 1), put('b', '{"b":1}', 2)]);
  s.close();
  s = new SqliteStorage(dir);
  assert.equal(s.load().resourceVersion, 2);
  s.commit([{ resource: 'configmaps', name: 'b', rv: 3 }]);
  s.close();
  s = new SqliteStorage(dir);
  const { rows, resourceVersion } = s.load();
  assert.equal(resourceVersion, 3);
  assert.deepEqual(rows, [{ resource: 'configmaps', name: 'a', json: '{"a":1}' }]);
  s.commit([put('a', '{"a":2}', 4)]);
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
  s.commit([put('new', '{}', 42)]);
  s.close();
  const again = new SqliteStorage(dir);
  assert.equal(again.load().resourceVersion, 42);
  assert.equal(again.load().rows.length, 2);
  again.close();
});

/** RecordingStorage keeps what was committed, and fails commits while `failing` is set. */
class RecordingStorage extends MemoryStorage {
  commits: StoredChange[][] = [];
  failing = false;
  override commit(changes: StoredChange[]): void {
    if (this.failing) throw new Error('disk full');
    this.commits.push(changes);
  }
}

test('the writes of one turn are committed together and announced only after the commit', async () => {
  const storage = new RecordingStorage();
  const store = new ObjectStore({ storage });
  const seen: ChangeEvent[] = [];
  store.subscribe('configmaps', (ev) => seen.push(ev));
  store.write('configmaps', cm('a'));
  store.write('configmaps', cm('b'));
  store.remove('configmaps', 'a');
  assert.equal(store.peek('configmaps', 'b')?.metadata.resourceVersion, '2', 'later writes see earlier ones at once');
  assert.equal(store.dirty, true);
  assert.equal(seen.length, 0, 'nothing is announced before the commit');
  await store.committed();
  assert.equal(store.dirty, false);
  assert.deepEqual(storage.commits.map((c) => c.map((x) => [x.name, x.rv, x.json !== undefined])), [[['a', 1, true], ['b', 2, true], ['a', 3, false]]]);
  assert.deepEqual(seen.map((e) => [e.type, e.object.metadata.name, e.rv]), [['ADDED', 'a', 1], ['ADDED', 'b', 2], ['DELETED', 'a', 3]]);
  store.write('configmaps', cm('c'));
  await store.committed();
  assert.equal(storage.commits.length, 2, 'a later turn is a new transaction');
});

test('a failed commit undoes its writes, announces nothing and rejects its waiters', async () => {
  const storage = new RecordingStorage();
  const store = new ObjectStore({ storage });
  store.write('configmaps', cm('kept', 'old'));
  await store.committed();
  const seen: ChangeEvent[] = [];
  store.subscribe('*', (ev) => seen.push(ev));
  storage.failing = true;
  store.write('configmaps', cm('kept', 'new'));
  store.write('configmaps', cm('added'));
  store.remove('configmaps', 'kept');
  await assert.rejects(store.committed(), /disk full/);
  assert.equal(store.dirty, false);
  assert.deepEqual((store.peek('configmaps', 'kept') as { data?: unknown } | undefined)?.data, { v: 'old' });
  assert.equal(store.peek('configmaps', 'kept')?.metadata.resourceVersion, '1');
  assert.equal(store.peek('configmaps', 'added'), undefined);
  assert.equal(store.resourceVersion, 1);
  assert.equal(seen.length, 0);
  storage.failing = false;
  const again = store.write('configmaps', cm('added'));
  assert.equal(again.metadata.resourceVersion, '2', 'the resourceVersions of undone writes are handed out again');
  await store.committed();
  assert.deepEqual(seen.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'added']]);
});

test('a subscriber that throws neither stops the others nor leaves writers waiting', async () => {
  const failures: string[] = [];
  const store = new ObjectStore({ storage: new RecordingStorage(), onSubscriberError: (err, ev) => failures.push(`${ev.object.metadata.name}: ${(err as Error).message}`) });
  const seen: string[] = [];
  store.subscribe('configmaps', () => {
    throw new Error('boom');
  });
  store.subscribe('*', (ev) => seen.push(ev.object.metadata.name!));
  store.write('configmaps', cm('a'));
  await store.committed();
  assert.deepEqual(seen, ['a']);
  assert.deepEqual(failures, ['a: boom']);
  store.write('configmaps', cm('b'));
  await store.committed();
  assert.deepEqual(seen, ['a', 'b']);
});

const modeOf = (f: string) => fs.statSync(f).mode & 0o777;
const dbFiles = (dir: string) => ['ferry.db', 'ferry.db-wal', 'ferry.db-shm'].map((f) => path.join(dir, f));

test('the database and its -wal and -shm files are created 0600 whatever the umask', () => {
  const dir = tempDir();
  const umask = process.umask(0);
  let s: SqliteStorage;
  try {
    s = new SqliteStorage(dir);
    s.commit([put('secret', '{"env":["TOKEN=x"]}', 1)]);
  } finally {
    process.umask(umask);
  }
  try {
    for (const f of dbFiles(dir)) assert.equal(modeOf(f).toString(8), '600', f);
  } finally {
    s.close();
  }
});

test('database files left readable by others (0644) are made 0600 when opened', () => {
  const dir = tempDir();
  // A writer killed in WAL mode leaves the database, its -wal and its -shm behind.
  const script = `
    process.umask(0o022);
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(path.join(dir, 'ferry.db'))});
    db.pragma('journal_mode = WAL');
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)");
    process.kill(process.pid, 'SIGKILL');
  `;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: path.resolve(import.meta.dirname, '../..') });
  assert.equal(r.signal, 'SIGKILL', r.stderr.toString());
  for (const f of dbFiles(dir)) assert.equal(modeOf(f).toString(8), '644', `${f} before`);
  const s = new SqliteStorage(dir);
  try {
    for (const f of dbFiles(dir)) assert.equal(modeOf(f).toString(8), '600', f);
  } finally {
    s.close();
  }
});
