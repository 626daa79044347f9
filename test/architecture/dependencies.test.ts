/**
 * package.json's dependencies are what the installed ferry loads, no more and no less: every
 * package the code reachable from bin/ferry.js and src/main.ts imports (type-only imports are
 * erased, so they do not count) is a runtime dependency, and every runtime dependency is
 * imported by that code. Packages only tests, benchmarks and scripts use are devDependencies.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { importsOf, repo, type Import } from './imports.ts';

const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** reachable follows the imports that load code, from the entry points, and returns every one it met. */
function reachable(entries: string[]): Import[] {
  const seen = new Set<string>();
  const found: Import[] = [];
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of importsOf(file)) {
      if (imp.typeOnly) continue;
      found.push(imp);
      if (imp.to) queue.push(imp.to);
    }
  }
  return found;
}

// bin/ferry.js loads dist/src/main.js (compiled from src/main.ts) or src/main.ts itself.
const loaded = reachable(['bin/ferry.js', 'src/main.ts']);
const packages = new Map<string, string[]>();
for (const imp of loaded) if (imp.pkg) packages.set(imp.pkg, [...(packages.get(imp.pkg) ?? []), imp.from]);

describe('dependencies', () => {
  it('every package the installed ferry loads is a runtime dependency', () => {
    const missing = [...packages].filter(([name]) => !(name in pkg.dependencies)).map(([name, from]) =>
      `${name} is loaded by ${[...new Set(from)].join(', ')} but is ${name in pkg.devDependencies ? 'a devDependency' : 'not in package.json'}`);
    assert.deepEqual(missing, []);
  });

  it('every runtime dependency is loaded by the installed ferry', () => {
    // tsx: bin/ferry.js runs the sources through it in a checkout, and the Docker image runs the sources.
    const unused = Object.keys(pkg.dependencies).filter((name) => !packages.has(name))
      .map((name) => `${name} is a runtime dependency that nothing bin/ferry.js loads imports: make it a devDependency or remove it`);
    assert.deepEqual(unused, []);
  });
});
