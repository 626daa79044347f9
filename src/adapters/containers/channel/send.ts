import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { openPlanned, type ArchiveEntry } from '../../tar/archive.ts';
import { header, trailer } from './agent.ts';
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
 * sendChanges removes deletePaths, then writes entries, through the channel, and resolves when
 * the agent acknowledged every one. Frames are pipelined: answers are awaited at the end. A
 * file is sent with the size it had when its frame started; one that changes while sent is
 * aborted in the container and sent again. Content is read as the archive reads it
 * (openPlanned: no link followed, the planned file or nothing).
 */
export async function sendChanges(ch: Channel, deletePaths: string[], entries: ArchiveEntry[], onSkip?: (localPath: string, why: string) => void): Promise<void> {
  await ch.exclusive(async (w) => {
    const answers: Promise<[string, Answer]>[] = [];
    const track = (what: string, a: Promise<Answer>) => {
      const p = a.then((ans): [string, Answer] => [what, ans]);
      p.catch(() => undefined); // awaited below
      answers.push(p);
    };
    for (const p of deletePaths) {
      const seq = w.nextSeq();
      track(`delete ${p}`, w.answer(seq));
      await w.write(header('D', seq, p));
    }
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
          await sendFile(w, e, path, track, onSkip);
        } else if (got?.type === 'symlink') {
          track(`symlink ${path}`, symlink(w, path, got.linkname));
        } else if (got) {
          const seq = w.nextSeq();
          track(`write ${path}`, w.answer(seq));
          await w.write(Buffer.concat([header('W', seq, path, got.data.length, got.mode), got.data, trailer(seq, true)]));
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
        await sendFile(w, e, path, track, onSkip);
      }
    }
    for (const [what, answer] of await Promise.all(answers)) {
      if (answer !== 'ok') throw new ChannelRefused(`${what}: ${answer}`);
    }
  });
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
  track: (what: string, a: Promise<Answer>) => void,
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
        await w.write(Buffer.concat([header('W', seq, path, data.length, mode), data, trailer(seq, true)]));
        return;
      }
      // Streamed: the size is fixed by the header; a file that shrinks is padded and the frame
      // aborted, one that changes in any way is aborted, then read again.
      const seq = w.nextSeq();
      const answer = w.answer(seq);
      await w.write(header('W', seq, path, st.size, mode));
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
type Whole = null | 'changed' | { type: 'file'; data: Buffer; mode: number } | { type: 'symlink'; linkname: string };

async function readWhole(e: ArchiveEntry, onSkip?: (localPath: string, why: string) => void): Promise<Whole> {
  const opened = await openPlanned(e, onSkip);
  if ('instead' in opened) return opened.instead?.type === 'symlink' ? opened.instead : null;
  const { fh, st } = opened;
  try {
    if (st.size >= wholeFileLimitBytes) return 'changed';
    const data = await readExactly(fh, st.size);
    if (!data || changed(st, await fh.stat())) return 'changed';
    return { type: 'file', data, mode: st.mode & 0o7777 };
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
