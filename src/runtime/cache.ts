import type { Logger } from 'winston';
import type { KubeObject } from '../apis/meta.ts';
import type { Clock } from '../util/clock.ts';
import { Informer, type InformerOptions, type ListWatcher } from './informer.ts';
import type { IndexFn } from './store.ts';

/** CacheListOptions filter a cached list. */
export interface CacheListOptions {
  /** labels the objects must carry, with these exact values. */
  labels?: Record<string, string>;
}

/**
 * Cache is the shared, watch-fed copy of the objects of every kind some controller needs: one
 * Informer per kind. Reads are synchronous and never reach the server. Objects are frozen and
 * shared: copy one (structuredClone) before changing it.
 *
 * A kind is cached once something asks for it: the controller builder does for the kinds in
 * for/owns/watches, and `inform(kind)` or `addIndex(kind, ...)` do explicitly. Reading a kind
 * nobody asked for throws, rather than answering "not found" from an empty cache.
 */
export class Cache {
  private readonly source: ListWatcher;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly informerOptions: InformerOptions;
  private readonly informers = new Map<string, Informer>();
  private readonly indexFns = new Map<string, IndexFn>();
  private started = false;

  constructor(deps: { source: ListWatcher; clock: Clock; log: Logger; informerOptions?: InformerOptions }) {
    this.source = deps.source;
    this.clock = deps.clock;
    this.log = deps.log;
    this.informerOptions = deps.informerOptions ?? {};
  }

  /** inform makes sure kind is cached and returns its informer (started at once if the cache runs). */
  inform<T extends KubeObject = KubeObject>(kind: string): Informer<T> {
    let inf = this.informers.get(kind);
    if (!inf) {
      inf = new Informer({ kind, source: this.source, clock: this.clock, log: this.log, ...this.informerOptions });
      this.informers.set(kind, inf);
      if (this.started) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  /** kinds lists the cached kinds. */
  kinds(): string[] {
    return [...this.informers.keys()];
  }

  /** get returns the cached object, or undefined when the server has no such object. */
  get<T extends KubeObject = KubeObject>(kind: string, name: string): T | undefined {
    return this.informer(kind).store.get(name) as T | undefined;
  }

  /** list returns the cached objects of kind, optionally only those with the given labels. */
  list<T extends KubeObject = KubeObject>(kind: string, opts: CacheListOptions = {}): T[] {
    const all = this.informer(kind).store.list() as T[];
    const labels = opts.labels;
    if (!labels) return all;
    const want = Object.entries(labels);
    return all.filter((o) => want.every(([k, v]) => o.metadata.labels?.[k] === v));
  }

  /**
   * addIndex indexes kind by fn under indexName (fn returns the values an object is found under).
   * Adding the same index name twice for a kind is a no-op when the function is the same, else an error.
   */
  addIndex<T extends KubeObject = KubeObject>(kind: string, indexName: string, fn: IndexFn<T>): void {
    const store = this.inform<T>(kind).store;
    if (store.hasIndex(indexName)) {
      if (this.indexFns.get(`${kind}/${indexName}`) === fn) return;
      throw new Error(`index ${JSON.stringify(indexName)} already exists on ${kind}`);
    }
    store.addIndex(indexName, fn);
    this.indexFns.set(`${kind}/${indexName}`, fn as IndexFn);
  }

  /** byIndex lists the cached objects of kind that indexName maps to value. */
  byIndex<T extends KubeObject = KubeObject>(kind: string, indexName: string, value: string): T[] {
    return this.informer(kind).store.byIndex(indexName, value) as T[];
  }

  /** start starts every informer, and any added later. */
  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  /** waitForSync resolves once every informer has stored its first list. */
  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  /** hasSynced is true when every informer has stored its first list. */
  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  stop(): void {
    this.started = false;
    for (const inf of this.informers.values()) inf.stop();
  }

  private informer(kind: string): Informer {
    const inf = this.informers.get(kind);
    if (!inf) {
      throw new Error(`kind ${kind} is not cached: add it to a controller (for/owns/watches) or call cache.inform('${kind}')`);
    }
    return inf;
  }
}
