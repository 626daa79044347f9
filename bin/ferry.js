#!/usr/bin/env node
// ferry runs its compiled JavaScript (dist/) when there is no source tree beside it or dist/ is
// current (see compiled.js), else the TypeScript sources through tsx's loader.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { compiledIsFresh, root } from './compiled.js';

let main;
if (compiledIsFresh()) {
  ({ main } = await import(pathToFileURL(path.join(root, 'dist/src/main.js')).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/main.ts'));
}
process.exitCode = await main();
