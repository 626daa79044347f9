import type { Logger } from 'winston';
import { apiVersion, type KubeList, type KubeObject } from '../apis/meta.ts';
import type { WatchEvent, WatchHandle, WatchOptions } from '../client/client.ts';
import { ApiError } from '../client/errors.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { Store } from './store.ts';

/** A watch that the server ends sooner than this without any event counts as a failure. */
const quickCloseMs = 1000;

/** ListWatcher is the part of the Client an informer needs (FerryClient implements it). */
export interface ListWatcher {
  list(kind: string): Promise<KubeList<KubeObject>>;
  watch(
    kind: string,
    opts: WatchOptions,
    onEvent: (ev: WatchEvent) => void,
    done: (err?: unknown) => void,
  ): Promise<WatchHandle>;
}

/** ObjectEvent is a change the informer saw: `old` is set for updates (the previous object). */
export interface ObjectEvent<T extends KubeObject = KubeObject> {
  type: 'add' | 'update' | 'delete';
  obj: T;
  old?: T;
}

export type EventHandler<T extends KubeObject = KubeObject> = (ev: ObjectEvent<T>) => void;

/** InformerOptions tune reconnection; defaults are client-go's reflector backoff (800 ms to 30 s). */
export interface InformerOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Informer keeps a Store of one kind in step with the server: it lists, then watches from the
 * list's resourceVersion, and tells its handlers what changed.
 * - A watch the server closes is resumed from the last resourceVersion seen.
 * - `410 Gone` (as an HTTP status or an ERROR event) relists at once.
 * - A lost connection or a failed list relists after a backoff that doubles up to maxBackoffMs;
 *   other error statuses re-watch after the same backoff.
 * - A relist replaces the store: objects missing from the new list get `delete` events, new ones
 *   `add`, changed ones (by resourceVersion) `update`. Unchanged ones are not reported.
 */
export class Informer<T extends KubeObject = KubeObject> {
  readonly kind: string;
  readonly store = new Store<T>();
  private readonly source: ListWatcher;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly handlers = new Set<EventHandler<T>>();
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private resourceVersion = '';
  private running = false;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private failures = 0;
  private retryTimer?: TimerHandle;
  private watchHandle?: WatchHandle;
  /** generation identifies the current list/watch attempt; callbacks of older ones are ignored. */
  private generation = 0;
  private lastError = '';

  constructor(deps: { kind: string; source: ListWatcher; clock: Clock; log: Logger } & InformerOptions) {
    this.kind = deps.kind;
    this.source = deps.source;
    this.clock = deps.clock;
    this.log = deps.log;
    this.initialBackoffMs = deps.initialBackoffMs ?? 800;
    this.maxBackoffMs = deps.maxBackoffMs ?? 30_000;
  }

  /** onEvent registers a handler for every change; returns a function that removes it. */
  onEvent(handler: EventHandler<T>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** start lists and begins watching. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.relist();
  }

  /** stop ends the watch and any pending retry; the store keeps its contents. */
  stop(): void {
    this.running = false;
    this.generation++;
    if (this.retryTimer) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.watchHandle?.stop();
    this.watchHandle = undefined;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  /** hasSynced is true once the first list has been stored. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** waitForSync resolves when the first list has been stored (or the informer stops). */
  waitForSync(): Promise<void> {
    if (this.synced || !this.running) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** lastResourceVersion is the resourceVersion the next watch resumes from. */
  lastResourceVersion(): string {
    return this.resourceVersion;
  }

  private async relist(): Promise<void> {
    const gen = ++this.generation;
    this.watchHandle?.stop();
    this.watchHandle = undefined;
    let list: KubeList<KubeObject>;
    try {
      list = await this.source.list(this.kind);
    } catch (err) {
      if (gen !== this.generation) return;
      this.failed('List failed', err, () => this.relist());
      return;
    }
    if (gen !== this.generation) return;
    this.replace(list.items as T[]);
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
    await this.watch(gen);
  }

  private async watch(gen: number): Promise<void> {
    let relistNeeded = false;
    let sawEvent = false;
    const startedMs = this.clock.now().getTime();
    const finish = (err?: unknown) => {
      if (gen !== this.generation) return;
      this.generation++;
      this.watchHandle?.stop();
      this.watchHandle = undefined;
      if (relistNeeded || (err instanceof ApiError && err.code === 410)) {
        this.log.debug('Watch expired, relisting', { kind: this.kind, resourceVersion: this.resourceVersion });
        void this.relist();
      } else if (err instanceof ApiError) {
        this.failed('Watch failed', err, () => this.rewatch());
      } else if (err) {
        this.failed('Watch connection lost', err, () => this.relist());
      } else if (!sawEvent && this.clock.now().getTime() - startedMs < quickCloseMs) {
        // The server closed a watch at once: resume, but do not spin.
        this.failed('Watch closed', undefined, () => this.rewatch());
      } else {
        void this.rewatch();
      }
    };
    const onEvent = (ev: WatchEvent) => {
      if (gen !== this.generation) return;
      if (ev.type === 'ERROR') {
        const status = ev.object as unknown as { code?: number; message?: string; reason?: string };
        if (status?.code === 410) relistNeeded = true;
        finish(relistNeeded ? undefined : new ApiError(status?.code ?? 500, status as never));
        return;
      }
      if (!sawEvent) {
        sawEvent = true;
        this.recovered();
      }
      this.apply(ev);
    };
    try {
      const handle = await this.source.watch(this.kind, { resourceVersion: this.resourceVersion }, onEvent, finish);
      if (gen !== this.generation) {
        handle.stop();
        return;
      }
      this.watchHandle = handle;
    } catch (err) {
      finish(err);
    }
  }

  private rewatch(): Promise<void> {
    return this.watch(++this.generation);
  }

  private apply(ev: WatchEvent): void {
    const obj = this.typed(ev.object as T);
    const rv = obj?.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    const name = obj?.metadata?.name;
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED': {
        if (!name) return;
        const old = this.store.get(name);
        if (old && old.metadata.resourceVersion === rv) return;
        this.store.set(obj);
        this.emit(old ? { type: 'update', obj, old } : { type: 'add', obj });
        return;
      }
      case 'DELETED': {
        if (!name) return;
        const old = this.store.delete(name);
        if (old) this.emit({ type: 'delete', obj });
        return;
      }
      default:
        return;
    }
  }

  private replace(items: T[]): void {
    items = items.map((o) => this.typed(o));
    const seen = new Set<string>();
    for (const obj of items) if (obj.metadata?.name) seen.add(obj.metadata.name);
    for (const name of this.store.names()) {
      if (seen.has(name)) continue;
      const old = this.store.delete(name)!;
      this.emit({ type: 'delete', obj: old });
    }
    for (const obj of items) {
      const name = obj.metadata?.name;
      if (!name) continue;
      const old = this.store.get(name);
      if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) continue;
      this.store.set(obj);
      this.emit(old ? { type: 'update', obj, old } : { type: 'add', obj });
    }
  }

  /** typed fills in kind and apiVersion, which list items may lack. */
  private typed(obj: T): T {
    if (!obj || typeof obj !== 'object' || (obj.kind && obj.apiVersion)) return obj;
    return { ...obj, kind: obj.kind ?? this.kind, apiVersion: obj.apiVersion ?? apiVersion };
  }

  private emit(ev: ObjectEvent<T>): void {
    for (const h of this.handlers) {
      try {
        h(ev);
      } catch (err) {
        this.log.error('Event handler failed', { kind: this.kind, name: ev.obj.metadata.name, error: String(err) });
      }
    }
  }

  private failed(what: string, err: unknown, retry: () => Promise<void>): void {
    if (!this.running) return;
    const delayMs = Math.min(this.initialBackoffMs * 2 ** this.failures, this.maxBackoffMs);
    this.failures++;
    const message = err === undefined ? '' : String((err as Error)?.message ?? err);
    if (message !== this.lastError) {
      this.lastError = message;
      if (err !== undefined) this.log.warn(what, { kind: this.kind, error: message, retryInMs: delayMs });
    }
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.running) void retry();
    }, delayMs);
  }

  private recovered(): void {
    if (this.failures > 0 && this.lastError) this.log.info('Watch resumed', { kind: this.kind });
    this.failures = 0;
    this.lastError = '';
  }
}
