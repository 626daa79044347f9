/**
 * The data directory of `ferry serve`: private to its owner, and held by one daemon at a time.
 *
 * The directory keeps credentials and every object (Cmd `env` included), so it is made 0700:
 * created so, and an existing one open to others is tightened with a warning (refusing would
 * only make the user type the same chmod). It is refused when it cannot be tightened (owned by
 * another user).
 *
 * The hold is an exclusive SQLite transaction on `<dir>/serve.lock`: an OS advisory lock that
 * the kernel drops when the process dies, so `kill -9` never leaves a stale lock behind. Who
 * holds it (pid and address) is written beside it in `<dir>/serve.json` for the message a
 * second daemon prints.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'winston';

/** privateDirMode is the mode of the data directory. */
export const privateDirMode = 0o700;

/**
 * securePrivateDir creates dir (and its parents) with mode 0700, or tightens an existing dir
 * that others can read, write or enter to 0700, saying so in the log. Throws when dir is not a
 * directory or cannot be tightened.
 */
export function securePrivateDir(dir: string, log?: Logger): void {
  let st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st) {
    fs.mkdirSync(dir, { recursive: true, mode: privateDirMode });
    st = fs.statSync(dir);
  }
  if (!st.isDirectory()) throw new Error(`data directory ${dir} is not a directory`);
  const mode = st.mode & 0o777;
  if ((mode & 0o077) === 0) return;
  try {
    fs.chmodSync(dir, privateDirMode);
  } catch (err) {
    throw new Error(`data directory ${dir} is open to other users (mode ${octal(mode)}) and cannot be made private: ${(err as Error).message}`, { cause: err });
  }
  log?.warn('Data directory was open to other users; made it private', { dir, previousMode: octal(mode), mode: octal(privateDirMode) });
}

/** DataDirHolder is the daemon holding a data directory, as far as it is known. */
export interface DataDirHolder {
  pid?: number;
  /** address is the holder's API server URL, once it listens. */
  address?: string;
}

/** DataDirLockedError means another process holds the data directory. */
export class DataDirLockedError extends Error {
  readonly dir: string;
  readonly holder: DataDirHolder;
  constructor(dir: string, holder: DataDirHolder) {
    const who = holder.pid === undefined ? 'another process' : `another ferry serve (pid ${holder.pid}${holder.address ? `, serving at ${holder.address}` : ''})`;
    super(`the data directory ${dir} is in use by ${who}; stop it first, or give this one another --data-dir`);
    this.dir = dir;
    this.holder = holder;
  }
}

/**
 * held keeps every lock reachable until released: a connection the garbage collector
 * finalises is closed, and its lock silently let go.
 */
const held = new Set<DataDirLock>();

/** DataDirLock is the exclusive hold of one data directory by this process. */
export class DataDirLock {
  private readonly db: Database.Database;
  private readonly infoFile: string;
  private info: DataDirHolder;

  private constructor(db: Database.Database, infoFile: string) {
    this.db = db;
    this.infoFile = infoFile;
    this.info = { pid: process.pid };
    this.write();
    held.add(this);
  }

  /** acquire takes the data directory, or throws DataDirLockedError naming who holds it. */
  static acquire(dir: string): DataDirLock {
    const lockFile = path.join(dir, 'serve.lock');
    const infoFile = path.join(dir, 'serve.json');
    // Only SQLite opens the lock file: closing any other descriptor of it would drop the
    // lock of this process (POSIX lock semantics). timeout 0: a held lock answers SQLITE_BUSY
    // at once instead of waiting for it.
    const db = new Database(lockFile, { timeout: 0 });
    fs.chmodSync(lockFile, 0o600);
    try {
      // A transaction never finished holds SQLite's exclusive lock until the process ends.
      db.exec('CREATE TABLE IF NOT EXISTS held (pid INTEGER)');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new DataDirLockedError(dir, readHolder(infoFile, lockFile));
      throw new Error(`locking the data directory ${dir}`, { cause: err });
    }
    return new DataDirLock(db, infoFile);
  }

  /** announce records the address this daemon serves at, for the message of a second one. */
  announce(address: string): void {
    this.info = { ...this.info, address };
    this.write();
  }

  /** release lets the data directory go (the OS also does it when the process dies). */
  release(): void {
    if (!this.db.open) return;
    fs.rmSync(this.infoFile, { force: true });
    this.db.close();
    held.delete(this);
  }

  private write(): void {
    const tmp = `${this.infoFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.info) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, this.infoFile);
  }
}

/**
 * readHolder says who holds the lock: the pid the kernel lists for it in /proc/locks (Linux),
 * with the address from the info file when that file is the same process's; else the info
 * file's pid when that process is alive.
 */
function readHolder(infoFile: string, lockFile: string): DataDirHolder {
  let info: DataDirHolder = {};
  try {
    const parsed = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as DataDirHolder;
    if (Number.isInteger(parsed.pid)) info = { pid: parsed.pid, address: typeof parsed.address === 'string' ? parsed.address : undefined };
  } catch {
    // Not written yet, or being replaced: the pid may still be known from the kernel.
  }
  const pid = lockHolderPid(lockFile);
  if (pid !== undefined) return pid === info.pid ? info : { pid };
  return info.pid !== undefined && isAlive(info.pid) ? info : {};
}

/** lockHolderPid finds the pid holding a POSIX lock on file in /proc/locks; undefined when unknown. */
function lockHolderPid(file: string): number | undefined {
  let locks: string;
  let ino: number;
  try {
    ino = fs.statSync(file).ino;
    locks = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  // `1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF`: the pid, then major:minor:inode.
  for (const line of locks.split('\n')) {
    const m = /\bPOSIX\s+\S+\s+\S+\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (m && Number(m[2]) === ino && Number(m[1]) !== process.pid) return Number(m[1]);
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function octal(mode: number): string {
  return '0' + mode.toString(8);
}
