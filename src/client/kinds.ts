/**
 * The names of the kinds a server serves (Kind, plural, singular, short names), as discovery
 * (`/apis/tilt.dev/v1alpha1`) lists them, and name resolution as kubectl does it. The command line
 * learns them from the server, so it does not load the schemas of src/apis.
 */

export { apiVersion, group, version } from '../apis/names.ts';

/** KindNames are the names of one kind. */
export interface KindNames {
  kind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
}

/** KindSource says which kinds a server serves. */
export interface KindSource {
  kindNames(): Promise<KindNames[]>;
}

/** fromDiscovery reads an APIResourceList: its resources, without subresources. */
export function fromDiscovery(list: { resources?: Array<{ name: string; singularName?: string; shortNames?: string[]; kind: string }> }): KindNames[] {
  return (list.resources ?? [])
    .filter((r) => !r.name.includes('/'))
    .map((r) => ({ kind: r.kind, plural: r.name, singular: r.singularName || r.kind.toLowerCase(), shortNames: r.shortNames ?? [] }));
}

/** resolveKindName accepts what kubectl accepts: Kind, plural, singular or short name, any case, optionally with `.tilt.dev`. */
export function resolveKindName(kinds: KindNames[], name: string): KindNames | undefined {
  const n = name.toLowerCase().replace(/\.tilt\.dev$/, '');
  return kinds.find((k) => [k.kind, k.plural, k.singular, ...k.shortNames].some((x) => x.toLowerCase() === n));
}
