// compiledIsFresh says whether dist/ (made by `npm run build`) is up to date with the sources:
// built after every file of src/ and controllers/. FERRY_FROM_SOURCE=1 says no.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function newestSource(dir) {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

export function compiledIsFresh() {
  const stamp = path.join(root, 'dist', '.built');
  if (process.env.FERRY_FROM_SOURCE || !fs.existsSync(stamp)) return false;
  const built = fs.statSync(stamp).mtimeMs;
  return ['src', 'controllers'].every((d) => newestSource(path.join(root, d)) <= built);
}
