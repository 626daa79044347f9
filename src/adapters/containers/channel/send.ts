import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { openPlanned, streamArchive, type ArchiveEntry } from '../../tar/archive.ts';
import { header, tarHeader, trailer } from './agent.ts';
import type { Answer, Channel, FrameWriter } from './channel.ts';

/** wholeFileLimitBytes: files below it are read whole before their frame starts; larger ones are streamed. */
const wholeFileLimitBytes = 1024 * 1024;
const chunkBytes = 256 * 1024;
/** readAhead bounds how many small files are read ahead of the writer. */
const readAhead = 16;
/** sendAttempts bounds how often a file that keeps changing while sent is read again. */
const sendAttempts = 3;

/** ChannelRefused is an operation the agent answered with an error (a permission, a full disk). */
export class ChannelRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelRefused';
  }
}

/**
 * tarMinEntries: a run of at least this many entries goes as one `T` frame (one tar extracted
 * by one `tar` in the container) when the container has `tar`; shorter runs go one frame per
 * entry. The agent starts about five processes per `T` frame (`dd` twice, `tar`, `cat`,
 * `rm`) and one `mv` per directory that receives files, and two per written file (`dd`, `mv`),
 * so a tar frame pays from a handful of files (channel-crossover.measure.ts; the cost per
 * directory: channel-staging.measure.ts).
 */
export const tarMinEntries = 8;
/**
 * tarFrameBytes and tarFrameEntries cut a long run into several `T` frames: the next one is
 * built while the container extracts the last, and memory stays bounded.
 */
const tarFrameBytes = 16 * 1024 * 1024;
const tarFrameEntries = 500;
/** tarFrameLimitBytes: a `T` frame is built in memory; one that grows past this goes per call. */
const tarFrameLimitBytes = 64 * 1024 * 1024;

/**
 * sendChanges removes deletePaths, then writes entries, through the channel, and resolves when
 * the agent acknowledged every one. Frames are pipelined: answers are awaited at the end.
 * Content is read as the archive reads it (openPlanned: no link followed, the planned file or
 * nothing).
 *
 * Which path an entry takes:
 * - Files of 1 MiB and more are streamed one `W` frame each (a temporary name, then a rename),
 *   sent with the size they had when their frame started; one that changes while sent is
 *   aborted in the container and sent again.
 * - When the container has `tar`, runs of at least tarMinEntries other entries (small files,
 *   directories, symlinks) between them go as `T` frames: the tar is built in memory first,
 *   each file read whole and read again when it changed while read, so the frame is exact.
 *   Its files are extracted into a staging directory beside them and renamed into place, one
 *   `mv` per directory (agent.ts). Modes are exact and the local mtimes kept.
 * - Everything else (a single file, a small batch, a container without `tar`) goes one frame
 *   per entry, files through a temporary name and a rename.
 *
 * Either way an application's own watcher sees each file appear whole, by a rename.
 */
export async function sendChanges(ch: Channel, deletePaths: string[], entries: ArchiveEntry[], opts: SendOptions = {}): Promise<void> {
  const { onSkip } = opts;
  const staged = opts.staged ?? [];
  const tarMin = opts.tarMinEntries ?? tarMinEntries;
  // The temporary name a `W` frame writes to (agent.ts).
  const wrote: Wrote = (p) => staged.push(posix.join(posix.dirname(p), `.${posix.basename(p)}.ferry${ch.pid}`));
  await ch.exclusive(async (w) => {
    const answers: Promise<[string, Answer]>[] = [];
    const track: Track = (what, a) => {
      const p = a.then((ans): [string, Answer] => [what, ans]);
      p.catch(() => undefined); // awaited below
      answers.push(p);
    };
    for (const p of deletePaths) {
      const seq = w.nextSeq();
      track(`delete ${p}`, w.answer(seq));
      await w.write(header('D', seq, p));
    }
    if (!ch.tar || entries.length < tarMin) {
      await sendEach(w, entries, track, wrote, onSkip);
    } else {
      let run: ArchiveEntry[] = [];
      let runBytes = 0;
      const flush = async () => {
        if (run.length >= tarMin) await sendTar(w, ch.pid, run, track, staged, onSkip);
        else await sendEach(w, run, track, wrote, onSkip);
        run = [];
        runBytes = 0;
      };
      for (const e of entries) {
        if (e.type === 'file' && e.size >= wholeFileLimitBytes) {
          await flush();
          await sendFile(w, e, '/' + e.name, track, wrote, onSkip);
          continue;
        }
        run.push(e);
        runBytes += 1024 + e.size; // its header, a long name's header, its padded content
        if (runBytes >= tarFrameBytes || run.length >= tarFrameEntries) await flush();
      }
      await flush();
    }
    for (const [what, answer] of await Promise.all(answers)) {
      if (answer !== 'ok') throw new ChannelRefused(`${what}: ${answer}`);
    }
  });
}

/** SendOptions tune sendChanges. */
export interface SendOptions {
  /** tarMinEntries overrides the module's tarMinEntries. */
  tarMinEntries?: number;
  /**
   * staged receives the temporary names the frames sent write to (absolute paths): the staging
   * directories of `T` frames, the temporary files of `W` frames. When the channel dies, those
   * of a frame the agent never finished may be left in the container: the per-call path
   * removes them.
   */
  staged?: string[];
  /** onSkip is told about local paths left out (see ArchiveOptions.onSkip). */
  onSkip?: (localPath: string, why: string) => void;
}

type Track = (what: string, a: Promise<Answer>) => void;
type Wrote = (path: string) => void;

/**
 * sendTar sends entries as one `T` frame, after `N` frames for the directories they go into
 * that the tar does not hold itself (created with the agent's umask, as a `W` frame would).
 * Each file goes into the tar below a staging directory in its own directory, which the agent
 * renames into place after the extraction (agent.ts); the staging directories are added to
 * staged before the frame is sent.
 */
async function sendTar(w: FrameWriter, pid: number, entries: ArchiveEntry[], track: Track, staged: string[], onSkip?: (localPath: string, why: string) => void): Promise<void> {
  const inTar = new Set(entries.filter((e) => e.type === 'directory').map((e) => e.name));
  const parents = new Set<string>();
  for (const e of entries) {
    const parent = posix.dirname(e.name);
    if (parent !== '.' && !inTar.has(parent)) parents.add(parent);
  }
  for (const dir of parents) {
    const seq = w.nextSeq();
    track(`mkdir /${dir}`, w.answer(seq));
    await w.write(header('N', seq, '/' + dir));
  }
  const seq = w.nextSeq();
  const { entries: inStaging, dirs } = stagedEntries(entries, `.ferry-${pid}-${seq}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of streamArchive(inStaging, { smallFileLimitBytes: wholeFileLimitBytes, onSkip })) {
    size += (chunk as Buffer).length;
    if (size > tarFrameLimitBytes) throw new ChannelRefused(`a batch of ${entries.length} entries grew past ${tarFrameLimitBytes} bytes while read`);
    chunks.push(chunk as Buffer);
  }
  for (const d of dirs) staged.push(posix.join(d, `.ferry-${pid}-${seq}`));
  track(`archive of ${entries.length} entries`, w.answer(seq));
  // One write: tar-stream hands out a chunk per header and per content, and each write has a cost.
  const list = Buffer.from(dirs.map((d) => d + '\n').join(''), 'utf8');
  await w.write(Buffer.concat([tarHeader(seq, size, list.length), list, ...chunks, trailer(seq, true)]));
}

/**
 * stagedEntries renames each file of directory D to `D/STAGING/NAME`, a staging directory
 * (mode 0700) entered before the first file it holds, and lists the directories D (absolute).
 * Directories and symlinks keep their names.
 */
export function stagedEntries(entries: ArchiveEntry[], staging: string): { entries: ArchiveEntry[]; dirs: string[] } {
  const out: ArchiveEntry[] = [];
  const dirs = new Set<string>();
  for (const e of entries) {
    if (e.type !== 'file') {
      out.push(e);
      continue;
    }
    const parent = posix.dirname(e.name);
    const dir = parent === '.' ? '/' : '/' + parent;
    const stage = parent === '.' ? staging : `${parent}/${staging}`;
    if (!dirs.has(dir)) {
      dirs.add(dir);
      out.push({ name: stage, localPath: '', type: 'directory', mode: 0o700, mtime: e.mtime, size: 0 });
    }
    out.push({ ...e, name: `${stage}/${posix.basename(e.name)}` });
  }
  return { entries: out, dirs: [...dirs] };
}

/** sendEach sends entries one frame each, small files read ahead of the writer. */
async function sendEach(w: FrameWriter, entries: ArchiveEntry[], track: Track, wrote: Wrote, onSkip?: (localPath: string, why: string) => void): Promise<void> {
  // Small files are read ahead of the writer, a bounded window at a time, in their order.
  const reads = new Map<number, Promise<Whole>>();
  const readAt = (i: number) => {
    const e = entries[i];
    if (!e || reads.has(i) || e.type !== 'file' || e.size >= wholeFileLimitBytes) return;
    const read = readWhole(e, onSkip);
    read.catch(() => undefined); // awaited in order below
    reads.set(i, read);
  };
  for (let i = 0; i < entries.length; i++) {
    for (let j = i; j < i + readAhead; j++) readAt(j);
    const e = entries[i]!;
    const path = '/' + e.name;
    const read = reads.get(i);
    if (read) {
      reads.delete(i);
      const got = await read;
      if (got === 'changed') {
        await sendFile(w, e, path, track, wrote, onSkip);
      } else if (got?.type === 'symlink') {
        track(`symlink ${path}`, symlink(w, path, got.linkname));
      } else if (got) {
        const seq = w.nextSeq();
        track(`write ${path}`, w.answer(seq));
        wrote(path);
        await w.write(Buffer.concat([header('W', seq, path, got.data.length, got.mode, got.mtime), got.data, trailer(seq, true)]));
      }
      continue;
    }
    if (e.type === 'directory') {
      const seq = w.nextSeq();
      track(`mkdir ${path}`, w.answer(seq));
      await w.write(header('M', seq, path, 0, e.mode));
    } else if (e.type === 'symlink') {
      track(`symlink ${path}`, symlink(w, path, e.linkname ?? ''));
    } else {
      await sendFile(w, e, path, track, wrote, onSkip);
    }
  }
}

async function symlink(w: FrameWriter, path: string, target: string): Promise<Answer> {
  const seq = w.nextSeq();
  const answer = w.answer(seq);
  await w.write(Buffer.concat([header('L', seq, path), Buffer.from(target + '\n', 'utf8')]));
  return answer;
}

async function sendFile(
  w: FrameWriter,
  e: ArchiveEntry,
  path: string,
  track: Track,
  wrote: Wrote,
  onSkip?: (localPath: string, why: string) => void,
): Promise<void> {
  for (let attempt = 0; attempt < sendAttempts; attempt++) {
    const opened = await openPlanned(e, onSkip);
    if ('instead' in opened) {
      if (opened.instead?.type === 'symlink') track(`symlink ${path}`, symlink(w, path, opened.instead.linkname));
      return; // gone since planned (or not the file planned): nothing to send
    }
    const { fh, st } = opened;
    try {
      const mode = st.mode & 0o7777;
      if (st.size < wholeFileLimitBytes) {
        const data = await readExactly(fh, st.size);
        if (!data || changed(st, await fh.stat())) continue;
        const seq = w.nextSeq();
        track(`write ${path}`, w.answer(seq));
        wrote(path);
        await w.write(Buffer.concat([header('W', seq, path, data.length, mode, st.mtime), data, trailer(seq, true)]));
        return;
      }
      // Streamed: the size is fixed by the header; a file that shrinks is padded and the frame
      // aborted, one that changes in any way is aborted, then read again.
      const seq = w.nextSeq();
      const answer = w.answer(seq);
      wrote(path);
      await w.write(header('W', seq, path, st.size, mode, st.mtime));
      let intact = true;
      const buf = Buffer.allocUnsafe(chunkBytes);
      for (let sent = 0; sent < st.size; ) {
        const want = Math.min(chunkBytes, st.size - sent);
        const { bytesRead } = await fh.read(buf, 0, want, sent);
        if (bytesRead === 0) intact = false;
        const chunk = bytesRead > 0 ? Buffer.from(buf.subarray(0, bytesRead)) : Buffer.alloc(want);
        sent += chunk.length;
        await w.write(chunk);
      }
      if (intact && changed(st, await fh.stat())) intact = false;
      await w.write(trailer(seq, intact));
      if (intact) {
        track(`write ${path}`, answer);
        return;
      }
      const ans = await answer;
      if (ans !== 'aborted') throw new ChannelRefused(`write ${path}: ${ans}`);
    } finally {
      await fh.close();
    }
  }
  throw new ChannelRefused(`write ${path}: the file kept changing while it was sent`);
}

/** Whole is a small file read whole: its data and mode, a symlink found in its place, nothing, or `changed` while read. */
type Whole = null | 'changed' | { type: 'file'; data: Buffer; mode: number; mtime: Date } | { type: 'symlink'; linkname: string };

async function readWhole(e: ArchiveEntry, onSkip?: (localPath: string, why: string) => void): Promise<Whole> {
  const opened = await openPlanned(e, onSkip);
  if ('instead' in opened) return opened.instead?.type === 'symlink' ? opened.instead : null;
  const { fh, st } = opened;
  try {
    if (st.size >= wholeFileLimitBytes) return 'changed';
    const data = await readExactly(fh, st.size);
    if (!data || changed(st, await fh.stat())) return 'changed';
    return { type: 'file', data, mode: st.mode & 0o7777, mtime: st.mtime };
  } finally {
    await fh.close();
  }
}

/** readExactly reads size bytes from the start; null when the file is shorter now. */
async function readExactly(fh: FileHandle, size: number): Promise<Buffer | null> {
  const buf = Buffer.allocUnsafe(size);
  let got = 0;
  while (got < size) {
    const { bytesRead } = await fh.read(buf, got, size - got, got);
    if (bytesRead === 0) return null;
    got += bytesRead;
  }
  return buf;
}

/** changed is true when a file was written (or grew, or shrank) between two stats. */
function changed(before: Stats, after: Stats): boolean {
  return before.size !== after.size || before.mtimeMs !== after.mtimeMs || before.ctimeMs !== after.ctimeMs;
}
