/**
 * The layering of ARCHITECTURE.md, checked over every import of src/, controllers/ and bin/
 * (type-only imports too: they couple the code as much). Each rule is data with its reason; a
 * failure names the file, the import and the rule it breaks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { importsOf, sourceFiles, type Import } from './imports.ts';

/**
 * A Rule constrains the imports of the files it is `from`: a folder ending in '/', a file, or
 * `controllers/*` + '/' for each kind's folder. Imports inside the file's own part (its folder, or
 * its kind's folder) always pass, and so do packages and node builtins. `only` lists the parts it
 * may import besides; `never` the parts it may not.
 */
interface Rule {
  name: string;
  from: string[];
  only?: string[];
  never?: string[];
  why: string;
}

const top = ['src/main.ts', 'src/cli/', 'src/daemon.ts', 'src/controllers.ts'];

const rules: Rule[] = [
  { name: 'the schemas import nothing of ferry', from: ['src/apis/'], only: [],
    why: 'src/apis is the bottom layer: types, validation, OpenAPI documents and CRDs all come from it' },
  { name: 'the API server imports only the schemas', from: ['src/apiserver/'], only: ['src/apis/'],
    why: 'the API server stands alone on the schemas; everything else meets it over HTTP' },
  { name: 'the client imports only the schemas', from: ['src/client/'], only: ['src/apis/'],
    why: 'the client speaks the API and knows nothing that builds on it' },
  { name: 'the runtime imports no kind', from: ['src/runtime/'], never: ['controllers/'],
    why: 'the runtime is generic: kinds plug into it through their setup(), it names none' },
  { name: 'controllers reach the API only through the client', from: ['controllers/'], never: ['src/apiserver/'],
    why: 'a controller talks HTTP to the API server, as to any Kubernetes API server, never to its code' },
  { name: 'a kind imports no other kind', from: ['controllers/*/'], never: ['controllers/*/'],
    why: 'kinds meet through API objects, not through each other\'s code' },
  { name: 'the shared Tilt rules import only the schemas and the runtime', from: ['src/tilt/'], only: ['src/apis/', 'src/runtime/'],
    why: 'src/tilt holds what several kinds agree on (disable sources, reasons); it depends on no kind and no edge' },
  { name: 'adapters import no controller and no runtime', from: ['src/adapters/'], never: ['controllers/', 'src/runtime/'],
    why: 'adapters wrap outside systems (Docker, Compose, exec, tar, files) behind interfaces the kinds use' },
  { name: 'the dashboard is a client of the API', from: ['src/dashboard/'], only: ['src/apis/', 'src/client/', 'src/runtime/', 'src/tilt/', 'src/util/'],
    why: 'the dashboard reads the runtime\'s cache and writes through the client, as any client would; it never reaches into the API server or a kind' },
  { name: 'the daemon does not import the CLI', from: ['src/daemon.ts', 'src/controllers.ts'], never: ['src/cli/', 'src/main.ts'],
    why: 'CLI commands start a daemon (ferry serve, ferry ci), so imports point from the CLI to the daemon' },
  { name: 'nothing below the top imports it', from: ['src/apis/', 'src/apiserver/', 'src/client/', 'src/runtime/', 'src/tilt/', 'src/adapters/', 'src/util/', 'src/log.ts', 'src/dashboard/', 'controllers/'], never: top,
    why: 'src/main.ts, src/cli/ and the daemon wiring (src/daemon.ts, src/controllers.ts) sit on top and wire the rest' },
];

/**
 * Imports that break a rule today and are left for the change that removes them. Each entry
 * must still exist (the second test fails once it is gone: then delete the entry).
 */
const allowed: Array<{ from: string; to: string; rule: string }> = [
];

/** partOf is the concrete part of file a pattern names (a kind's folder for `controllers/*` + '/'), or undefined. */
function partOf(pattern: string, file: string): string | undefined {
  if (!pattern.includes('*')) return pattern.endsWith('/') ? (file.startsWith(pattern) ? pattern : undefined) : file === pattern ? pattern : undefined;
  const re = new RegExp(`^${pattern.replace('*', '[^/]+')}`);
  return re.exec(file)?.[0];
}

/** breaks lists the rules one import breaks. */
function breaks(imp: Import): Rule[] {
  const to = imp.to;
  if (!to) return [];
  return rules.filter((rule) => {
    const own = rule.from.map((p) => partOf(p, imp.from)).find((p) => p !== undefined);
    if (own === undefined || to === own || (own.endsWith('/') && to.startsWith(own))) return false;
    if (rule.only && !rule.only.some((p) => partOf(p, to))) return true;
    return !!rule.never?.some((p) => partOf(p, to));
  });
}

const files = sourceFiles('src', 'controllers', 'bin');
const imports = files.flatMap(importsOf);
const violations = imports.flatMap((imp) => breaks(imp).map((rule) => ({ imp, rule })));
const isAllowed = (v: { imp: Import; rule: Rule }) => allowed.some((a) => a.from === v.imp.from && a.to === v.imp.to && a.rule === v.rule.name);

describe('layering', () => {
  it('every import points the one way', () => {
    const problems = violations
      .filter((v) => !isAllowed(v))
      .map(({ imp, rule }) => `${imp.from} imports '${imp.specifier}' (${imp.to}): breaks "${rule.name}": ${rule.why}`);
    assert.equal(problems.length, 0, `\n${problems.join('\n')}`);
  });

  it('the allow-list holds only imports that still break their rule', () => {
    const stale = allowed
      .filter((a) => !violations.some((v) => v.imp.from === a.from && v.imp.to === a.to && v.rule.name === a.rule))
      .map((a) => `${a.from} -> ${a.to} no longer breaks "${a.rule}": delete its allow-list entry`);
    assert.equal(stale.length, 0, `\n${stale.join('\n')}`);
  });

  it('every rule names folders and files that exist', () => {
    const patterns = rules.flatMap((r) => [...r.from, ...(r.only ?? []), ...(r.never ?? [])]);
    const missing = patterns.filter((p) => !files.some((f) => partOf(p, f)));
    assert.deepEqual(missing, []);
    assert.ok(imports.length > 300, `read ${imports.length} imports from ${files.length} files`);
  });
});
