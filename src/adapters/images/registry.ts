/**
 * Registry rewriting and content tags: where a built image goes, as seen from this machine
 * (the local ref) and from the cluster's container runtime (the cluster ref).
 *
 * Given a registry host `H`, the image `gcr.io/foo/bar` is pushed as `H/gcr.io_foo_bar`
 * (`/`, `:` and `@` in the familiar name become `_`). A reference already under `H/` keeps its
 * name. A registry with a `singleName` takes every image under `H/<singleName>`, and the
 * original name moves into the tag: `<escaped name>-<tag>`.
 */
import { ImageRef, RefError, parseRef } from './reference.ts';

/** Registry is the part of a Cluster's RegistryHosting that decides image names. */
export interface Registry {
  /** host is the registry as seen from this machine, e.g. `localhost:5000`. */
  host: string;
  /** hostFromContainerRuntime is the registry as the cluster's runtime sees it; defaults to host. */
  hostFromContainerRuntime?: string;
  /** singleName, when set, is the one repository name the registry accepts. */
  singleName?: string;
}

/** contentTagPrefix starts every tag ferry derives from an image's content. */
export const contentTagPrefix = 'tilt-';

/** escapeName makes a familiar name usable as one path component: `/`, `:` and `@` become `_`. */
export function escapeName(name: string): string {
  return name.replace(/[/:@]/g, '_');
}

/**
 * contentTag is `tilt-<first 16 hex digits of the image id>`, the tag that names an image by
 * its content. It throws when the id has fewer than 16 hex digits.
 */
export function contentTag(imageId: string): string {
  const hex = imageId.includes(':') ? imageId.slice(imageId.indexOf(':') + 1) : imageId;
  if (!/^[0-9a-f]{16}/i.test(hex)) throw new RefError(`Digest too short: ${JSON.stringify(imageId)}`);
  return contentTagPrefix + hex.slice(0, 16).toLowerCase();
}

/**
 * RefSet is the set of names of one image: the reference the user configured, and where it
 * lives locally and in the cluster once a registry is taken into account.
 */
export class RefSet {
  /** localRef is the name (no tag) the image gets on this machine, registry included. */
  readonly localRef: ImageRef;
  /** clusterRef is the name (no tag) the cluster's container runtime pulls. */
  readonly clusterRef: ImageRef;

  constructor(
    readonly configurationRef: ImageRef,
    readonly registry?: Registry,
  ) {
    const host = registry?.host ?? '';
    this.localRef = replaceRegistry(host, configurationRef, registry?.singleName);
    const clusterHost = registry?.hostFromContainerRuntime || host;
    this.clusterRef = clusterHost === host ? this.localRef : replaceRegistry(clusterHost, configurationRef, registry?.singleName, host);
  }

  /** hasRegistry is true when images are renamed for a registry. */
  get hasRegistry(): boolean {
    return !!this.registry?.host;
  }

  /** withoutRegistry is the same configured reference with no registry. */
  withoutRegistry(): RefSet {
    return new RefSet(this.configurationRef);
  }

  /**
   * tagged gives the local and cluster references with the tag. With a singleName registry the
   * tag carries the escaped original name as a prefix.
   */
  tagged(tag: string): { local: ImageRef; cluster: ImageRef } {
    const t = this.registry?.host && this.registry.singleName ? `${escapeName(this.configurationRef.familiarName)}-${tag}` : tag;
    return { local: this.localRef.withTag(t), cluster: this.clusterRef.withTag(t) };
  }
}

/**
 * replaceRegistry names ref under the registry host (see the module comment). `alsoHost` is a
 * second host under which a reference is taken to be already placed (the local host when
 * computing the cluster name): its prefix is swapped for `host`.
 */
export function replaceRegistry(host: string, ref: ImageRef, singleName?: string, alsoHost?: string): ImageRef {
  if (!host) return ref.nameOnly();
  const name = ref.familiarName;
  if (name.startsWith(`${host}/`)) return ref.nameOnly();
  if (alsoHost && name.startsWith(`${alsoHost}/`)) return parseRef(`${host}/${name.slice(alsoHost.length + 1)}`);
  if (singleName) return parseRef(`${host}/${singleName}`);
  return parseRef(`${host}/${escapeName(name)}`);
}

/**
 * clusterRefFor is the cluster's view of a local reference: the registry host swapped for
 * hostFromContainerRuntime when the reference lives under the registry's host.
 */
export function clusterRefFor(local: ImageRef, registry?: Registry): ImageRef {
  const from = registry?.host;
  const to = registry?.hostFromContainerRuntime;
  if (!from || !to || to === from) return local;
  const s = local.familiarString();
  if (!s.startsWith(`${from}/`)) return local;
  return parseRef(`${to}/${s.slice(from.length + 1)}`);
}
