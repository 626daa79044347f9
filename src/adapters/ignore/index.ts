/** Ignore rules of FileWatch `spec.ignores` (.dockerignore semantics), shared with LiveUpdate's initial sync. */
export { createIgnoreMatcher, editorTempPatterns, isUnder, type IgnoreMatcher } from './matcher.ts';
