/**
 * Docker image references: parsing and normalising as the Docker CLI does (`foo` is
 * `docker.io/library/foo`, `user/foo` is `docker.io/user/foo`), and the "familiar" form that
 * drops the `docker.io/library/` prefix again.
 *
 * Grammar (distribution's reference grammar):
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [domain "/"] path-component ["/" path-component]*
 *   domain    := host [":" port]
 *   tag       := [\w][\w.-]{0,127}
 *   digest    := algorithm ":" hex (32 or more hex digits)
 */

/** defaultDomain is the registry a reference without a domain points at. */
export const defaultDomain = 'docker.io';
const legacyDefaultDomain = 'index.docker.io';
const officialRepoPrefix = 'library/';
const maxNameLength = 255;

const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainRe = `(?:${domainComponent}(?:\\.${domainComponent})*|${ipv6})(?::[0-9]+)?`;
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const tagRe = '[\\w][\\w.-]{0,127}';
const digestRe = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

const anchoredDomain = new RegExp(`^${domainRe}$`);
const anchoredPath = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const anchoredTag = new RegExp(`^${tagRe}$`);
const anchoredDigest = new RegExp(`^${digestRe}$`);
const anchoredIdentifier = /^[a-f0-9]{64}$/;

/** RefError is thrown for a string that is not a valid image reference. */
export class RefError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefError';
  }
}

/**
 * ImageRef is a parsed, normalised reference. `domain` is always set (`docker.io` by default)
 * and `path` carries `library/` for official Docker Hub images.
 */
export class ImageRef {
  constructor(
    readonly domain: string,
    readonly path: string,
    readonly tag?: string,
    readonly digest?: string,
  ) {}

  /** name is the normalised repository name, without tag or digest: `docker.io/library/foo`. */
  get name(): string {
    return `${this.domain}/${this.path}`;
  }

  /** familiarName is the name as users write it: `foo`, `user/foo`, `gcr.io/a/b`. */
  get familiarName(): string {
    if (this.domain !== defaultDomain) return this.name;
    const rest = this.path.slice(officialRepoPrefix.length);
    if (this.path.startsWith(officialRepoPrefix) && !rest.includes('/')) return rest;
    return this.path;
  }

  /** toString is the full normalised string: `docker.io/library/foo:1.0@sha256:...`. */
  toString(): string {
    return this.name + this.suffix();
  }

  /** familiarString is the full string as users write it: `foo:1.0`. */
  familiarString(): string {
    return this.familiarName + this.suffix();
  }

  /** withTag is this reference's name with the given tag (and no digest). */
  withTag(tag: string): ImageRef {
    if (!anchoredTag.test(tag)) throw new RefError(`invalid tag format: ${JSON.stringify(tag)}`);
    return new ImageRef(this.domain, this.path, tag);
  }

  /** nameOnly is this reference without tag or digest. */
  nameOnly(): ImageRef {
    return new ImageRef(this.domain, this.path);
  }

  private suffix(): string {
    return (this.tag ? `:${this.tag}` : '') + (this.digest ? `@${this.digest}` : '');
  }
}

/**
 * parseRef parses and normalises a reference as `docker` does, throwing RefError when it is
 * not one: uppercase in the repository, a bare 64-hex identifier, bad tag or digest.
 */
export function parseRef(s: string): ImageRef {
  if (typeof s !== 'string' || s === '') throw new RefError('invalid reference format: repository name must have at least one component');
  if (anchoredIdentifier.test(s)) {
    throw new RefError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!anchoredDigest.test(digest)) throw new RefError('invalid reference format');
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!anchoredTag.test(tag)) throw new RefError('invalid reference format');
  }

  let domain: string;
  let path: string;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = defaultDomain;
    path = rest;
  } else {
    domain = first;
    path = rest.slice(slash + 1);
  }
  if (domain === legacyDefaultDomain) domain = defaultDomain;
  if (domain === defaultDomain && !path.includes('/')) path = officialRepoPrefix + path;

  if (path.toLowerCase() !== path) {
    throw new RefError(`invalid reference format: repository name (${path}) must be lowercase`);
  }
  if (path === '' || path.startsWith('/')) throw new RefError('invalid reference format: repository name must have at least one component');
  if (!anchoredDomain.test(domain) || !anchoredPath.test(path)) throw new RefError('invalid reference format');
  if (domain.length + 1 + path.length > maxNameLength) {
    throw new RefError(`repository name must not be more than ${maxNameLength} characters`);
  }
  return new ImageRef(domain, path, tag, digest);
}

/** tryParseRef is parseRef that answers undefined instead of throwing. */
export function tryParseRef(s: string | undefined): ImageRef | undefined {
  if (!s) return undefined;
  try {
    return parseRef(s);
  } catch {
    return undefined;
  }
}

/**
 * parseNamedTagged parses a reference that must carry a tag, with Tilt's message when it has
 * none: `Expected reference "999" to contain a tag`.
 */
export function parseNamedTagged(s: string): ImageRef {
  let ref: ImageRef;
  try {
    ref = parseRef(s);
  } catch (err) {
    throw new RefError(`Parsing ${s}: ${(err as Error).message}`);
  }
  if (!ref.tag) throw new RefError(`Expected reference ${JSON.stringify(s)} to contain a tag`);
  return ref;
}

/** familiarName is the familiar name (no tag, no digest) of a reference string: `nginx` for `docker.io/library/nginx:1`. */
export function familiarName(ref: string | ImageRef): string {
  return toRef(ref).familiarName;
}

/** familiarString is the familiar form of a whole reference: `nginx:1` for `docker.io/library/nginx:1`. */
export function familiarString(ref: string | ImageRef): string {
  return toRef(ref).familiarString();
}

/**
 * refNamesEqual is true when both references name the same repository, ignoring tags and
 * digests (`nginx` and `docker.io/library/nginx:1.2`). An unparseable side is never equal.
 */
export function refNamesEqual(a: string | ImageRef, b: string | ImageRef): boolean {
  const ra = typeof a === 'string' ? tryParseRef(a) : a;
  const rb = typeof b === 'string' ? tryParseRef(b) : b;
  return !!ra && !!rb && ra.name === rb.name;
}

function toRef(ref: string | ImageRef): ImageRef {
  return typeof ref === 'string' ? parseRef(ref) : ref;
}
