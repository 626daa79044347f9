import path from 'node:path';
import dockerignoreModule, { type Ignore } from '@balena/dockerignore';
import type { IgnoreDef } from '../../apis/index.ts';

// The package is CommonJS: its factory is module.exports, also exported as `default`.
const dockerignore = dockerignoreModule.default;

/**
 * IgnoreMatcher answers whether a changed path is ignored. Paths are absolute.
 * `matchesEntireDir` is true only when the directory and everything that could ever appear
 * under it is ignored, so a watcher may skip the directory without losing an event.
 */
export interface IgnoreMatcher {
  matches(absPath: string): boolean;
  matchesEntireDir(absDir: string): boolean;
}

/**
 * editorTempPatterns are the files editors write while saving, always ignored (rooted at `/`):
 * JetBrains, Emacs, Vim, Kate and Go's temporary files.
 */
export const editorTempPatterns = [
  '**/*___jb_old___',
  '**/*___jb_tmp___',
  '**/.idea/**',
  '**/.#*',
  '**/#*#',
  '**/flymake_*.*',
  '**/4913',
  '**/*~',
  '**/.*.swp',
  '**/.*.swx',
  '**/.*.swo',
  '**/.*.swn',
  '**/.*.kate-swp',
  '**/*-go-tmp-umask',
] as const;

/**
 * createIgnoreMatcher builds the matcher of a FileWatch's `spec.ignores`: a path is ignored when
 * any definition ignores it, or when it is an editor temp file (editorTempPatterns).
 *
 * Each definition with patterns follows .dockerignore rules rooted at its basePath: relative
 * patterns are joined to basePath (absolute ones are kept), `*` and `?` never cross `/`, `**`
 * spans directories, the last matching pattern wins, `!` re-includes, and a match covers every
 * descendant. `*.txt` therefore matches only directly under basePath; `**\/*.txt` at any depth.
 * A definition without patterns ignores basePath and everything under it. Exclusions apply only
 * within their own definition. A definition whose patterns do not compile is dropped.
 */
export function createIgnoreMatcher(ignores: readonly IgnoreDef[] = []): IgnoreMatcher {
  const members: IgnoreMatcher[] = [];
  for (const def of ignores) {
    if (!def.basePath) continue;
    const base = path.resolve(def.basePath);
    const patterns = (def.patterns ?? []).map((p) => p.trim()).filter((p) => p !== '');
    if (patterns.length === 0) {
      members.push(new DirectoryMatcher(base));
      continue;
    }
    const m = PatternMatcher.tryCreate(base, patterns);
    if (m) members.push(m);
  }
  members.push(new EditorTempMatcher());
  return {
    matches: (p) => {
      const abs = clean(p);
      return members.some((m) => m.matches(abs));
    },
    matchesEntireDir: (d) => {
      const abs = clean(d);
      return members.some((m) => m.matchesEntireDir(abs));
    },
  };
}

/** clean makes p absolute and normalized, skipping the work for paths that already are. */
function clean(p: string): string {
  if (p.startsWith('/') && !p.includes('//') && !p.includes('/.') && !(p.length > 1 && p.endsWith('/'))) return p;
  return path.resolve(p);
}

/** isUnder is true when p is dir itself or lies below it. */
export function isUnder(p: string, dir: string): boolean {
  if (dir === '/') return p.startsWith('/');
  return p === dir || p.startsWith(dir + '/');
}

class DirectoryMatcher implements IgnoreMatcher {
  constructor(private readonly dir: string) {}
  matches(absPath: string): boolean {
    return isUnder(absPath, this.dir);
  }
  matchesEntireDir(absDir: string): boolean {
    return isUnder(absDir, this.dir);
  }
}

/**
 * EditorTempMatcher matches editorTempPatterns. Every one of them is `**\/<name glob>` (or
 * `**\/.idea/**`), so with the implicit descendant rule a path matches when any of its components
 * matches a name glob (or a component before the last is `.idea`). Checking components directly
 * is equivalent to the dockerignore evaluation (the tests compare both) and much faster.
 */
class EditorTempMatcher implements IgnoreMatcher {
  matches(absPath: string): boolean {
    const parts = absPath.split('/');
    for (let i = 1; i < parts.length; i++) {
      const part = parts[i]!;
      if (part === '') continue;
      if (isEditorTempName(part)) return true;
      if (part === '.idea' && i < parts.length - 1 && parts[i + 1] !== '') return true;
    }
    return false;
  }

  matchesEntireDir(absDir: string): boolean {
    return this.matches(absDir) || this.matches(absDir + '/x');
  }
}

/** isEditorTempName is true when a file name matches one of editorTempPatterns' name globs. */
function isEditorTempName(n: string): boolean {
  const first = n[0];
  if (first === '.') {
    if (n[1] === '#') return true; // .#*
    if (n.length >= 5 && (n.endsWith('.swp') || n.endsWith('.swx') || n.endsWith('.swo') || n.endsWith('.swn'))) return true;
    if (n.length >= 10 && n.endsWith('.kate-swp')) return true;
  } else if (first === '#') {
    if (n.length >= 2 && n.endsWith('#')) return true; // #*#
  } else if (n.startsWith('flymake_') && n.indexOf('.', 8) >= 0) {
    return true; // flymake_*.*
  }
  return (
    n === '4913' ||
    n.endsWith('~') ||
    n.endsWith('___jb_old___') ||
    n.endsWith('___jb_tmp___') ||
    n.endsWith('-go-tmp-umask')
  );
}

/** The number of distinct paths after which the dockerignore cache is dropped (it never shrinks). */
const cacheLimit = 10_000;

interface Rule {
  exclusion: boolean;
  /** The absolute pattern, without `!`. */
  pattern: string;
}

/**
 * PatternMatcher is one IgnoreDef with patterns. Matching is done by @balena/dockerignore on
 * absolute paths with their leading `/` removed, and patterns made absolute the same way, so
 * rooting at basePath is a plain join.
 */
class PatternMatcher implements IgnoreMatcher {
  private ig: Ignore;
  private uses = 0;
  /** scope is the deepest directory holding everything a pattern can match. */
  private readonly scope: string;

  private constructor(
    private readonly lines: string[],
    private readonly rules: Rule[],
  ) {
    this.ig = this.build();
    this.scope = commonAncestor(rules.map((r) => literalPrefix(r.pattern)));
  }

  static tryCreate(base: string, patterns: readonly string[]): PatternMatcher | undefined {
    const rules: Rule[] = patterns.map((raw) => {
      const exclusion = raw.startsWith('!');
      const body = exclusion ? raw.slice(1).trim() : raw;
      const joined = path.isAbsolute(body) ? path.normalize(body) : path.join(base, body);
      return { exclusion, pattern: joined.length > 1 ? joined.replace(/\/+$/, '') : joined };
    });
    const lines = rules.map((r) => (r.exclusion ? '!' : '') + escapeRegexChars(r.pattern.slice(1) || '.'));
    const m = new PatternMatcher(lines, rules);
    try {
      // The library compiles each rule on first use: use every rule once now, so a pattern that
      // does not compile drops its definition here rather than throwing during a watch.
      m.ig.ignores('a');
      m.ig.ignores('a/b');
    } catch {
      return undefined;
    }
    return m;
  }

  private build(): Ignore {
    return dockerignore({ ignorecase: false }).add(this.lines);
  }

  matches(absPath: string): boolean {
    if (absPath === '/' || !isUnder(absPath, this.scope)) return false;
    if (++this.uses > cacheLimit) {
      this.ig = this.build();
      this.uses = 0;
    }
    return this.ig.ignores(absPath.slice(1));
  }

  matchesEntireDir(absDir: string): boolean {
    if (!this.matches(absDir)) return false;
    for (const r of this.rules) {
      if (!r.exclusion) continue;
      // An exclusion that names something below the directory re-includes it.
      if (isUnder(r.pattern, absDir)) return false;
      // An exclusion whose fixed prefix contains the directory might match something below it.
      const prefix = literalPrefix(r.pattern);
      if (isUnder(absDir, prefix)) return false;
    }
    return true;
  }
}

/** literalPrefix is the leading path of a pattern up to the first component with a glob character. */
function literalPrefix(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const part of parts) {
    if (/[*?[\\]/.test(part)) break;
    fixed.push(part);
  }
  return fixed.join('/') || '/';
}

/** commonAncestor is the deepest directory that is, or is above, each of the paths. */
function commonAncestor(paths: readonly string[]): string {
  if (paths.length === 0) return '/';
  let parts = paths[0]!.split('/').filter(Boolean);
  for (const p of paths.slice(1)) {
    const other = p.split('/').filter(Boolean);
    let i = 0;
    while (i < parts.length && i < other.length && parts[i] === other[i]) i++;
    parts = parts.slice(0, i);
  }
  return '/' + parts.join('/');
}

/**
 * escapeRegexChars escapes the characters that are literal in .dockerignore but would be regex
 * syntax in the library's translation (`+ ( ) | { }`); `\x` escapes are kept as they are.
 */
function escapeRegexChars(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) {
      out += ch + pattern[i + 1];
      i++;
    } else if ('+()|{}'.includes(ch)) {
      out += '\\' + ch;
    } else {
      out += ch;
    }
  }
  return out;
}
