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
 * paths. Two batches recorded under the same time (a watcher restarted after the clock stepped
 * back) are both dropped: neither can be told from the other. A FileWatch's records go when its
 * events leave its status (retain), and all of them when it is deleted, disabled or recreated
 * (forget); all records together are bounded in path text, the oldest dropped first.
 */
import type { FileEvent } from '../apis/index.ts';

/** FileBatchesOptions bound what is kept. */
export interface FileBatchesOptions {
  /** perWatch is how many records one FileWatch keeps at most: as many events as its status does. Default 20. */
  perWatch?: number;
  /** maxChars bounds the path text (exact paths and seenFiles) of all records together. Default 16 Mi characters. */
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
  /** ambiguous are the keys two batches were recorded under: never answered. */
  private readonly ambiguous = new Set<string>();
  private readonly perWatch: number;
  private readonly maxChars: number;
  private chars = 0;

  constructor(opts: FileBatchesOptions = {}) {
    this.perWatch = opts.perWatch ?? 20;
    this.maxChars = opts.maxChars ?? 16 * 1024 * 1024;
  }

  /** record keeps the exact paths of the batch a FileWatch (uid) recorded at time with seenFiles. */
  record(uid: string, time: string, seenFiles: readonly string[], paths: readonly string[]): void {
    const chars = textOf(paths) + textOf(seenFiles);
    const key = keyOf(uid, time);
    if (!uid || chars > this.maxChars) return;
    if (this.batches.has(key) || this.ambiguous.has(key)) {
      this.drop(key);
      this.ambiguous.add(key);
      return;
    }
    this.batches.set(key, { uid, time, seenFiles: [...seenFiles], paths: [...paths], chars });
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

  /** retain drops the records of a FileWatch whose events are no longer in its status (times: those that are). */
  retain(uid: string, times: readonly string[]): void {
    const live = new Set(times);
    for (const b of [...this.batches.values()]) if (b.uid === uid && !live.has(b.time)) this.drop(keyOf(b.uid, b.time));
    for (const key of [...this.ambiguous]) if (key.startsWith(`${uid} `) && !live.has(key.slice(uid.length + 1))) this.ambiguous.delete(key);
  }

  /** forget drops every record of a FileWatch (deleted, disabled, or recreated under its name). */
  forget(uid: string): void {
    this.retain(uid, []);
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

function textOf(paths: readonly string[]): number {
  return paths.reduce((n, p) => n + p.length, 0);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}
