// Batches of many files for the channel tests: a local tree with nested directories and
// varied modes, and its listing (kinds, modes, sizes, mtimes, checksums) as seen from inside a
// container, to compare one with the other exactly.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

const fileModes = [0o644, 0o755, 0o600, 0o640, 0o700];
const dirModes = [0o755, 0o750, 0o700];

/** makeTree writes n files below dir, in nested directories, with varied modes and contents. */
export async function makeTree(dir: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const sub = path.join(dir, `d${i % 7}`, `e${i % 3}`);
    await fsp.mkdir(sub, { recursive: true });
    const file = path.join(sub, `f${i}.txt`);
    const body = i % 11 === 0 ? Buffer.from(Array.from({ length: 300 + i }, (_, k) => (k * 7 + i) & 0xff)) : `file ${i}\n`.repeat(1 + (i % 5));
    await fsp.writeFile(file, body);
    await fsp.chmod(file, fileModes[i % fileModes.length]!);
  }
  for (let d = 0; d < 7; d++) {
    for (let e = 0; e < 3; e++) {
      const sub = path.join(dir, `d${d}`, `e${e}`);
      if (await fsp.stat(sub).catch(() => null)) await fsp.chmod(sub, dirModes[(d + e) % dirModes.length]!);
    }
  }
}

/**
 * listingCommand lists a tree inside a container, in the form localListing gives: directories
 * with their mode, files with mode, size and mtime, symlinks with their target, then checksums.
 */
export function listingCommand(dir: string, withMtime = true): string[] {
  const q = `'${dir.replace(/'/g, `'\\''`)}'`;
  const mtime = withMtime ? ' %Y' : '';
  return [
    'sh',
    '-c',
    `cd ${q} && export LC_ALL=C && find . -type d -print0 | sort -z | xargs -0 stat -c 'd %n %a' && find . -type f -print0 | sort -z | xargs -0 stat -c 'f %n %a %s${mtime}' && ` +
      `for l in $(find . -type l | sort); do echo "l $l $(readlink "$l")"; done && find . -type f -print0 | sort -z | xargs -0 md5sum`,
  ];
}

/** localListing is listingCommand's output for the same tree on this machine. */
export async function localListing(dir: string, withMtime = true): Promise<string> {
  const all: { name: string; st: import('node:fs').Stats; abs: string }[] = [];
  const walk = async (rel: string) => {
    const abs = path.join(dir, rel);
    const st = await fsp.lstat(abs);
    all.push({ name: rel === '' ? '.' : `./${rel}`, st, abs });
    if (st.isDirectory()) for (const c of await fsp.readdir(abs)) await walk(rel === '' ? c : `${rel}/${c}`);
  };
  await walk('');
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  all.sort(byName);
  const mode = (st: import('node:fs').Stats) => (st.mode & 0o7777).toString(8);
  const lines: string[] = [];
  for (const e of all) if (e.st.isDirectory()) lines.push(`d ${e.name} ${mode(e.st)}`);
  for (const e of all) if (e.st.isFile()) lines.push(`f ${e.name} ${mode(e.st)} ${e.st.size}${withMtime ? ` ${Math.floor(e.st.mtimeMs / 1000)}` : ''}`);
  for (const e of all) if (e.st.isSymbolicLink()) lines.push(`l ${e.name} ${await fsp.readlink(e.abs)}`);
  for (const e of all) if (e.st.isFile()) lines.push(`${createHash('md5').update(await fsp.readFile(e.abs)).digest('hex')}  ${e.name}`);
  return lines.join('\n') + '\n';
}
