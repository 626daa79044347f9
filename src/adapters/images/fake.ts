/**
 * FakeImageClient is an in-memory image store for tests: images are added by reference with an
 * id, and tag/push calls are recorded.
 */
import { ImageNotFoundError, type ImageClient, type ImageInfo } from './docker.ts';
import { parseRef } from './reference.ts';
import type { TaggedImage } from './prune.ts';

/** FakeImageClient implements ImageClient over a map from normalised reference to image id. */
export class FakeImageClient implements ImageClient {
  /** tags records every tag(source, target) call. */
  readonly tags: { source: string; target: string }[] = [];
  /** pushes records every pushed reference. */
  readonly pushes: string[] = [];
  /** pushError, when set, makes the next pushes fail with it. */
  pushError?: Error;
  /** untagged records every untag(ref) call. */
  readonly untagged: string[] = [];
  /** inUse are the image ids imagesInUse reports. */
  readonly inUse = new Set<string>();
  private readonly images = new Map<string, string>();

  /** add makes an image with this id available under ref (a reference or the id itself). */
  add(ref: string, id: string): void {
    this.images.set(key(ref), id);
    this.images.set(id, id);
  }

  /** has is true when ref names an image. */
  has(ref: string): boolean {
    return this.images.has(key(ref));
  }

  async inspect(ref: string): Promise<ImageInfo> {
    const id = this.images.get(key(ref));
    if (!id) throw new ImageNotFoundError(ref);
    return { id };
  }

  async tag(source: string, target: string): Promise<void> {
    const id = this.images.get(key(source));
    if (!id) throw new ImageNotFoundError(source);
    this.tags.push({ source, target });
    this.images.set(key(target), id);
  }

  async list(repository: string): Promise<TaggedImage[]> {
    const repo = parseRef(repository).nameOnly().toString();
    const byId = new Map<string, TaggedImage>();
    for (const [ref, id] of this.images) {
      if (ref === id) continue;
      const r = parseRef(ref);
      if (!r.tag || r.nameOnly().toString() !== repo) continue;
      const img = byId.get(id) ?? { id, created: 0, tags: [] };
      img.tags.push(r.tag);
      byId.set(id, img);
    }
    return [...byId.values()];
  }

  async imagesInUse(): Promise<Set<string>> {
    return new Set(this.inUse);
  }

  async untag(ref: string): Promise<void> {
    this.untagged.push(ref);
    this.images.delete(key(ref));
  }

  async push(ref: string, onLine: (line: string) => void): Promise<void> {
    if (this.pushError) throw this.pushError;
    if (!this.images.has(key(ref))) throw new Error(`An image does not exist locally with the tag: ${ref}`);
    this.pushes.push(ref);
    onLine(`${ref}: pushed`);
  }
}

function key(ref: string): string {
  if (/^sha256:[0-9a-f]+$/.test(ref)) return ref;
  const r = parseRef(ref);
  return r.tag || r.digest ? r.toString() : r.withTag('latest').toString();
}
