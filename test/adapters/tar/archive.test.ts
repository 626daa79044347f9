import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { planArchive, archiveName } from '../../../src/adapters/tar/archive.ts';

interface Read {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: Date;
  linkname: string | null;
  data: string;
}

async function readTar(stream: Readable): Promise<Read[]> {
  const extract = tarStream.extract();
  const out: Read[] = [];
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header;
      out.push({
        name: h.name,
        type: h.type ?? '',
        mode: h.mode ?? 0,
        uid: h.uid ?? -1,
        gid: h.gid ?? -1,
        uname: h.uname ?? '',
        gname: h.gname ?? '',
        mtime: h.mtime ?? new Date(0),
        linkname: h.linkname ?? null,
        data: Buffer.concat(chunks).toString(),
      });
    }
  })();
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

async function tmpdir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-tar-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a directory is archived with root-owned headers, modes, mtimes and no user names', async (t) => {
  const dir = await tmpdir(t);
  await fsp.mkdir(path.join(dir, 'src/sub'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'src/a.txt'), 'hello');
  await fsp.writeFile(path.join(dir, 'src/sub/run.sh'), '#!/bin/sh\n');
  await fsp.chmod(path.join(dir, 'src/sub/run.sh'), 0o755);
  await fsp.chmod(path.join(dir, 'src/a.txt'), 0o640);
  const when = new Date('2020-02-03T04:05:06Z');
  await fsp.utimes(path.join(dir, 'src/a.txt'), when, when);

  const plan = await planArchive([{ localPath: path.join(dir, 'src'), containerPath: '/app' }]);
  const entries = await readTar(plan.stream());
  assert.deepEqual(entries.map((e) => `${e.type} ${e.name}`), ['directory app', 'file app/a.txt', 'directory app/sub', 'file app/sub/run.sh']);
  for (const e of entries) {
    assert.equal(e.uid, 0);
    assert.equal(e.gid, 0);
    assert.equal(e.uname, '');
    assert.equal(e.gname, '');
  }
  const a = entries.find((e) => e.name === 'app/a.txt')!;
  assert.equal(a.data, 'hello');
  assert.equal(a.mode, 0o640);
  assert.equal(a.mtime.getTime(), when.getTime());
  assert.equal(entries.find((e) => e.name === 'app/sub/run.sh')!.mode, 0o755);
});

test('the same plan streams identically twice (one archive per container)', async (t) => {
  const dir = await tmpdir(t);
  await fsp.writeFile(path.join(dir, 'f'), 'x');
  const plan = await planArchive([{ localPath: path.join(dir, 'f'), containerPath: '/a/f' }]);
  assert.deepEqual(await readTar(plan.stream()), await readTar(plan.stream()));
});

test('a file synced into a path ending in / keeps its basename', async (t) => {
  const dir = await tmpdir(t);
  await fsp.writeFile(path.join(dir, 'main.go'), 'package main');
  const plan = await planArchive([{ localPath: path.join(dir, 'main.go'), containerPath: '/src/' }]);
  assert.deepEqual((await readTar(plan.stream())).map((e) => e.name), ['src/main.go']);
});

test('symlinks are stored as links and never followed, even out of the tree', async (t) => {
  const dir = await tmpdir(t);
  const outside = await tmpdir(t);
  await fsp.writeFile(path.join(outside, 'secret'), 'do not ship');
  await fsp.mkdir(path.join(dir, 'src'));
  await fsp.symlink(outside, path.join(dir, 'src/escape'));
  await fsp.symlink('../nowhere', path.join(dir, 'src/dangling'));
  const plan = await planArchive([{ localPath: path.join(dir, 'src'), containerPath: '/app' }]);
  const entries = await readTar(plan.stream());
  assert.deepEqual(entries.map((e) => `${e.type} ${e.name} ${e.linkname ?? ''}`), [
    'directory app ',
    'symlink app/dangling ../nowhere',
    `symlink app/escape ${outside}`,
  ]);
  assert.equal(entries.some((e) => e.data.includes('do not ship')), false);
});

test('sockets are skipped and reported', async (t) => {
  const dir = await tmpdir(t);
  await fsp.writeFile(path.join(dir, 'keep'), 'k');
  const sock = path.join(dir, 's.sock');
  const server = net.createServer().listen(sock);
  await new Promise<void>((r) => server.once('listening', () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const skipped: string[] = [];
  const plan = await planArchive([{ localPath: dir, containerPath: '/d' }], { onSkip: (p) => skipped.push(p) });
  assert.deepEqual((await readTar(plan.stream())).map((e) => e.name), ['d', 'd/keep']);
  assert.deepEqual(skipped, [sock]);
});

test('duplicate names: the last mapping wins and takes the last position', async (t) => {
  const dir = await tmpdir(t);
  await fsp.writeFile(path.join(dir, 'one'), '1');
  await fsp.writeFile(path.join(dir, 'two'), '2');
  await fsp.writeFile(path.join(dir, 'three'), '3');
  const plan = await planArchive([
    { localPath: path.join(dir, 'one'), containerPath: '/x' },
    { localPath: path.join(dir, 'three'), containerPath: '/y' },
    { localPath: path.join(dir, 'two'), containerPath: '/x' },
  ]);
  const entries = await readTar(plan.stream());
  assert.deepEqual(entries.map((e) => `${e.name}=${e.data}`), ['y=3', 'x=2']);
});

test('missing paths are skipped and a file deleted after planning leaves a valid archive', async (t) => {
  const dir = await tmpdir(t);
  await fsp.writeFile(path.join(dir, 'gone-later'), 'g');
  await fsp.writeFile(path.join(dir, 'stays'), 's');
  const plan = await planArchive([
    { localPath: path.join(dir, 'never-existed'), containerPath: '/n' },
    { localPath: path.join(dir, 'gone-later'), containerPath: '/g' },
    { localPath: path.join(dir, 'stays'), containerPath: '/s' },
  ]);
  await fsp.rm(path.join(dir, 'gone-later'));
  assert.deepEqual((await readTar(plan.stream())).map((e) => e.name), ['s']);
});

test('a large file that changes size while archived keeps the stream well-formed', async (t) => {
  const dir = await tmpdir(t);
  const big = path.join(dir, 'big');
  await fsp.writeFile(big, Buffer.alloc(64 * 1024, 'a'));
  await fsp.writeFile(path.join(dir, 'after'), 'after');
  const plan = await planArchive(
    [
      { localPath: big, containerPath: '/big' },
      { localPath: path.join(dir, 'after'), containerPath: '/after' },
    ],
    { smallFileLimitBytes: 1024 },
  );
  const stream = plan.stream();
  // Truncate the file once the stream has started reading it.
  await fsp.truncate(big, 10);
  const entries = await readTar(stream);
  assert.deepEqual(entries.map((e) => e.name), ['big', 'after']);
  assert.equal(entries[1]!.data, 'after');
});

test('a filter leaves out matching files and prunes whole directories', async (t) => {
  const dir = await tmpdir(t);
  await fsp.mkdir(path.join(dir, 'node_modules/x'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'node_modules/x/i.js'), '');
  await fsp.writeFile(path.join(dir, 'a.js'), '');
  await fsp.writeFile(path.join(dir, 'a.js~'), '');
  const visited: string[] = [];
  const plan = await planArchive([{ localPath: dir, containerPath: '/app' }], {
    filter: {
      matches: (p) => {
        visited.push(p);
        return p.endsWith('~') || p.includes('node_modules');
      },
      matchesEntireDir: (p) => p.endsWith('node_modules'),
    },
  });
  assert.deepEqual((await readTar(plan.stream())).map((e) => e.name), ['app', 'app/a.js']);
  assert.equal(visited.some((p) => p.endsWith('i.js')), false);
});

test('archiveName strips the leading slash and cleans the path', () => {
  assert.equal(archiveName('/app/./a//b/'), 'app/a/b');
  assert.equal(archiveName('/'), '.');
});

test('a directory-only mapping archives the directory entry without its contents', async (t) => {
  const dir = await tmpdir(t);
  await fsp.mkdir(path.join(dir, 'd'));
  await fsp.writeFile(path.join(dir, 'd/inside'), 'i');
  await fsp.chmod(path.join(dir, 'd'), 0o750);
  const plan = await planArchive([
    { localPath: path.join(dir, 'd'), containerPath: '/app/d', directoryOnly: true },
    { localPath: path.join(dir, 'd/inside'), containerPath: '/app/d/inside' },
  ]);
  const entries = await readTar(plan.stream());
  assert.deepEqual(entries.map((e) => `${e.type} ${e.name}`), ['directory app/d', 'file app/d/inside']);
  assert.equal(entries[0]!.mode, 0o750);
});

test('many small files stream in order with their contents', async (t) => {
  const dir = await tmpdir(t);
  const names = Array.from({ length: 300 }, (_, i) => `f${String(i).padStart(3, '0')}`);
  await Promise.all(names.map((n) => fsp.writeFile(path.join(dir, n), n)));
  const plan = await planArchive(names.map((n) => ({ localPath: path.join(dir, n), containerPath: `/x/${n}` })));
  const entries = await readTar(plan.stream());
  assert.deepEqual(entries.map((e) => e.name), names.map((n) => `x/${n}`));
  assert.ok(entries.every((e) => e.data === e.name.slice(2)));
});

// Swaps between planning and reading: nothing is ever read through a link.

/** swapFixture makes `src/a.txt` (planned) and, outside the tree, a secret a link can point at. */
async function swapFixture(t: { after(fn: () => Promise<void>): void }, size: number) {
  const dir = await tmpdir(t);
  const outside = await tmpdir(t);
  const secret = path.join(outside, 'secret.txt');
  await fsp.writeFile(secret, 'SECRET'.repeat(Math.ceil(size / 6)));
  await fsp.mkdir(path.join(dir, 'src'));
  const file = path.join(dir, 'src/a.txt');
  await fsp.writeFile(file, 'p'.repeat(size));
  return { dir, outside, secret, file };
}

for (const [label, size, limit] of [
  ['a small file', 10, undefined],
  ['a file read through the thread pool', 100 * 1024, undefined],
  ['a large (streamed) file', 10, 1],
] as const) {
  test(`${label} swapped for a symlink after planning is sent as that symlink, never its target`, async (t) => {
    const f = await swapFixture(t, size);
    const plans = [
      await planArchive([{ localPath: f.file, containerPath: '/app/a.txt', root: path.join(f.dir, 'src') }], { smallFileLimitBytes: limit }),
      await planArchive([{ localPath: path.join(f.dir, 'src'), containerPath: '/app' }], { smallFileLimitBytes: limit }),
    ];
    await fsp.rm(f.file);
    await fsp.symlink(f.secret, f.file);
    for (const plan of plans) {
      const entries = await readTar(plan.stream());
      assert.equal(entries.some((e) => e.data.includes('SECRET')), false, 'the target is not read');
      const a = entries.find((e) => e.name === 'app/a.txt');
      assert.deepEqual(a && { type: a.type, linkname: a.linkname }, { type: 'symlink', linkname: f.secret });
    }
  });
}

test('a file swapped for another file, a directory, a FIFO or a socket after planning is left out, without blocking', async (t) => {
  const f = await swapFixture(t, 10);
  const plan = async () => planArchive([{ localPath: path.join(f.dir, 'src'), containerPath: '/app' }], { onSkip: (p, why) => skipped.push(`${path.basename(p)}: ${why}`) });
  let skipped: string[] = [];
  for (const swap of [
    () => fsp.link(f.secret, f.file), // the same name, another file (a hard link to the secret)
    () => fsp.mkdir(f.file),
    async () => execFileSync('mkfifo', [f.file]),
    async () => {
      const server = net.createServer().listen(f.file);
      await new Promise<void>((r) => server.once('listening', () => r()));
      t.after(() => new Promise<void>((r) => server.close(() => r())));
    },
  ]) {
    await fsp.rm(f.file, { recursive: true, force: true });
    await fsp.writeFile(f.file, 'planned');
    const p = await plan();
    await fsp.rm(f.file);
    await swap();
    skipped = [];
    const entries = await readTar(p.stream());
    assert.deepEqual(entries.map((e) => `${e.type} ${e.name}`), ['directory app']);
    assert.deepEqual(skipped, ['a.txt: changed since planned']);
  }
});

test('a file below a directory that is a link inside the root is not read, however it was planned', async (t) => {
  const f = await swapFixture(t, 10);
  const src = path.join(f.dir, 'src');
  await fsp.symlink(f.outside, path.join(src, 'sub'));
  // A change reported below the link (or the link made while planning) maps through it.
  await fsp.symlink('elsewhere', path.join(f.outside, 'link'));
  const skipped: string[] = [];
  const plan = await planArchive(
    ['secret.txt', 'link'].map((n) => ({ localPath: path.join(src, 'sub', n), containerPath: `/app/sub/${n}`, root: src })),
    { onSkip: (p, why) => skipped.push(`${path.basename(p)}: ${why}`) },
  );
  assert.deepEqual(await readTar(plan.stream()), []);
  assert.deepEqual(skipped, ['secret.txt: below a link', 'link: below a link']);
});

test('a directory swapped for a link while it is walked is not entered', async (t) => {
  const f = await swapFixture(t, 10);
  const src = path.join(f.dir, 'src');
  await fsp.mkdir(path.join(src, 'sub'));
  await fsp.writeFile(path.join(src, 'sub/b.txt'), 'b');
  let swapped = false;
  // The filter is asked about `sub` after it was stat'ed as a directory and before it is read.
  const filter = {
    matches: () => false,
    matchesEntireDir: (p: string) => {
      if (p === path.join(src, 'sub') && !swapped) {
        swapped = true;
        execFileSync('mv', [p, `${p}-old`]);
        execFileSync('ln', ['-s', f.outside, p]);
      }
      return false;
    },
  };
  const plan = await planArchive([{ localPath: src, containerPath: '/app' }], { filter });
  assert.ok(swapped);
  const entries = await readTar(plan.stream());
  assert.equal(entries.some((e) => e.data.includes('SECRET') || e.name.includes('secret')), false, entries.map((e) => e.name).join(' '));
});
