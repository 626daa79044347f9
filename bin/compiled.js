// Which code bin/ferry.js runs: the compiled JavaScript in dist/ (made by `npm run build`, which
// writes the stamp dist/.built last) or the TypeScript sources through tsx's loader. Decided
// from at most three stats, never by reading the source tree:
// - no src/ beside bin/: an installed package, which ships dist/ only. dist/.
// - FERRY_FROM_SOURCE=1 (the tests set it): the sources.
// - a source checkout: dist/ when the stamp is newer than git's index, which every checkout,
//   merge, pull, commit and `git add` rewrites; the sources otherwise, and when there is no
//   stamp. Without git, the stamp alone says dist/ is current.
// An edit that is not yet staged does not touch the index: after one, run `npm run build` (as
// `npm run serve` and `npm run bench` do) or set FERRY_FROM_SOURCE=1.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** mtimeOf is a file's modification time in ms, or undefined when it does not exist. */
function mtimeOf(file) {
  return fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;
}

/** gitIndexOf is the index file of the git checkout at dir: .git/index, or in a linked worktree (.git is a file naming its git directory) that directory's index. */
function gitIndexOf(dir) {
  const dotGit = path.join(dir, '.git');
  const st = fs.statSync(dotGit, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (st.isDirectory()) return path.join(dotGit, 'index');
  const gitdir = /^gitdir:\s*(.+?)\s*$/m.exec(fs.readFileSync(dotGit, 'utf8'))?.[1];
  return gitdir ? path.join(path.resolve(dir, gitdir), 'index') : undefined;
}

export function compiledIsFresh(dir = root, env = process.env) {
  if (!fs.existsSync(path.join(dir, 'src'))) return true;
  if (env.FERRY_FROM_SOURCE) return false;
  const built = mtimeOf(path.join(dir, 'dist', '.built'));
  if (built === undefined) return false;
  const index = gitIndexOf(dir);
  const changed = index === undefined ? undefined : mtimeOf(index);
  return changed === undefined || changed <= built;
}
