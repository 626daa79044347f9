/**
 * A live update's plan and the archive built from it never copy a file from outside the sync
 * root: not through a file swapped for a symlink between planning and reading, not through a
 * directory inside the root that is a link, and not in the initial sync.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import tarStream from 'tar-stream';
import type { Readable } from 'node:stream';
import { plan, syncRootMappings } from '../../../controllers/liveupdate/plan.ts';
import { planArchive } from '../../../src/adapters/tar/archive.ts';
import type { LiveUpdateSpec } from '../../../src/apis/index.ts';

async function tarEntries(stream: Readable): Promise<Array<{ name: string; type: string; linkname?: string; data: string }>> {
  const extract = tarStream.extract();
  const out: Array<{ name: string; type: string; linkname?: string; data: string }> = [];
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      out.push({ name: entry.header.name, type: entry.header.type ?? '', linkname: entry.header.linkname ?? undefined, data: Buffer.concat(chunks).toString() });
    }
  })();
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

async function fixture(t: { after(fn: () => Promise<void>): void }) {
  const base = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-plan-'));
  const outside = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-plan-outside-'));
  t.after(async () => {
    await fsp.rm(base, { recursive: true, force: true });
    await fsp.rm(outside, { recursive: true, force: true });
  });
  await fsp.writeFile(path.join(outside, 'secret.txt'), 'SECRET');
  await fsp.mkdir(path.join(base, 'src'));
  const spec: LiveUpdateSpec = { basePath: base, selector: { dockerCompose: { service: 'app' } }, syncs: [{ localPath: 'src', containerPath: '/app' }] } as LiveUpdateSpec;
  return { base, outside, spec };
}

test('a changed file swapped for a symlink between planning and archiving is sent as the symlink', async (t) => {
  const f = await fixture(t);
  const file = path.join(f.base, 'src/a.txt');
  await fsp.writeFile(file, 'planned');
  const p = await plan(f.spec, [file]);
  assert.ok(p.ok);
  const archive = await planArchive(p.toCopy);
  await fsp.rm(file);
  await fsp.symlink(path.join(f.outside, 'secret.txt'), file);
  const entries = await tarEntries(archive.stream());
  assert.deepEqual(entries, [{ name: 'app/a.txt', type: 'symlink', linkname: path.join(f.outside, 'secret.txt'), data: '' }]);
});

test('a changed file below a directory of the sync root that is a link is not copied', async (t) => {
  const f = await fixture(t);
  await fsp.symlink(f.outside, path.join(f.base, 'src/linked'));
  const p = await plan(f.spec, [path.join(f.base, 'src/linked/secret.txt')]);
  assert.ok(p.ok);
  const entries = await tarEntries((await planArchive(p.toCopy)).stream());
  assert.deepEqual(entries, []);
});

test('the initial sync sends links inside the sync root as links', async (t) => {
  const f = await fixture(t);
  await fsp.writeFile(path.join(f.base, 'src/a.txt'), 'a');
  await fsp.symlink(f.outside, path.join(f.base, 'src/linked'));
  const { mappings } = await syncRootMappings(f.spec);
  const entries = await tarEntries((await planArchive(mappings)).stream());
  assert.deepEqual(entries.map((e) => `${e.type} ${e.name} ${e.data || e.linkname || ''}`), ['directory app ', 'file app/a.txt a', `symlink app/linked ${f.outside}`]);
});

test('a sync root that is itself a symlink to a directory still syncs the files below it', async (t) => {
  const f = await fixture(t);
  const real = path.join(f.base, 'real-src');
  await fsp.mkdir(real);
  await fsp.writeFile(path.join(real, 'a.txt'), 'a');
  const spec = { ...f.spec, syncs: [{ localPath: 'linked-src', containerPath: '/app' }] } as LiveUpdateSpec;
  await fsp.symlink(real, path.join(f.base, 'linked-src'));
  const p = await plan(spec, [path.join(f.base, 'linked-src/a.txt')]);
  assert.ok(p.ok);
  const entries = await tarEntries((await planArchive(p.toCopy)).stream());
  assert.deepEqual(entries.map((e) => `${e.type} ${e.name} ${e.data}`), ['file app/a.txt a']);
});
