/**
 * FileBatches keeps, inside one daemon, the exact paths of the FileWatch batches whose
 * `seenFiles` had to be shortened to fit the object (a branch switch, a generator writing
 * thousands of files: controllers/filewatch/status.ts). The FileWatch controller records them;
 * the LiveUpdate controller of the same daemon reads them, and copies the files that changed
 * instead of every file below the directories the status names. A LiveUpdate that finds no
 * record (another process wrote the FileWatch, the daemon restarted, the record was evicted)
 * reads the status as it is: a directory stands for everything below it, so nothing is missed
 * either way, only copied again.
 *
 * A record is found by the FileWatch's uid and the event's time, and only when the event's
 * `seenFiles` are the ones recorded: an event that is not the batch recorded is never given its
 * paths. Records are bounded per FileWatch (the events its status keeps) and in total (path
 * text), the oldest dropped first.
 */
import type { FileEvent } from '../apis/index.ts';

/** FileBatchesOptions bound what is kept. */
export interface FileBatchesOptions {
  /** perWatch is how many records one FileWatch keeps: as many events as its status does. Default 20. */
  perWatch?: number;
  /** maxChars bounds the path text of all records together. Default 64 Mi characters. */
  maxChars?: number;
}

interface Batch {
  uid: string;
  time: string;
  seenFiles: readonly string[];
  paths: readonly string[];
  chars: number;
}

export class FileBatches {
  /** batches by `uid time`, oldest first (a Map keeps insertion order). */
  private readonly batches = new Map<string, Batch>();
  private readonly perWatch: number;
  private readonly maxChars: number;
  private chars = 0;

  constructor(opts: FileBatchesOptions = {}) {
    this.perWatch = opts.perWatch ?? 20;
    this.maxChars = opts.maxChars ?? 64 * 1024 * 1024;
  }

  /** record keeps the exact paths of the batch a FileWatch (uid) recorded at time with seenFiles. */
  record(uid: string, time: string, seenFiles: readonly string[], paths: readonly string[]): void {
    const chars = paths.reduce((n, p) => n + p.length, 0);
    if (!uid || chars > this.maxChars) return;
    this.drop(keyOf(uid, time));
    this.batches.set(keyOf(uid, time), { uid, time, seenFiles: [...seenFiles], paths: [...paths], chars });
    this.chars += chars;
    const own = [...this.batches.values()].filter((b) => b.uid === uid);
    for (const b of own.slice(0, Math.max(0, own.length - this.perWatch))) this.drop(keyOf(b.uid, b.time));
    for (const [key] of this.batches) {
      if (this.chars <= this.maxChars) break;
      this.drop(key);
    }
  }

  /** pathsOf gives the exact paths of ev from the FileWatch uid, or undefined when none are kept for it. */
  pathsOf(uid: string | undefined, ev: FileEvent): readonly string[] | undefined {
    if (!uid) return undefined;
    const b = this.batches.get(keyOf(uid, ev.time));
    if (!b || !sameList(b.seenFiles, ev.seenFiles ?? [])) return undefined;
    return b.paths;
  }

  /** forget drops every record of a FileWatch (deleted). */
  forget(uid: string): void {
    for (const b of [...this.batches.values()]) if (b.uid === uid) this.drop(keyOf(b.uid, b.time));
  }

  /** size is how many records are kept. */
  get size(): number {
    return this.batches.size;
  }

  private drop(key: string): void {
    const b = this.batches.get(key);
    if (!b) return;
    this.batches.delete(key);
    this.chars -= b.chars;
  }
}

function keyOf(uid: string, time: string): string {
  return `${uid} ${time}`;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}
