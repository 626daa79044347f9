import type { KubeObject } from '../apis/meta.ts';

/** IndexFn maps an object to the values it is indexed under (none: not indexed). */
export type IndexFn<T extends KubeObject = KubeObject> = (obj: T) => string[];

/**
 * Store holds the objects of one kind by name, with named indexes over them. Objects are frozen
 * when stored: readers share them, so copy (structuredClone) before changing one.
 */
export class Store<T extends KubeObject = KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFn<T>>();
  /** indices: index name -> value -> names */
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  /** keysOf: index name -> object name -> the values it is indexed under */
  private readonly keysOf = new Map<string, Map<string, string[]>>();

  get(name: string): T | undefined {
    return this.objects.get(name);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  names(): string[] {
    return [...this.objects.keys()];
  }

  get size(): number {
    return this.objects.size;
  }

  /** set stores obj under its name (frozen), updating every index; returns the previous object. */
  set(obj: T): T | undefined {
    const name = obj.metadata.name ?? '';
    const old = this.objects.get(name);
    deepFreeze(obj);
    this.objects.set(name, obj);
    for (const [index, fn] of this.indexers) this.reindex(index, fn, name, obj);
    return old;
  }

  /** delete removes name, returning the object it held. */
  delete(name: string): T | undefined {
    const old = this.objects.get(name);
    if (!old) return undefined;
    this.objects.delete(name);
    for (const index of this.indexers.keys()) this.unindex(index, name);
    return old;
  }

  hasIndex(index: string): boolean {
    return this.indexers.has(index);
  }

  /** addIndex registers an index and indexes the objects already stored. Re-adding one is an error. */
  addIndex(index: string, fn: IndexFn<T>): void {
    if (this.indexers.has(index)) throw new Error(`index ${JSON.stringify(index)} already exists`);
    this.indexers.set(index, fn);
    this.indices.set(index, new Map());
    this.keysOf.set(index, new Map());
    for (const [name, obj] of this.objects) this.reindex(index, fn, name, obj);
  }

  /** byIndex lists the objects indexed under value in index. */
  byIndex(index: string, value: string): T[] {
    const values = this.indices.get(index);
    if (!values) throw new Error(`no index ${JSON.stringify(index)}`);
    const names = values.get(value);
    if (!names) return [];
    const out: T[] = [];
    for (const n of names) {
      const obj = this.objects.get(n);
      if (obj) out.push(obj);
    }
    return out;
  }

  private reindex(index: string, fn: IndexFn<T>, name: string, obj: T): void {
    this.unindex(index, name);
    let values: string[];
    try {
      values = [...new Set(fn(obj))];
    } catch {
      values = [];
    }
    if (values.length === 0) return;
    const byValue = this.indices.get(index)!;
    for (const v of values) {
      let names = byValue.get(v);
      if (!names) byValue.set(v, (names = new Set()));
      names.add(name);
    }
    this.keysOf.get(index)!.set(name, values);
  }

  private unindex(index: string, name: string): void {
    const keys = this.keysOf.get(index)!;
    const old = keys.get(name);
    if (!old) return;
    const byValue = this.indices.get(index)!;
    for (const v of old) {
      const names = byValue.get(v);
      names?.delete(name);
      if (names && names.size === 0) byValue.delete(v);
    }
    keys.delete(name);
  }
}

function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const child of Object.values(v)) deepFreeze(child);
}
