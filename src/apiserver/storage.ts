/**
 * Durable storage of objects. The API server keeps every object in memory and commits each
 * change to storage before it answers, so an acknowledged write survives `kill -9`; the
 * changes made in one turn of the event loop are committed together, in one transaction.
 * SqliteStorage (WAL mode) is the default; MemoryStorage is for throwaway runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export interface StoredRow {
  resource: string;
  name: string;
  json: string;
}

/** A change to commit: an object written (json set) or deleted (json undefined) at rv. */
export interface StoredChange {
  resource: string;
  name: string;
  json?: string;
  rv: number;
}

export interface Storage {
  /** load returns every stored object and the last resourceVersion handed out. */
  load(): { rows: StoredRow[]; resourceVersion: number };
  /** commit applies changes (in rv order) atomically: all of them, or none and a throw. */
  commit(changes: StoredChange[]): void;
  close(): void;
}

export class MemoryStorage implements Storage {
  load() {
    return { rows: [], resourceVersion: 0 };
  }
  commit(_changes: StoredChange[]): void {}
  close(): void {}
}

/** privateFileMode is the mode of the database files. */
const privateFileMode = 0o600;

/**
 * SqliteStorage keeps objects in `<dir>/ferry.db`, one row per object with the resourceVersion
 * it was written at. A commit is one transaction; one that deletes also records its last
 * resourceVersion in `meta`, so the last one handed out is the larger of the two.
 * The database is readable by its owner only (0600), and so are its `-wal` and `-shm` files,
 * which SQLite creates with the database file's mode.
 */
export class SqliteStorage implements Storage {
  private db: Database.Database;

  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, 'ferry.db');
    fs.closeSync(fs.openSync(file, 'a', privateFileMode));
    // Files made by earlier versions were 0644.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      try {
        fs.chmodSync(f, privateFileMode);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // A process crash cannot lose a committed transaction in WAL mode with NORMAL sync;
    // only a power loss can, which is the trade kube's etcd makes differently.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS objects (resource TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (resource, name));
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    const columns = this.db.pragma('table_info(objects)') as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'rv')) this.db.exec('ALTER TABLE objects ADD COLUMN rv INTEGER NOT NULL DEFAULT 0');
    const put = this.db.prepare('INSERT OR REPLACE INTO objects (resource, name, json, rv) VALUES (?, ?, ?, ?)');
    const remove = this.db.prepare('DELETE FROM objects WHERE resource = ? AND name = ?');
    const lastRv = this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('resourceVersion', ?)");
    this.commit = this.db.transaction((changes: StoredChange[]) => {
      let removedAt = 0;
      for (const c of changes) {
        if (c.json !== undefined) put.run(c.resource, c.name, c.json, c.rv);
        else {
          remove.run(c.resource, c.name);
          removedAt = c.rv;
        }
      }
      if (removedAt) lastRv.run(removedAt);
    });
  }

  load() {
    const rows = this.db.prepare('SELECT resource, name, json FROM objects').all() as StoredRow[];
    const last = this.db
      .prepare("SELECT max(coalesce((SELECT value FROM meta WHERE key = 'resourceVersion'), 0), coalesce((SELECT max(rv) FROM objects), 0)) AS rv")
      .get() as { rv: number };
    return { rows, resourceVersion: last.rv };
  }

  commit: (changes: StoredChange[]) => void;

  close(): void {
    this.db.close();
  }
}
