/**
 * Tar archives of local files for extraction at the root of a container (`tar -C / -x`, or the
 * Engine's archive API with `path=/`).
 *
 * An archive is planned first (which local paths become which entries, deduplicated) and then
 * streamed as many times as needed, once per container. Entries carry uid/gid 0 with empty user
 * and group names, the local mode and mtime; symlinks are stored as links and never followed;
 * sockets, FIFOs and devices are skipped. Small files are read whole before their header is
 * written, so a file rewritten while archived can never make the header and the data disagree.
 */
import { promises as fsp, lstatSync, readFileSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import tarStream, { type Header, type Pack } from 'tar-stream';

type Headers = Partial<Header> & Pick<Header, 'name'>;

/** PathMapping maps one local path (file or directory) to its absolute path in the container. */
export interface PathMapping {
  localPath: string;
  containerPath: string;
  /** directoryOnly archives a directory's own entry (owner, mode, mtime) without its contents. */
  directoryOnly?: boolean;
}

/** ArchiveFilter decides which local paths are left out (the FileWatch ignores, for initial sync). */
export interface ArchiveFilter {
  /** matches is true when the local path must be left out. */
  matches(localPath: string): boolean;
  /** matchesEntireDir is true when the directory and everything below it are left out. */
  matchesEntireDir?(localPath: string): boolean;
}

/** ArchiveEntry is one planned entry: its name in the archive and where its content comes from. */
export interface ArchiveEntry {
  /** name is relative to the container root, without a leading slash (`app/a.txt`). */
  name: string;
  localPath: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  mtime: Date;
  /** size is the file size when planned (files only). */
  size: number;
  linkname?: string;
}

/** ArchiveOptions tune planning. */
export interface ArchiveOptions {
  filter?: ArchiveFilter;
  /** smallFileLimitBytes: files below it are read whole before writing. Default 5 MiB. */
  smallFileLimitBytes?: number;
  /** onSkip is told about local paths that could not be archived (sockets, devices). */
  onSkip?: (localPath: string, why: string) => void;
}

/** PlannedArchive is the list of entries and a way to stream them as a tar, any number of times. */
export interface PlannedArchive {
  entries: ArchiveEntry[];
  /** stream writes a fresh tar of the entries. Errors reading files end the stream with an error. */
  stream(): Readable;
}

const defaultSmallFileLimitBytes = 5 * 1024 * 1024;
const chunkBytes = 256 * 1024;
/** planWindow and readAhead bound how many files are stat'ed or read at once. */
const planWindow = 64;
const readAhead = 32;
/** syncReadLimitBytes: files below it are read synchronously. */
const syncReadLimitBytes = 64 * 1024;

/**
 * planArchive walks the mappings and returns the entries to archive. A local path that does not
 * exist is skipped (deletions are handled elsewhere). When two mappings produce the same name,
 * the last one wins and takes the position of its last occurrence.
 */
export async function planArchive(mappings: PathMapping[], opts: ArchiveOptions = {}): Promise<PlannedArchive> {
  const byName = new Map<string, ArchiveEntry>();
  const add = (e: ArchiveEntry) => {
    byName.delete(e.name);
    byName.set(e.name, e);
  };
  // Collect in parallel windows, then add in mapping order, so duplicates resolve as listed.
  for (let i = 0; i < mappings.length; i += planWindow) {
    const window = mappings.slice(i, i + planWindow);
    const found = await Promise.all(
      window.map(async (m) => {
        const out: ArchiveEntry[] = [];
        await collect(m, opts, (e) => out.push(e));
        return out;
      }),
    );
    for (const list of found) for (const e of list) add(e);
  }
  const entries = [...byName.values()];
  const limit = opts.smallFileLimitBytes ?? defaultSmallFileLimitBytes;
  return { entries, stream: () => streamEntries(entries, limit) };
}

/** archiveName turns an absolute container path into a tar entry name. */
export function archiveName(containerPath: string): string {
  const cleaned = path.posix.normalize('/' + containerPath).replace(/^\/+/, '').replace(/\/+$/, '');
  return cleaned === '' ? '.' : cleaned;
}

async function collect(m: PathMapping, opts: ArchiveOptions, add: (e: ArchiveEntry) => void): Promise<void> {
  const root = await lstatOrNull(m.localPath);
  if (!root) return;
  if (opts.filter?.matches(m.localPath)) return;
  if (!root.isDirectory()) {
    // A single path: `dest/` means "into the directory dest".
    const dest = m.containerPath.endsWith('/') ? m.containerPath + path.basename(m.localPath) : m.containerPath;
    const e = await entryFor(m.localPath, archiveName(dest), root, opts);
    if (e) add(e);
    return;
  }
  const rootName = archiveName(m.containerPath);
  const rootEntry = await entryFor(m.localPath, rootName, root, opts);
  if (rootEntry) add(rootEntry);
  if (!m.directoryOnly) await walk(m.localPath, rootName, opts, add);
}

async function walk(dir: string, name: string, opts: ArchiveOptions, add: (e: ArchiveEntry) => void): Promise<void> {
  let children: string[];
  try {
    children = (await fsp.readdir(dir)).sort();
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  for (const child of children) {
    const local = path.join(dir, child);
    const childName = name === '.' ? child : `${name}/${child}`;
    const st = await lstatOrNull(local);
    if (!st) continue;
    if (st.isDirectory()) {
      if (opts.filter?.matchesEntireDir?.(local)) continue;
      if (!opts.filter?.matches(local)) {
        const e = await entryFor(local, childName, st, opts);
        if (e) add(e);
      }
      await walk(local, childName, opts, add);
      continue;
    }
    if (opts.filter?.matches(local)) continue;
    const e = await entryFor(local, childName, st, opts);
    if (e) add(e);
  }
}

async function entryFor(localPath: string, name: string, st: Stats, opts: ArchiveOptions): Promise<ArchiveEntry | null> {
  const base = { name, localPath, mode: st.mode & 0o7777, mtime: st.mtime, size: st.isFile() ? st.size : 0 };
  if (st.isDirectory()) return { ...base, type: 'directory' };
  if (st.isFile()) return { ...base, type: 'file' };
  if (st.isSymbolicLink()) {
    try {
      return { ...base, type: 'symlink', linkname: await fsp.readlink(localPath) };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }
  opts.onSkip?.(localPath, 'not a regular file, directory or symlink');
  return null;
}

function streamEntries(entries: ArchiveEntry[], smallFileLimitBytes: number): Readable {
  const pack = tarStream.pack();
  // Small files are read ahead of the writer, a bounded window at a time.
  const reads = new Map<number, Promise<Buffer | null>>();
  const startRead = (i: number) => {
    const e = entries[i];
    if (!e || reads.has(i) || e.type !== 'file' || e.size >= smallFileLimitBytes) return;
    // Tiny files are cheaper to read at once than through the thread pool (one round trip per
    // open, stat, read and close); the event loop is held a few microseconds per file.
    const read = e.size < syncReadLimitBytes ? readSmallSync(e.localPath) : fsp.readFile(e.localPath);
    const settled = read.catch((err: unknown) => {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return null;
      throw err;
    });
    settled.catch(() => undefined); // awaited in order below; never left unhandled
    reads.set(i, settled);
  };
  // Buffered entries are handed over without waiting for each to be consumed; the writer waits
  // only when `inFlight` of them are pending, which keeps memory bounded.
  const inFlight: Promise<void>[] = [];
  const write = async () => {
    for (let i = 0; i < entries.length; i++) {
      if (pack.destroyed) return;
      for (let j = i; j < i + readAhead; j++) startRead(j);
      const e = entries[i]!;
      const read = reads.get(i);
      if (read) {
        reads.delete(i);
        const data = await read;
        if (!data) continue;
        inFlight.push(entryDone(pack, { name: e.name, mode: e.mode, mtime: e.mtime, uid: 0, gid: 0, uname: '', gname: '', type: 'file', size: data.length }, data));
        if (inFlight.length >= readAhead) await Promise.all(inFlight.splice(0));
        continue;
      }
      await Promise.all(inFlight.splice(0));
      await writeEntry(pack, e, smallFileLimitBytes);
    }
    await Promise.all(inFlight.splice(0));
    pack.finalize();
  };
  write().catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  // tar-stream's pack is a streamx Readable; wrap it so callers get a Node stream.
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

function entryDone(pack: Pack, header: Headers, data?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    if (data) pack.entry(header, data, cb);
    else pack.entry(header, cb);
  });
}

async function writeEntry(pack: Pack, e: ArchiveEntry, smallFileLimitBytes: number): Promise<void> {
  const header: Headers = { name: e.name, mode: e.mode, mtime: e.mtime, uid: 0, gid: 0, uname: '', gname: '' };
  if (e.type === 'directory') return entryDone(pack, { ...header, type: 'directory' });
  if (e.type === 'symlink') return entryDone(pack, { ...header, type: 'symlink', linkname: e.linkname });

  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(e.localPath, 'r');
  } catch (err) {
    if (isMissing(err)) return; // deleted since planning: nothing to send
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return;
    const fresh = { ...header, mode: st.mode & 0o7777, mtime: st.mtime };
    if (st.size < smallFileLimitBytes) {
      const data = await fh.readFile();
      return await entryDone(pack, { ...fresh, type: 'file', size: data.length }, data);
    }
    // Large files are streamed with the size fixed at open: a file that grows is cut, one that
    // shrinks is padded with zeros, and the archive stays well-formed either way.
    const size = st.size;
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ ...fresh, type: 'file', size }, (err) => (err ? reject(err) : resolve()));
      (async () => {
        const buf = Buffer.allocUnsafe(chunkBytes);
        let sent = 0;
        while (sent < size) {
          const want = Math.min(chunkBytes, size - sent);
          const { bytesRead } = await fh.read(buf, 0, want, sent);
          const chunk = bytesRead > 0 ? Buffer.from(buf.subarray(0, bytesRead)) : Buffer.alloc(want);
          sent += chunk.length;
          if (!sink.write(chunk)) await new Promise<void>((r) => sink.once('drain', () => r()));
        }
        (sink as unknown as NodeJS.WritableStream).end();
      })().catch((err: unknown) => {
        sink.destroy(err as Error);
        reject(err);
      });
    });
  } finally {
    await fh.close();
  }
}

function readSmallSync(p: string): Promise<Buffer> {
  try {
    return Promise.resolve(readFileSync(p));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** lstatOrNull stats without following links; synchronous, as a thread-pool round trip costs far more. */
async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return lstatSync(p, { throwIfNoEntry: false }) ?? null;
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
