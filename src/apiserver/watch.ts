/**
 * Watch streams: newline-delimited JSON events, flushed as they happen. A watch starts
 * from the current state (synthetic ADDED events) or resumes after a resourceVersion from
 * the store's history; an RV the history no longer covers gets a 410 ERROR event.
 * Selector transitions are ADDED/DELETED as in kube's watch cache.
 *
 * Output goes through a queue per watch and into the socket only while the socket holds less
 * than socketBytes, so a client that reads slowly holds its events in the queue as references
 * to the encodings the store already keeps, not as copies in socket buffers. A watch whose live
 * events fall more than maxBufferedBytes behind is closed, as kube-apiserver closes a watcher
 * that does not keep up; the client resumes from the last resourceVersion it saw (or relists
 * on 410). The initial events (the current state, or the history it resumes from) are not
 * counted: they are what the client asked for, not a sign of falling behind.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'winston';
import type { KindDef } from '../apis/kind.ts';
import { apiVersion, type KubeObject } from '../apis/meta.ts';
import { ApiError } from './errors.ts';
import { Fifo } from './fifo.ts';
import { encode, type ChangeEvent, type ObjectStore } from './store.ts';
import type { Matcher } from './selectors.ts';
import { toTable, type TableRequest } from './table.ts';

export interface WatchOptions {
  store: ObjectStore;
  def: KindDef;
  match: Matcher;
  /** Resume after this RV; undefined or 0 starts with the current state. */
  sinceRv?: number;
  table?: TableRequest;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  timeoutMs?: number;
  /**
   * maxBufferedBytes: a watch whose unsent output (in its socket and its queue of live events)
   * exceeds this many bytes is closed. Default defaultWatchMaxBufferedBytes (16 MiB).
   */
  maxBufferedBytes?: number;
  /** log hears of a watch closed for falling behind. */
  log?: Logger;
}

/**
 * defaultWatchMaxBufferedBytes is how far behind a watch may fall before it is closed: 16 MiB,
 * five of the largest objects the server accepts (3 MiB bodies). A client that reads is at
 * most about one event behind; one that stops reading costs at most this much plus its socket.
 */
export const defaultWatchMaxBufferedBytes = 16 * 1024 * 1024;

/** socketBytes is how much output a watch hands to its socket before waiting for it to drain. */
const socketBytes = 1024 * 1024;

/** A line waiting to be sent, and how many bytes of it count against maxBufferedBytes. */
interface Queued {
  line: string;
  counted: number;
}

type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Watch is one open watch stream. */
export class Watch {
  private readonly res: ServerResponse;
  private readonly opts: WatchOptions;
  private unsubscribe?: () => void;
  private timers: NodeJS.Timeout[] = [];
  private sentColumns = false;
  private closed = false;
  private readonly queue = new Fifo<Queued>();
  private queuedBytes = 0;
  /** True while the initial events are queued: they do not count against maxBufferedBytes. */
  private replaying = true;
  private awaitingDrain = false;

  constructor(res: ServerResponse, opts: WatchOptions) {
    this.res = res;
    this.opts = opts;
  }

  start(onClose: () => void): void {
    const { res, opts } = this;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    res.on('close', () => {
      this.stop();
      onClose();
    });
    const resource = opts.def.plural;
    if (opts.sinceRv === undefined || opts.sinceRv === 0) {
      for (const obj of opts.store.list(resource)) if (opts.match(obj)) this.send('ADDED', obj);
    } else {
      let backlog: ChangeEvent[];
      try {
        backlog = opts.store.eventsSince(resource, opts.sinceRv);
      } catch (err) {
        if (err instanceof ApiError) {
          this.write({ type: 'ERROR', object: err.toStatus() });
          this.flush();
          this.end();
          return;
        }
        throw err;
      }
      for (const ev of backlog) this.deliver(ev);
    }
    this.replaying = false;
    this.flush();
    this.unsubscribe = opts.store.subscribe(resource, (ev) => this.deliver(ev));
    if (opts.bookmarks) this.timers.push(setInterval(() => this.bookmark(), opts.bookmarkIntervalMs));
    if (opts.timeoutMs) {
      this.timers.push(setTimeout(() => {
        if (opts.bookmarks) this.bookmark();
        this.end();
      }, opts.timeoutMs));
    }
  }

  private deliver(ev: ChangeEvent): void {
    const { match } = this.opts;
    const now = match(ev.object);
    const before = ev.prev ? match(ev.prev) : false;
    if (ev.type === 'ADDED') {
      if (now) this.send('ADDED', ev.object);
    } else if (ev.type === 'DELETED') {
      if (before) this.send('DELETED', ev.object);
    } else if (now && before) this.send('MODIFIED', ev.object);
    else if (now) this.send('ADDED', ev.object);
    else if (before) this.send('DELETED', { ...ev.prev!, metadata: { ...ev.prev!.metadata, resourceVersion: String(ev.rv) } });
  }

  private send(type: WatchEventType, obj: KubeObject): void {
    const { table, def } = this.opts;
    if (table) {
      const t = toTable(def, [obj], table, { resourceVersion: obj.metadata.resourceVersion }, !this.sentColumns);
      this.sentColumns = true;
      this.write({ type, object: t });
    } else {
      this.writeLine(`{"type":"${type}","object":${encode(obj)}}`);
    }
  }

  private bookmark(): void {
    this.write({ type: 'BOOKMARK', object: { kind: this.opts.def.kind, apiVersion, metadata: { resourceVersion: String(this.opts.store.resourceVersion) } } });
  }

  private write(ev: unknown): void {
    this.writeLine(JSON.stringify(ev));
  }

  private writeLine(line: string): void {
    if (this.closed) return;
    const counted = this.replaying ? 0 : line.length + 1;
    this.queue.push({ line, counted });
    this.queuedBytes += counted;
    if (this.replaying) return;
    const behind = this.res.writableLength + this.queuedBytes;
    const limit = this.opts.maxBufferedBytes ?? defaultWatchMaxBufferedBytes;
    if (behind > limit) {
      this.opts.log?.warn('Closing a watch that fell behind', { resource: this.opts.def.plural, bufferedBytes: behind, maxBufferedBytes: limit });
      this.destroy();
      return;
    }
    this.flush();
  }

  /** flush hands queued lines to the socket until it holds socketBytes, then waits for it to drain. */
  private flush(): void {
    const { res, queue } = this;
    while (queue.length && res.writableLength < socketBytes) {
      const q = queue.shift();
      this.queuedBytes -= q.counted;
      res.write(q.line + '\n');
    }
    if (queue.length && !this.awaitingDrain) {
      // The socket holds more than its high-water mark, so a write has asked for a drain.
      this.awaitingDrain = true;
      res.once('drain', () => {
        this.awaitingDrain = false;
        if (!this.closed) this.flush();
      });
    }
  }

  /**
   * end closes the stream: cleanly once everything is handed to the socket, else at once
   * (a client still behind resumes from the last RV it saw, as after any closed watch).
   */
  end(): void {
    if (this.closed) return;
    if (this.queue.length) return this.destroy();
    this.stop();
    this.res.end();
  }

  /** destroy closes the connection, dropping what is still queued or unsent. */
  private destroy(): void {
    this.stop();
    this.res.destroy();
  }

  private stop(): void {
    this.closed = true;
    this.queue.clear();
    this.queuedBytes = 0;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }
}
