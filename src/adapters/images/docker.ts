/**
 * ImageClient is what building needs of a container engine's image store: look an image up,
 * tag it, push it. DockerodeImageClient implements it against the Docker Engine.
 */
import type Docker from 'dockerode';
import { parseRef } from './reference.ts';
import type { TaggedImage } from './prune.ts';

/** ImageInfo is what ferry reads of a local image. */
export interface ImageInfo {
  /** id is the image's content id, `sha256:<64 hex>`. */
  id: string;
}

/** ImageNotFoundError says the engine has no image by that reference. */
export class ImageNotFoundError extends Error {
  constructor(readonly ref: string) {
    super(`No such image: ${ref}`);
    this.name = 'ImageNotFoundError';
  }
}

/** ImageClient is the narrow image-store interface builds use; fakes implement it in tests. */
export interface ImageClient {
  /** inspect returns the image by reference or id; ImageNotFoundError when there is none. */
  inspect(ref: string): Promise<ImageInfo>;
  /** tag gives the image `source` (reference or id) the additional reference `target` (with a tag). */
  tag(source: string, target: string): Promise<void>;
  /** push pushes `ref` (with a tag) to its registry, reporting progress lines to onLine. */
  push(ref: string, onLine: (line: string) => void): Promise<void>;
  /** list returns the local images of a repository (a reference without tag), with their tags in it. */
  list(repository: string): Promise<TaggedImage[]>;
  /**
   * imagesInUse returns what containers (running or stopped) were made from: the image ids, and
   * the references they were created with, in one set.
   */
  imagesInUse(): Promise<Set<string>>;
  /** untag removes one reference (with a tag); the image goes with its last reference unless a container uses it. */
  untag(ref: string): Promise<void>;
}

interface PushEvent {
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: unknown;
}

/** DockerodeImageClient is the ImageClient over a Dockerode connection. */
export class DockerodeImageClient implements ImageClient {
  constructor(private readonly docker: Docker) {}

  async inspect(ref: string): Promise<ImageInfo> {
    try {
      const info = await this.docker.getImage(ref).inspect();
      return { id: info.Id };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw new ImageNotFoundError(ref);
      throw err;
    }
  }

  async tag(source: string, target: string): Promise<void> {
    const ref = parseRef(target);
    if (!ref.tag) throw new Error(`tag target ${JSON.stringify(target)} has no tag`);
    try {
      await this.docker.getImage(source).tag({ repo: ref.nameOnly().familiarString(), tag: ref.tag });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw new ImageNotFoundError(source);
      throw err;
    }
  }

  async list(repository: string): Promise<TaggedImage[]> {
    const images = await this.docker.listImages({ filters: JSON.stringify({ reference: [repository] }) } as Docker.ListImagesOptions);
    const repo = parseRef(repository).nameOnly().toString();
    return images.map((img) => ({
      id: img.Id,
      created: img.Created,
      tags: (img.RepoTags ?? []).flatMap((t) => {
        const r = parseRef(t);
        return r.tag && r.nameOnly().toString() === repo ? [r.tag] : [];
      }),
    }));
  }

  async imagesInUse(): Promise<Set<string>> {
    const containers = await this.docker.listContainers({ all: true });
    return new Set(containers.flatMap((c) => [c.ImageID, c.Image]));
  }

  async untag(ref: string): Promise<void> {
    try {
      await this.docker.getImage(ref).remove();
    } catch (err) {
      // Gone already, or kept by a container made from it meanwhile: nothing to do.
      const code = (err as { statusCode?: number }).statusCode;
      if (code !== 404 && code !== 409) throw err;
    }
  }

  async push(ref: string, onLine: (line: string) => void): Promise<void> {
    const parsed = parseRef(ref);
    const image = this.docker.getImage(parsed.nameOnly().familiarString());
    const stream = (await image.push({ tag: parsed.tag, authconfig: {} })) as NodeJS.ReadableStream;
    const seen = new Map<string, string>();
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, events: PushEvent[]) => {
          if (err) return reject(err);
          const failed = events.find((e) => e.error || e.errorDetail);
          if (failed) return reject(new Error(failed.errorDetail?.message || failed.error || 'push failed'));
          resolve();
        },
        (e: PushEvent) => {
          if (e.error || !e.status) return;
          // Progress bars repeat one status per layer: report each status change once.
          if (e.id) {
            if (seen.get(e.id) === e.status) return;
            seen.set(e.id, e.status);
            onLine(`${e.id}: ${e.status}`);
          } else {
            onLine(e.status);
          }
        },
      );
    });
  }
}
