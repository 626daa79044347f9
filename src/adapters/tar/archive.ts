/**
 * Tar archives of local files for extraction at the root of a container (`tar -C / -x`, or the
 * Engine's archive API with `path=/`).
 *
 * An archive is planned first (which local paths become which entries, deduplicated) and then
 * streamed as many times as needed, once per container. Entries carry uid/gid 0 with empty user
 * and group names, the local mode and mtime; symlinks are stored as links and never followed;
 * sockets, FIFOs and devices are skipped. Small files are read whole before their header is
 * written, so a file rewritten while archived can never make the header and the data disagree.
 *
 * Nothing is read through a link. Planning stats every path through its directory, opened and
 * checked to lie at its place below the mapping's root with no link on the way (the kernel names
 * an open directory in /proc/self/fd); a path below a link is left out. Reading opens a file
 * without following a link and sends it only when it is still the file planned (same device
 * and inode, a regular file): a file swapped for a symlink since planning is sent as that
 * symlink, one swapped for anything else (or reached through a directory swapped for a link)
 * is left out.
 */
import { constants as fsConstants, existsSync, promises as fsp, closeSync, fstatSync, lstatSync, openSync, readSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
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
  /**
   * root is the directory (the sync root) below which no link is followed to reach localPath.
   * Default: localPath itself for a directory, its parent directory for anything else.
   */
  root?: string;
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
  /** dev and ino identify the file planned (files only): a different file there is not read. */
  dev?: number;
  ino?: number;
}

/** ArchiveOptions tune planning. */
export interface ArchiveOptions {
  filter?: ArchiveFilter;
  /** smallFileLimitBytes: files below it are read whole before writing. Default 5 MiB. */
  smallFileLimitBytes?: number;
  /**
   * onSkip is told about local paths that could not be archived (sockets, devices, files that
   * changed into something else since planning).
   */
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
 * readFlags open a file without following a link at its last component (ELOOP instead), and
 * without blocking on a FIFO swapped in for it.
 */
const readFlags = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;
const dirFlags = fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW;
/** fdPaths: the kernel names what an open descriptor is (Linux). */
const fdPaths = existsSync('/proc/self/fd');
const fdPath = (fd: number) => `/proc/self/fd/${fd}`;

/**
 * planArchive walks the mappings and returns the entries to archive. A local path that does not
 * exist is skipped (deletions are handled elsewhere). When two mappings produce the same name,
 * the last one wins and takes the position of its last occurrence.
 */
export async function planArchive(mappings: PathMapping[], opts: ArchiveOptions = {}): Promise<PlannedArchive> {
  const byName = new Map<string, ArchiveEntry>();
  const roots = new Map<string, string | null>();
  const stats = statBelowRoots(mappings, roots);
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
        await collect(m, opts, roots, stats, (e) => out.push(e));
        return out;
      }),
    );
    for (const list of found) for (const e of list) add(e);
  }
  const entries = [...byName.values()];
  return { entries, stream: () => streamArchive(entries, opts) };
}

/**
 * streamArchive writes a fresh tar of planned entries (all of a plan's, or some of them), with
 * the same rules as PlannedArchive.stream: nothing read through a link, the planned file or
 * nothing, small files read whole before their header.
 */
export function streamArchive(entries: ArchiveEntry[], opts: Pick<ArchiveOptions, 'smallFileLimitBytes' | 'onSkip'> = {}): Readable {
  return streamEntries(entries, opts.smallFileLimitBytes ?? defaultSmallFileLimitBytes, opts.onSkip);
}

/** archiveName turns an absolute container path into a tar entry name. */
export function archiveName(containerPath: string): string {
  const cleaned = path.posix.normalize('/' + containerPath).replace(/^\/+/, '').replace(/\/+$/, '');
  return cleaned === '' ? '.' : cleaned;
}

async function collect(
  m: PathMapping,
  opts: ArchiveOptions,
  roots: Map<string, string | null>,
  stats: Map<string, Stats | null | BelowLink>,
  add: (e: ArchiveEntry) => void,
): Promise<void> {
  const root = stats.has(m.localPath) ? stats.get(m.localPath)! : lstatSyncOrNull(m.localPath);
  if (!root) return;
  if (root === belowLink) {
    opts.onSkip?.(m.localPath, 'below a link');
    return;
  }
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
  if (m.directoryOnly) return;
  const base = m.root ?? m.localPath;
  const realBase = resolvedRoot(base, roots);
  if (realBase !== null) await walk(m.localPath, rootName, path.join(realBase, path.relative(base, m.localPath)), root, opts, add);
}

const belowLink = 'below a link';
type BelowLink = typeof belowLink;

/**
 * statBelowRoots lstat's the paths of the mappings that name a root through their parent
 * directory, opened once per directory and checked to lie at its resolved place below the
 * root; a path whose directory is reached through a link is `belowLink`, a missing one null.
 * The result is what planning uses for these paths, so a file's planned identity is never
 * that of a file elsewhere. Where the kernel cannot name open directories, nothing is done.
 */
function statBelowRoots(mappings: PathMapping[], roots: Map<string, string | null>): Map<string, Stats | null | BelowLink> {
  const out = new Map<string, Stats | null | BelowLink>();
  if (!fdPaths) return out;
  const byDir = new Map<string, { root: string; paths: string[] }>();
  for (const m of mappings) {
    // Paths are absolute and clean: a prefix test is enough (and cheap for 10,000 files).
    if (m.root === undefined || !m.localPath.startsWith(m.root + path.sep)) continue;
    const dir = path.dirname(m.localPath);
    let group = byDir.get(dir);
    if (!group) byDir.set(dir, (group = { root: m.root, paths: [] }));
    group.paths.push(m.localPath);
  }
  for (const [dir, { root, paths }] of byDir) {
    const realRoot = resolvedRoot(root, roots);
    let fd: number | undefined;
    let found: (name: string) => Stats | null | BelowLink;
    try {
      // The root itself is trusted, and may be a link (a sync root that is a symlink).
      fd = openSync(dir, dir === root ? fsConstants.O_RDONLY | fsConstants.O_DIRECTORY : dirFlags);
      const expected = realRoot === null ? null : dir === root ? realRoot : realRoot + dir.slice(root.length);
      const opened = `${fdPath(fd)}/`;
      found = expected !== null && isAt(fd, expected) ? (name) => lstatSyncOrNull(opened + name) : () => belowLink;
    } catch (err) {
      // A link opened with O_DIRECTORY | O_NOFOLLOW fails with ENOTDIR (or ELOOP).
      if (isLink(err) || (isMissing(err) && lstatSyncOrNull(dir)?.isSymbolicLink())) found = () => belowLink;
      else if (isMissing(err)) found = () => null;
      else throw err;
    }
    try {
      for (const p of paths) out.set(p, found(p.slice(dir.length + 1)));
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return out;
}

/** resolvedRoot is dir with its links resolved, once per plan; null when it is gone. */
function resolvedRoot(dir: string, roots: Map<string, string | null>): string | null {
  let real = roots.get(dir);
  if (real === undefined) {
    try {
      real = realpathSync.native(dir);
    } catch (err) {
      if (!isMissing(err)) throw err;
      real = null;
    }
    roots.set(dir, real);
  }
  return real;
}

/**
 * walk archives what lies below dir. The directory is opened without following a link and
 * must be the one planned (st) at its resolved path; its children are listed and stat'ed
 * through that open directory, so a directory swapped for a link meanwhile is never entered.
 */
async function walk(dir: string, name: string, resolved: string, st: Stats, opts: ArchiveOptions, add: (e: ArchiveEntry) => void): Promise<void> {
  // Opened, checked and closed synchronously: three thread-pool round trips per directory cost
  // far more than the calls.
  let fd: number;
  try {
    fd = openSync(dir, dirFlags);
  } catch (err) {
    if (isMissing(err) || isLink(err)) return;
    throw err;
  }
  try {
    const now = fstatSync(fd);
    if (now.dev !== st.dev || now.ino !== st.ino || !isAt(fd, resolved)) {
      opts.onSkip?.(dir, 'changed since planned');
      return;
    }
    const listed = fdPaths ? fdPath(fd) : dir;
    let children: string[];
    try {
      children = (await fsp.readdir(listed)).sort();
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const child of children) {
      const local = path.join(dir, child);
      const childName = name === '.' ? child : `${name}/${child}`;
      const childResolved = path.join(resolved, child);
      const cst = lstatSyncOrNull(path.join(listed, child));
      if (!cst) continue;
      if (cst.isDirectory()) {
        if (opts.filter?.matchesEntireDir?.(local)) continue;
        if (!opts.filter?.matches(local)) {
          const e = await entryFor(local, childName, cst, opts);
          if (e) add(e);
        }
        await walk(local, childName, childResolved, cst, opts, add);
        continue;
      }
      if (opts.filter?.matches(local)) continue;
      const e = await entryFor(local, childName, cst, opts, path.join(listed, child));
      if (e) add(e);
    }
  } finally {
    closeSync(fd);
  }
}

/** entryFor makes the entry for a path stat'ed as st; a link's target is read at statPath. */
async function entryFor(localPath: string, name: string, st: Stats, opts: ArchiveOptions, statPath = localPath): Promise<ArchiveEntry | null> {
  const base = { name, localPath, mode: st.mode & 0o7777, mtime: st.mtime, size: st.isFile() ? st.size : 0 };
  if (st.isDirectory()) return { ...base, type: 'directory' };
  if (st.isFile()) return { ...base, type: 'file', dev: st.dev, ino: st.ino };
  if (st.isSymbolicLink()) {
    try {
      return { ...base, type: 'symlink', linkname: await fsp.readlink(statPath) };
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EINVAL') return null;
      throw err;
    }
  }
  opts.onSkip?.(localPath, 'not a regular file, directory or symlink');
  return null;
}

function streamEntries(entries: ArchiveEntry[], smallFileLimitBytes: number, onSkip?: ArchiveOptions['onSkip']): Readable {
  const pack = tarStream.pack();
  // Small files are read ahead of the writer, a bounded window at a time.
  const reads = new Map<number, Promise<Content>>();
  const startRead = (i: number) => {
    const e = entries[i];
    if (!e || reads.has(i) || e.type !== 'file' || e.size >= smallFileLimitBytes) return;
    // Tiny files are cheaper to read at once than through the thread pool (one round trip per
    // open, stat, read and close); the event loop is held a few microseconds per file.
    const read = e.size < syncReadLimitBytes ? readSmallSync(e, onSkip) : readSmall(e, onSkip);
    read.catch(() => undefined); // awaited in order below; never left unhandled
    reads.set(i, read);
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
        const content = await read;
        if (!content) continue;
        inFlight.push(entryDone(pack, contentHeader(e, content), content.type === 'file' ? content.data : undefined));
        if (inFlight.length >= readAhead) await Promise.all(inFlight.splice(0));
        continue;
      }
      await Promise.all(inFlight.splice(0));
      await writeEntry(pack, e, smallFileLimitBytes, onSkip);
    }
    await Promise.all(inFlight.splice(0));
    pack.finalize();
  };
  write().catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  // tar-stream's pack is a streamx Readable; wrap it so callers get a Node stream.
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

/** EntryContent is what a planned file turned out to be when read: nothing to send, its data, or a symlink. */
export type EntryContent = null | { type: 'file'; data: Buffer } | { type: 'symlink'; linkname: string };
type Content = EntryContent;

function contentHeader(e: ArchiveEntry, c: Exclude<Content, null>): Headers {
  if (c.type === 'symlink') return { name: e.name, mode: 0o777, mtime: e.mtime, uid: 0, gid: 0, uname: '', gname: '', type: 'symlink', linkname: c.linkname };
  return { name: e.name, mode: e.mode, mtime: e.mtime, uid: 0, gid: 0, uname: '', gname: '', type: 'file', size: c.data.length };
}

/**
 * isPlanned is true when an open file (stat'ed as st) is the regular file planned for e: the
 * same inode, which planning found below the root, however the path leads to it now.
 */
function isPlanned(e: ArchiveEntry, st: Stats): boolean {
  return st.isFile() && st.dev === e.dev && st.ino === e.ino;
}

/** isAt is true when the kernel names fd's file as resolvedPath (always true where it cannot say). */
function isAt(fd: number, resolvedPath: string): boolean {
  if (!fdPaths) return true;
  try {
    return readlinkSync(fdPath(fd)) === resolvedPath;
  } catch {
    return false;
  }
}

/**
 * notOpened decides what to send for e when opening it failed: a symlink now at its path is sent
 * as a symlink (its target read, never followed); a missing file is nothing to send.
 */
function notOpened(e: ArchiveEntry, err: unknown, onSkip: ArchiveOptions['onSkip']): Content {
  if (isLink(err)) {
    try {
      return { type: 'symlink', linkname: readlinkSync(e.localPath) };
    } catch (readErr) {
      if (!isMissing(readErr) && (readErr as NodeJS.ErrnoException).code !== 'EINVAL') throw readErr;
      onSkip?.(e.localPath, 'changed since planned');
      return null;
    }
  }
  if (isMissing(err)) return null; // deleted since planning: nothing to send
  if ((err as NodeJS.ErrnoException).code === 'ENXIO') {
    onSkip?.(e.localPath, 'changed since planned'); // now a socket
    return null;
  }
  throw err;
}

function readSmallSync(e: ArchiveEntry, onSkip: ArchiveOptions['onSkip']): Promise<Content> {
  try {
    let fd: number;
    try {
      fd = openSync(e.localPath, readFlags);
    } catch (err) {
      return Promise.resolve(notOpened(e, err, onSkip));
    }
    try {
      let st = fstatSync(fd);
      if (!isPlanned(e, st)) {
        onSkip?.(e.localPath, 'changed since planned');
        return Promise.resolve(null);
      }
      // A file written while it is read is read again (a few times: a file that keeps changing
      // is sent as last read, and its next change sends it again).
      let data = readWholeSync(fd, st.size);
      for (let attempt = 1; attempt < rereadAttempts; attempt++) {
        const now = fstatSync(fd);
        if (!changedBetween(st, now) && data.length === now.size) break;
        st = now;
        data = readWholeSync(fd, st.size);
      }
      return Promise.resolve({ type: 'file', data });
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    return Promise.reject(err);
  }
}

/** rereadAttempts bounds how often a small file written while read is read again. */
const rereadAttempts = 3;

/** changedBetween is true when a file was written (or grew, or shrank) between two stats. */
function changedBetween(before: Stats, after: Stats): boolean {
  return before.size !== after.size || before.mtimeMs !== after.mtimeMs || before.ctimeMs !== after.ctimeMs;
}

/** readWhole reads an open file from its start: size bytes as stat'ed, fewer if it shrank. */
async function readWhole(fh: fsp.FileHandle, size: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  let got = 0;
  while (got < size) {
    const { bytesRead } = await fh.read(buf, got, size - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === size ? buf : buf.subarray(0, got);
}

/** readWholeSync reads an open file from its start: size bytes as stat'ed, fewer if it shrank. */
function readWholeSync(fd: number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let got = 0;
  while (got < size) {
    const n = readSync(fd, buf, got, size - got, got);
    if (n === 0) break;
    got += n;
  }
  return got === size ? buf : buf.subarray(0, got);
}

/**
 * openPlanned opens e's file without following a link and checks it is the file planned: the
 * open file and its stat, or what to send instead (null: nothing; onSkip said why). The caller
 * closes the file. Anything that sends a planned file's content (the archive, the container
 * channel) opens it through here.
 */
export async function openPlanned(e: ArchiveEntry, onSkip: ArchiveOptions['onSkip']): Promise<{ fh: fsp.FileHandle; st: Stats } | { instead: Content }> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(e.localPath, readFlags);
  } catch (err) {
    return { instead: notOpened(e, err, onSkip) };
  }
  try {
    const st = await fh.stat();
    if (isPlanned(e, st)) return { fh, st };
    onSkip?.(e.localPath, 'changed since planned');
  } catch (err) {
    await fh.close();
    throw err;
  }
  await fh.close();
  return { instead: null };
}

async function readSmall(e: ArchiveEntry, onSkip: ArchiveOptions['onSkip']): Promise<Content> {
  const opened = await openPlanned(e, onSkip);
  if ('instead' in opened) return opened.instead;
  try {
    let st = opened.st;
    let data: Buffer = await opened.fh.readFile();
    for (let attempt = 1; attempt < rereadAttempts; attempt++) {
      const now = await opened.fh.stat();
      if (!changedBetween(st, now) && data.length === now.size) break;
      st = now;
      data = await readWhole(opened.fh, now.size);
    }
    return { type: 'file', data };
  } finally {
    await opened.fh.close();
  }
}

function entryDone(pack: Pack, header: Headers, data?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    if (data) pack.entry(header, data, cb);
    else pack.entry(header, cb);
  });
}

async function writeEntry(pack: Pack, e: ArchiveEntry, smallFileLimitBytes: number, onSkip: ArchiveOptions['onSkip']): Promise<void> {
  const header: Headers = { name: e.name, mode: e.mode, mtime: e.mtime, uid: 0, gid: 0, uname: '', gname: '' };
  if (e.type === 'directory') return entryDone(pack, { ...header, type: 'directory' });
  if (e.type === 'symlink') return entryDone(pack, { ...header, type: 'symlink', linkname: e.linkname });

  const opened = await openPlanned(e, onSkip);
  if ('instead' in opened) {
    if (opened.instead) await entryDone(pack, contentHeader(e, opened.instead));
    return;
  }
  const { fh, st } = opened;
  try {
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

/** lstatSyncOrNull stats without following links; null when missing. */
function lstatSyncOrNull(p: string): Stats | null {
  try {
    return lstatSync(p, { throwIfNoEntry: false }) ?? null;
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

/** isLink is true for the error of an open refused because the path is a symlink. */
function isLink(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ELOOP';
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
