/**
 * ObjectStore holds every object in memory behind one global resourceVersion counter,
 * commits each change to Storage, keeps a bounded history of change events for watch
 * resumption and snapshot lists, and fans events out to subscribers.
 *
 * The history keeps past objects only as their JSON (the encoding made when they were written),
 * not also parsed: a replaced object is held once, and parsed again only when a watch resumes
 * from the past or a list reads it.
 *
 * Changes are group-committed: a write takes effect in memory at once (later writes see it),
 * and the writes of one turn of the event loop are committed together in one transaction.
 * Until then they are pending: nothing is emitted, and a caller answers its client only once
 * `committed()` resolves. Readers wait while `dirty`, so nobody sees an uncommitted change.
 * A commit that fails undoes its changes in memory and rejects their waiters.
 */
import type { KubeObject } from '../apis/meta.ts';
import type { Storage, StoredChange } from './storage.ts';
import { expired } from './errors.ts';
import { Fifo } from './fifo.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ChangeEvent {
  rv: number;
  resource: string;
  type: EventType;
  /** The object after the change (for DELETED: its last state, with the delete's rv). */
  object: KubeObject;
  /** The object before the change, if any. */
  prev?: KubeObject;
}

export type Subscriber = (ev: ChangeEvent) => void;

/** canonical returns a copy of v with object keys sorted, so equal objects serialise equally. */
export function canonical<T>(v: T): T {
  if (Array.isArray(v)) return v.map(canonical) as T;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canonical(x);
    }
    return out as T;
  }
  return v;
}

const clone = <T>(v: T): T => structuredClone(v);

/** The JSON of stored objects, made once when they are written and reused by every reader. */
const encoded = new WeakMap<object, string>();

/**
 * encode returns the JSON of obj. For an object the store holds, or handed out from a write
 * or a delete, that is the encoding made once when it was stored, so answers, lists and watch
 * fan-out do not serialise the same object again.
 */
export function encode(obj: object): string {
  return encoded.get(obj) ?? JSON.stringify(obj);
}

/** A retained change event: its objects are kept as their JSON only. */
interface Retained {
  rv: number;
  resource: string;
  name: string;
  type: EventType;
  json: string;
  prevJson?: string;
}

/**
 * historyCharge is what a retained event costs the history's byte bound: the length of the
 * JSON it holds. The JSON it replaced is usually the previous event's (one string, charged
 * twice), so the history holds at most, and for a run of updates about half, what it is charged.
 */
function historyCharge(r: Retained): number {
  return r.json.length + (r.prevJson?.length ?? 0);
}

/** revive parses a retained object again, remembering that json is its encoding. */
function revive(json: string): KubeObject {
  const obj = JSON.parse(json) as KubeObject;
  encoded.set(obj, json);
  return obj;
}

/** remember records obj's JSON (obj is stored and never modified) and returns it. */
function remember(obj: object): string {
  const json = JSON.stringify(obj);
  encoded.set(obj, json);
  return json;
}

/**
 * defaultHistoryBytes bounds the watch history by size: 64 MiB, charged as the JSON length of
 * the objects each event holds (see historyCharge). Objects of a few KiB, ferry's usual, leave
 * the count bound (10,000 events) as the one that binds; a run of 2.5 MiB updates keeps about a
 * dozen events in about 32 MiB instead of pinning 5 MiB per update until the heap runs out.
 * A watch from further back gets 410 Gone and relists: slower, still correct.
 */
export const defaultHistoryBytes = 64 * 1024 * 1024;

export interface ObjectStoreOptions {
  storage: Storage;
  /** historySize is how many change events are kept for watch resumption. Default 10,000. */
  historySize?: number;
  /**
   * historyBytes bounds the history by size: the JSON length of the objects its events hold.
   * Default defaultHistoryBytes (64 MiB).
   */
  historyBytes?: number;
  /** onSubscriberError hears of a subscriber that threw; the others still get the event. */
  onSubscriberError?: (err: unknown, ev: ChangeEvent) => void;
}

export class ObjectStore {
  private readonly storage: Storage;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  /** The retained events, oldest first. */
  private readonly history = new Fifo<Retained>();
  private historyCharged = 0;
  private readonly historySize: number;
  private readonly historyBytes: number;
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly anySubscribers = new Set<Subscriber>();
  private readonly onSubscriberError: (err: unknown, ev: ChangeEvent) => void;
  private rv: number;
  /** The oldest rv from which history is complete: events after it are all retained. */
  private historyFloor: number;
  /** Changes made in memory and not committed yet, with their events, in rv order. */
  private pending: Array<{ change: StoredChange; ev: ChangeEvent }> = [];
  private batch?: { done: Promise<void>; settle: (err?: Error) => void };

  constructor(opts: ObjectStoreOptions) {
    this.storage = opts.storage;
    this.historySize = opts.historySize ?? 10_000;
    this.historyBytes = opts.historyBytes ?? defaultHistoryBytes;
    this.onSubscriberError = opts.onSubscriberError ?? (() => undefined);
    const { rows, resourceVersion } = this.storage.load();
    for (const row of rows) {
      const obj = JSON.parse(row.json) as KubeObject;
      encoded.set(obj, row.json);
      this.bucket(row.resource).set(row.name, obj);
    }
    this.rv = resourceVersion;
    this.historyFloor = resourceVersion;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  private bucket(resource: string): Map<string, KubeObject> {
    let b = this.objects.get(resource);
    if (!b) {
      b = new Map();
      this.objects.set(resource, b);
    }
    return b;
  }

  /** get returns a copy of the stored object, or undefined. */
  get(resource: string, name: string): KubeObject | undefined {
    const o = this.objects.get(resource)?.get(name);
    return o && clone(o);
  }

  /** peek returns the stored object itself; callers must not modify it. */
  peek(resource: string, name: string): KubeObject | undefined {
    return this.objects.get(resource)?.get(name);
  }

  /** list returns the stored objects of a resource (not copies), sorted by name. */
  list(resource: string): KubeObject[] {
    const b = this.objects.get(resource);
    if (!b) return [];
    return [...b.values()].sort((a, c) => (a.metadata.name! < c.metadata.name! ? -1 : 1));
  }

  resources(): string[] {
    return [...this.objects.keys()];
  }

  /**
   * write stores obj (creating or replacing) under the next resourceVersion and returns
   * the stored object, which callers must not modify. The caller has already decided the
   * write is not a no-op; it answers once `committed()` resolves.
   */
  write(resource: string, obj: KubeObject): KubeObject {
    const name = obj.metadata.name!;
    const prev = this.objects.get(resource)?.get(name);
    const rv = this.rv + 1;
    const stored = canonical({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } });
    this.rv = rv;
    this.bucket(resource).set(name, stored);
    this.stage({ resource, name, json: remember(stored), rv }, { rv, resource, type: prev ? 'MODIFIED' : 'ADDED', object: stored, prev });
    return stored;
  }

  /**
   * remove deletes an object under the next resourceVersion and returns its last state
   * (not to be modified).
   */
  remove(resource: string, name: string): KubeObject | undefined {
    const prev = this.objects.get(resource)?.get(name);
    if (!prev) return undefined;
    const rv = this.rv + 1;
    this.rv = rv;
    this.objects.get(resource)!.delete(name);
    const last = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv) } };
    remember(last);
    this.stage({ resource, name, rv }, { rv, resource, type: 'DELETED', object: last, prev });
    return last;
  }

  private stage(change: StoredChange, ev: ChangeEvent): void {
    this.pending.push({ change, ev });
    if (this.batch) return;
    let settle!: (err?: Error) => void;
    const done = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
    done.catch(() => undefined); // a failure is reported to each waiter through committed()
    this.batch = { done, settle };
    setImmediate(() => this.flush());
  }

  /** dirty is true while changes are pending. */
  get dirty(): boolean {
    return this.pending.length > 0;
  }

  /**
   * committed resolves once every change made so far is committed, and rejects with the
   * storage's error if the commit failed (the changes are then undone).
   */
  committed(): Promise<void> {
    return this.batch?.done ?? Promise.resolve();
  }

  /** flush commits the pending changes, then emits their events (or undoes them). */
  flush(): void {
    const { pending, batch } = this;
    if (!batch) return;
    this.pending = [];
    this.batch = undefined;
    try {
      this.storage.commit(pending.map((p) => p.change));
    } catch (err) {
      for (let i = pending.length - 1; i >= 0; i--) {
        const { resource, object, prev } = pending[i].ev;
        if (prev) this.bucket(resource).set(prev.metadata.name!, prev);
        else this.objects.get(resource)?.delete(object.metadata.name!);
      }
      this.rv = pending[0].ev.rv - 1;
      batch.settle(err as Error);
      return;
    }
    for (const p of pending) this.emit(p.ev);
    batch.settle();
  }

  private emit(ev: ChangeEvent): void {
    this.retain(ev);
    for (const s of [...(this.subscribers.get(ev.resource) ?? []), ...this.anySubscribers]) {
      try {
        s(ev);
      } catch (err) {
        this.onSubscriberError(err, ev);
      }
    }
  }

  /**
   * retain appends ev to the history, then drops the oldest events until both bounds hold:
   * at most historySize events, and at most historyBytes charged (see historyCharge).
   */
  private retain(ev: ChangeEvent): void {
    const r: Retained = { rv: ev.rv, resource: ev.resource, name: ev.object.metadata.name!, type: ev.type, json: encode(ev.object), prevJson: ev.prev && encode(ev.prev) };
    this.history.push(r);
    this.historyCharged += historyCharge(r);
    while (this.history.length > this.historySize || this.historyCharged > this.historyBytes) {
      const dropped = this.history.shift();
      this.historyCharged -= historyCharge(dropped);
      this.historyFloor = dropped.rv;
    }
  }

  /** historyStats reports what the watch history holds: events, and bytes charged for them. */
  historyStats(): { events: number; bytes: number; oldestResumableRv: number } {
    return { events: this.history.length, bytes: this.historyCharged, oldestResumableRv: this.historyFloor };
  }

  /** subscribe calls fn for every change of the resource ('*' for all) until unsubscribed. */
  subscribe(resource: string, fn: Subscriber): () => void {
    if (resource === '*') {
      this.anySubscribers.add(fn);
      return () => this.anySubscribers.delete(fn);
    }
    let set = this.subscribers.get(resource);
    if (!set) {
      set = new Set();
      this.subscribers.set(resource, set);
    }
    set.add(fn);
    return () => set!.delete(fn);
  }

  /** checkResumable throws 410 Expired when events after rv are no longer all retained. */
  checkResumable(rv: number): void {
    if (rv < this.historyFloor || rv > this.rv) {
      throw expired(`too old resource version: ${rv} (${this.historyFloor + 1})`);
    }
  }

  /**
   * eventsSince returns the retained events of a resource with rv greater than `since`, their
   * objects parsed again from the retained JSON.
   */
  eventsSince(resource: string, since: number): ChangeEvent[] {
    return this.retainedSince(resource, since).map((r) => ({
      rv: r.rv,
      resource,
      type: r.type,
      object: revive(r.json),
      prev: r.prevJson === undefined ? undefined : revive(r.prevJson),
    }));
  }

  private retainedSince(resource: string, since: number): Retained[] {
    this.checkResumable(since);
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history.at(mid).rv <= since) lo = mid + 1;
      else hi = mid;
    }
    const out: Retained[] = [];
    for (let i = lo; i < this.history.length; i++) if (this.history.at(i).resource === resource) out.push(this.history.at(i));
    return out;
  }

  /**
   * snapshotAt returns the objects of a resource as they were at rv, by undoing the
   * retained events after it. Throws 410 Expired when history does not reach back to rv.
   */
  snapshotAt(resource: string, rv: number): KubeObject[] {
    if (rv === this.rv) return this.list(resource);
    const state = new Map(this.objects.get(resource) ?? []);
    // An object's state at rv is what the first change after rv replaced (or absent if it added it).
    const undone = new Set<string>();
    for (const r of this.retainedSince(resource, rv)) {
      if (undone.has(r.name)) continue;
      undone.add(r.name);
      if (r.type === 'ADDED') state.delete(r.name);
      else state.set(r.name, revive(r.prevJson!));
    }
    return [...state.values()].sort((a, c) => (a.metadata.name! < c.metadata.name! ? -1 : 1));
  }

  /** close commits what is pending, then closes the storage. */
  close(): void {
    this.flush();
    this.storage.close();
  }
}
