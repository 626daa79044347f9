/**
 * ImageMap selectors: which image references an ImageMap's `spec.selector` stands for.
 *
 * By default a selector matches by name: tags and digests on both sides are ignored, so `nginx`
 * matches `nginx:1.2`, `library/nginx` and `docker.io/library/nginx@sha256:...`, but not
 * `myreg/nginx`. With `matchExact` the whole normalised strings must be equal, tag and digest
 * included: `foo` does not match `foo:latest` (no implicit `latest`).
 */
import { ImageRef, parseRef, tryParseRef } from './reference.ts';

/** SelectorSpec is the part of an ImageMap spec that decides matching. */
export interface SelectorSpec {
  selector: string;
  matchExact?: boolean;
}

/** RefSelector is a parsed selector. */
export class RefSelector {
  constructor(
    readonly ref: ImageRef,
    readonly exact: boolean,
  ) {}

  /** matches is true when the candidate reference is selected. */
  matches(candidate: ImageRef): boolean {
    return this.exact ? candidate.toString() === this.ref.toString() : candidate.name === this.ref.name;
  }

  toString(): string {
    return this.ref.familiarString();
  }
}

/** parseSelector parses an ImageMap spec's selector; it throws RefError when the selector is not a reference. */
export function parseSelector(spec: SelectorSpec): RefSelector {
  return new RefSelector(parseRef(spec.selector), !!spec.matchExact);
}

/** exactSelector selects exactly one reference (tag and digest included). */
export function exactSelector(ref: ImageRef): RefSelector {
  return new RefSelector(ref, true);
}

/**
 * selectorMatches is true when the ImageMap spec (`selector`, `matchExact`) selects the image
 * reference. An unparseable selector or reference matches nothing.
 */
export function selectorMatches(spec: SelectorSpec, ref: string | ImageRef): boolean {
  const sel = tryParseRef(spec.selector);
  const candidate = typeof ref === 'string' ? tryParseRef(ref) : ref;
  if (!sel || !candidate) return false;
  return new RefSelector(sel, !!spec.matchExact).matches(candidate);
}
