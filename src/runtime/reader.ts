import type { KubeObject } from '../apis/meta.ts';

/**
 * Reader reads one object by kind and name, undefined when it does not exist. The shared
 * Cache (from memory) and the Client (from the server) both satisfy it, so a reconciler reads
 * through a Reader and whoever builds it chooses which. `read` gives the object its type.
 */
export interface Reader {
  get(kind: string, name: string): KubeObject | undefined | Promise<KubeObject | undefined>;
}

/** read reads kind/name through reader as a T (the kind's type). */
export async function read<T extends KubeObject>(reader: Reader, kind: string, name: string): Promise<T | undefined> {
  return (await reader.get(kind, name)) as T | undefined;
}
