#!/usr/bin/env node
// ferry runs its compiled JavaScript (dist/, made by `npm run build`) when that is up to date
// with the sources, else the TypeScript sources through tsx's loader.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function newestSource(dir) {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

function compiledIsFresh() {
  const stamp = path.join(root, 'dist', '.built');
  if (process.env.FERRY_FROM_SOURCE || !fs.existsSync(stamp)) return false;
  const built = fs.statSync(stamp).mtimeMs;
  return ['src', 'controllers'].every((d) => newestSource(path.join(root, d)) <= built);
}

let main;
if (compiledIsFresh()) {
  ({ main } = await import(path.join(root, 'dist/src/main.js')));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/main.ts'));
}
process.exitCode = await main();
