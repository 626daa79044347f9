/**
 * bin/ferry.js runs dist/ or the sources, decided from a few stats (bin/compiled.js): an
 * installed package runs dist/ and needs no tsx; a source checkout runs dist/ only while the
 * build stamp is newer than git's index.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compiledIsFresh } from '../../bin/compiled.js';

const repo = path.resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
const noEnv = {};

/** layout makes a copy of bin/ beside stub entry points: dist/src/main.js prints "dist", src/main.ts prints "src". */
function layout(opts: { sources: boolean; stamp?: number; git?: 'dir' | 'worktree'; index?: number; nodeModules?: boolean }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bin-'));
  dirs.push(dir);
  fs.cpSync(path.join(repo, 'bin'), path.join(dir, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'dist/src'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'dist/src/main.js'), 'export async function main() { console.log("dist"); return 0; }\n');
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  if (opts.sources) {
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(path.join(dir, 'src/main.ts'), 'export async function main(): Promise<number> { console.log("src"); return 0; }\n');
  }
  if (opts.nodeModules) fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  const at = (file: string, seconds: number) => {
    fs.writeFileSync(file, '');
    fs.utimesSync(file, seconds, seconds);
  };
  if (opts.stamp !== undefined) at(path.join(dir, 'dist/.built'), opts.stamp);
  if (opts.git === 'dir') {
    fs.mkdirSync(path.join(dir, '.git'));
    if (opts.index !== undefined) at(path.join(dir, '.git/index'), opts.index);
  } else if (opts.git === 'worktree') {
    // A linked worktree: .git is a file naming the worktree's git directory, relative here.
    fs.mkdirSync(path.join(dir, 'gitdir'));
    fs.writeFileSync(path.join(dir, '.git'), 'gitdir: gitdir\n');
    if (opts.index !== undefined) at(path.join(dir, 'gitdir/index'), opts.index);
  }
  return dir;
}

/** ferry runs the layout's bin/ferry.js and resolves with what it printed. */
function ferry(dir: string, env: Record<string, string> = {}): Promise<string> {
  const { FERRY_FROM_SOURCE: _, ...rest } = process.env;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(dir, 'bin/ferry.js')], { env: { ...rest, ...env } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim()));
  });
}

describe('bin/ferry.js', () => {
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('runs dist/ in an installed package (no src/), without tsx', async () => {
    // No node_modules at all: importing tsx would fail.
    const dir = layout({ sources: false });
    assert.equal(compiledIsFresh(dir, noEnv), true);
    assert.equal(await ferry(dir), 'dist');
  });

  it('runs the sources through tsx in a checkout that was never built', async () => {
    const dir = layout({ sources: true, git: 'dir', index: 1000, nodeModules: true });
    assert.equal(compiledIsFresh(dir, noEnv), false);
    assert.equal(await ferry(dir), 'src');
  });

  it('runs dist/ in a checkout built after git last changed its index', async () => {
    const dir = layout({ sources: true, stamp: 2000, git: 'dir', index: 1000, nodeModules: true });
    assert.equal(compiledIsFresh(dir, noEnv), true);
    assert.equal(await ferry(dir), 'dist');
    assert.equal(await ferry(dir, { FERRY_FROM_SOURCE: '1' }), 'src', 'FERRY_FROM_SOURCE=1 runs the sources');
  });

  it('runs the sources once git changed its index after the build', () => {
    assert.equal(compiledIsFresh(layout({ sources: true, stamp: 1000, git: 'dir', index: 2000 }), noEnv), false);
  });

  it("reads a linked worktree's index through the .git file", () => {
    assert.equal(compiledIsFresh(layout({ sources: true, stamp: 2000, git: 'worktree', index: 1000 }), noEnv), true);
    assert.equal(compiledIsFresh(layout({ sources: true, stamp: 1000, git: 'worktree', index: 2000 }), noEnv), false);
  });

  it('trusts the stamp in a source tree without git', () => {
    assert.equal(compiledIsFresh(layout({ sources: true, stamp: 1000 }), noEnv), true);
    assert.equal(compiledIsFresh(layout({ sources: true }), noEnv), false);
  });
});
