/**
 * Watch streams: newline-delimited JSON events, flushed as they happen. A watch starts
 * from the current state (synthetic ADDED events) or resumes after a resourceVersion from
 * the store's history; an RV the history no longer covers gets a 410 ERROR event.
 * Selector transitions are ADDED/DELETED as in kube's watch cache.
 */
import type { ServerResponse } from 'node:http';
import type { KindDef } from '../apis/kind.ts';
import { apiVersion, type KubeObject } from '../apis/meta.ts';
import { ApiError } from './errors.ts';
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
  /** A slow client whose unsent output exceeds this many bytes is disconnected. */
  maxBufferedBytes?: number;
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
          this.end();
          return;
        }
        throw err;
      }
      for (const ev of backlog) this.deliver(ev);
    }
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

  private writeLine(json: string): void {
    if (this.closed) return;
    this.res.write(json + '\n');
    if (this.res.writableLength > (this.opts.maxBufferedBytes ?? 64 * 1024 * 1024)) this.end();
  }

  /** end closes the stream cleanly; clients resume from the last RV they saw. */
  end(): void {
    if (this.closed) return;
    this.stop();
    this.res.end();
  }

  private stop(): void {
    this.closed = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }
}
