/**
 * Pruning old builds: every build leaves tags on its image (`tilt-build-<seconds>`, the content
 * tag `tilt-<hex>`). planPrune keeps the newest few images of a repository and names the tags
 * of the others to remove, never those of an image a container uses, and never tags ferry did
 * not make (`latest`, a user's own); an image it keeps keeps one build stamp, its newest.
 */

/** TaggedImage is one local image of a repository, with that repository's tags on it. */
export interface TaggedImage {
  /** id is the image id, `sha256:<hex>`. */
  id: string;
  /** created is when the image was made, in seconds since the epoch. */
  created: number;
  /** tags are the image's tags in the repository (the part after `:`). */
  tags: string[];
}

const buildTag = /^tilt-build-(\d+)$/;
const contentTagRe = /^tilt-[0-9a-f]{16}$/;

/** isStampTag is true for a build's time stamp tag, `tilt-build-<seconds>` (a build of unchanged content adds one). */
export function isStampTag(tag: string): boolean {
  return buildTag.test(tag);
}

/** isBuildTag is true for a tag ferry gives a build: `tilt-build-<seconds>` or `tilt-<16 hex>`. */
export function isBuildTag(tag: string): boolean {
  return buildTag.test(tag) || contentTagRe.test(tag);
}

/** PruneOptions say what planPrune keeps. */
export interface PruneOptions {
  /** keep is how many of the newest images keep their tags (at least 1). */
  keep: number;
  /**
   * inUse are the ids of images a container (running or not) was made from, and the references
   * it was created with: those images keep their newest build tag and every tag a container names.
   */
  inUse: ReadonlySet<string>;
  /** protect are image ids that keep their tags whatever their age (the build just made). */
  protect?: ReadonlySet<string>;
  /** repository is the images' repository, to know the tags of `inUse` (`<repository>:<tag>`). */
  repository?: string;
  /** mayRemove limits removal to these tags (`ferry ci` removes only what it made). Default: every build tag. */
  mayRemove?: (tag: string) => boolean;
}

/**
 * planPrune returns the tags to remove from a repository's images: the build tags of every image
 * but the `keep` newest (newest by its latest `tilt-build-` tag, else by creation), except images
 * in use or protected; and on the images that stay, every `tilt-build-` tag but the newest (an
 * image built again unchanged would otherwise gather one per build). A tag a container was
 * created with (`inUse` holds `<repository>:<tag>`) always stays.
 */
export function planPrune(images: TaggedImage[], opts: PruneOptions): string[] {
  const built = images
    .map((img) => {
      const tags = img.tags.filter(isBuildTag);
      const stamps = tags.map((t) => Number(buildTag.exec(t)?.[1] ?? 0));
      const stamped = stamps.filter((n) => n > 0);
      // A build stamp says when ferry last built it; an image built again unchanged keeps its old creation time.
      return { img, tags, at: stamped.length ? Math.max(...stamped) : img.created };
    })
    .filter((b) => b.tags.length > 0)
    .sort((a, b) => b.at - a.at);
  const keep = Math.max(1, opts.keep);
  const used = (tag: string) => opts.repository !== undefined && opts.inUse.has(`${opts.repository}:${tag}`);
  const remove: string[] = [];
  for (const [i, b] of built.entries()) {
    const stays = i < keep || opts.inUse.has(b.img.id) || !!opts.protect?.has(b.img.id);
    const drop = stays ? olderStamps(b.tags) : b.tags;
    for (const t of drop) if ((!opts.mayRemove || opts.mayRemove(t)) && !used(t)) remove.push(t);
  }
  return remove;
}

/** olderStamps are the `tilt-build-` tags among tags but the newest one. */
function olderStamps(tags: string[]): string[] {
  const stamped = tags.filter((t) => buildTag.test(t)).sort((a, b) => Number(buildTag.exec(b)![1]) - Number(buildTag.exec(a)![1]));
  return stamped.slice(1);
}
