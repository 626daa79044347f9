#!/usr/bin/env node
// ferry runs its compiled JavaScript (dist/, made by `npm run build`) when that is up to date
// with the sources, else the TypeScript sources through tsx's loader.
import path from 'node:path';
import { compiledIsFresh, root } from './compiled.js';

let main;
if (compiledIsFresh()) {
  ({ main } = await import(path.join(root, 'dist/src/main.js')));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/main.ts'));
}
process.exitCode = await main();
