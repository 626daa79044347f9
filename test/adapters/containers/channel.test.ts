// The container channel on Docker: a retained container gets one agent, files and deletions go
// through it, and every failure falls back to the per-call path with nothing lost.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { realClock } from '../../../src/util/clock.ts';
import { planArchive, type PathMapping } from '../../../src/adapters/tar/archive.ts';
import { DockerContainerUpdater } from '../../../src/adapters/containers/docker.ts';
import type { ChannelEvent } from '../../../src/adapters/containers/channel/pool.ts';
import { ChannelPool } from '../../../src/adapters/containers/channel/pool.ts';
import { DockerAgentTransport } from '../../../src/adapters/containers/channel/docker.ts';
import type { ContainerTarget, ContainerUpdate } from '../../../src/adapters/containers/updater.ts';
import { cleanupContainers, execIn, readFileIn, requireDocker, runContainer, statIn, testImages, testLabel } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';
import { listingCommand, localListing, makeTree } from './channel-batch.ts';

after(cleanupContainers);

interface Fixture {
  docker: Docker;
  updater: DockerContainerUpdater;
  events: ChannelEvent[];
  dir: string;
}

async function fixture(t: { after(fn: () => Promise<void>): void }, opts: { ackTimeoutMs?: number; heartbeatMs?: number } = {}): Promise<Fixture | undefined> {
  const docker = await requireDocker(t as never);
  if (!docker) return undefined;
  const events: ChannelEvent[] = [];
  const updater = new DockerContainerUpdater({ docker, clock: realClock, channel: { ...opts, onEvent: (e) => events.push(e) } });
  t.after(() => updater.close());
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-chan-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  return { docker, updater, events, dir };
}

function target(id: string): ContainerTarget {
  return { containerId: id, containerName: '', podName: '', namespace: '' };
}

/** changes plans the mappings as the LiveUpdate reconciler does: entries and the archive they make. */
async function changes(id: string, mappings: PathMapping[], u: Partial<ContainerUpdate> = {}): Promise<ContainerUpdate> {
  const plan = await planArchive(mappings);
  return { target: target(id), deletePaths: [], execs: [], restart: false, archive: plan.stream, entries: plan.entries, ...u };
}

const kinds = (events: ChannelEvent[]) => events.map((e) => e.kind);

async function sha256In(docker: Docker, id: string, p: string): Promise<string> {
  const r = await execIn(docker, id, ['sha256sum', p]);
  assert.equal(r.exitCode, 0, r.stderr);
  return r.stdout.split(' ')[0]!;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** agentPids lists the agent processes running in the container. */
async function agentPids(docker: Docker, id: string): Promise<number[]> {
  const r = await execIn(docker, id, ['sh', '-c', 'for p in /proc/[0-9]*; do tr "\\0" " " <$p/cmdline | grep -q "ferry-agent 1 [$]" && echo ${p#/proc/}; done; true']);
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

test('channel: files, binary content, modes, symlinks, odd paths and deletions arrive through the agent', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busybox });
  await execIn(f.docker, c.id, ['sh', '-c', 'mkdir -p /app/tree/deep /app/old && echo x > /app/tree/deep/f && echo y > /app/old-file && echo k > /app/keep']);
  f.updater.retain('default/web', [target(c.id)]);

  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const odd = "a b  'q' \"d\" $x `y` \\z ;&|*?[]é";
  await fsp.mkdir(path.join(f.dir, 'src', 'sub dir'), { recursive: true });
  await fsp.writeFile(path.join(f.dir, 'src', 'one.txt'), 'one\n');
  await fsp.writeFile(path.join(f.dir, 'src', 'bytes.bin'), Buffer.concat([bytes, bytes.reverse()]));
  await fsp.writeFile(path.join(f.dir, 'src', 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
  await fsp.writeFile(path.join(f.dir, 'src', 'secret'), 's', { mode: 0o600 });
  await fsp.writeFile(path.join(f.dir, 'src', 'empty'), '');
  await fsp.writeFile(path.join(f.dir, 'src', 'sub dir', odd), 'odd');
  await fsp.chmod(path.join(f.dir, 'src', 'sub dir'), 0o750);
  await fsp.symlink('one.txt', path.join(f.dir, 'src', 'link'));
  await fsp.symlink('../no where', path.join(f.dir, 'src', 'dangling'));

  await f.updater.update(await changes(c.id, [{ localPath: path.join(f.dir, 'src'), containerPath: '/app' }], { deletePaths: ['/app/tree', '/app/old-file', '/app/missing'] }));
  assert.deepEqual(kinds(f.events), ['opened'], 'the files went through the channel, with no fallback');

  assert.equal(await readFileIn(f.docker, c.id, '/app/one.txt'), 'one\n');
  assert.equal(await sha256In(f.docker, c.id, '/app/bytes.bin'), sha256(await fsp.readFile(path.join(f.dir, 'src', 'bytes.bin'))));
  assert.equal(await readFileIn(f.docker, c.id, '/app/empty'), '');
  assert.equal(await readFileIn(f.docker, c.id, `/app/sub dir/${odd}`), 'odd');
  assert.equal((await statIn(f.docker, c.id, '/app/run.sh')).mode, 0o755);
  assert.equal((await statIn(f.docker, c.id, '/app/secret')).mode, 0o600);
  assert.equal((await statIn(f.docker, c.id, '/app/one.txt')).mode, 0o644);
  assert.equal((await statIn(f.docker, c.id, '/app/sub dir')).mode, 0o750);
  assert.equal((await execIn(f.docker, c.id, ['/app/run.sh'])).stdout, 'ran\n');
  assert.equal((await execIn(f.docker, c.id, ['readlink', '/app/link'])).stdout, 'one.txt\n');
  assert.equal((await execIn(f.docker, c.id, ['readlink', '/app/dangling'])).stdout, '../no where\n');
  assert.equal(await readFileIn(f.docker, c.id, '/app/keep'), 'k\n');
  for (const gone of ['/app/tree', '/app/old-file']) assert.notEqual((await execIn(f.docker, c.id, ['ls', gone])).exitCode, 0, gone);
  // No temporary file is left beside the files.
  assert.equal((await execIn(f.docker, c.id, ['sh', '-c', 'find /app -name "*.ferry*"'])).stdout, '');

  // A file replacing a directory, and a second round on the same channel.
  await fsp.rm(path.join(f.dir, 'src', 'sub dir'), { recursive: true });
  await fsp.writeFile(path.join(f.dir, 'src', 'sub dir'), 'now a file');
  await f.updater.update(await changes(c.id, [{ localPath: path.join(f.dir, 'src', 'sub dir'), containerPath: '/app/sub dir' }]));
  assert.equal(await readFileIn(f.docker, c.id, '/app/sub dir'), 'now a file');
  assert.deepEqual(kinds(f.events), ['opened']);
});

test('channel: many small files, and a 64 MiB file streamed with exact bytes', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busybox });
  f.updater.retain('default/web', [target(c.id)]);
  const mappings: PathMapping[] = [];
  await fsp.mkdir(path.join(f.dir, 'many'));
  for (let i = 0; i < 50; i++) {
    await fsp.writeFile(path.join(f.dir, 'many', `f${i}.txt`), `file ${i}\n`);
    mappings.push({ localPath: path.join(f.dir, 'many', `f${i}.txt`), containerPath: `/app/many/f${i}.txt`, root: f.dir });
  }
  await f.updater.update(await changes(c.id, mappings));
  const listed = await execIn(f.docker, c.id, ['sh', '-c', 'cat /app/many/f*.txt | sort | md5sum; ls /app/many | wc -l']);
  const expected = Array.from({ length: 50 }, (_, i) => `file ${i}\n`).sort().join('');
  const local = await execIn(f.docker, c.id, ['sh', '-c', 'md5sum'], { stdin: expected });
  assert.equal(listed.stdout, `${local.stdout}50\n`);

  const big = Buffer.allocUnsafe(64 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  await fsp.writeFile(path.join(f.dir, 'big.bin'), big);
  await f.updater.update(await changes(c.id, [{ localPath: path.join(f.dir, 'big.bin'), containerPath: '/app/big.bin' }]));
  assert.equal(await sha256In(f.docker, c.id, '/app/big.bin'), sha256(big));
  assert.deepEqual(kinds(f.events), ['opened']);
});

test('channel: a file rewritten while it is sent arrives whole, old or new, never mixed', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busybox });
  f.updater.retain('default/web', [target(c.id)]);
  const size = 32 * 1024 * 1024;
  const old = Buffer.alloc(size, 'a');
  const next = Buffer.alloc(size, 'b');
  const file = path.join(f.dir, 'data.bin');
  await fsp.writeFile(file, old);
  const u = await changes(c.id, [{ localPath: file, containerPath: '/app/data.bin' }]);
  const sending = f.updater.update(u);
  // Rewritten in place (same inode) while the send is under way.
  await new Promise((r) => setTimeout(r, 30));
  await fsp.writeFile(file, next);
  await sending;
  const got = await sha256In(f.docker, c.id, '/app/data.bin');
  assert.ok([sha256(old), sha256(next)].includes(got), 'the file is one of its two versions');
  await f.updater.update(u);
  assert.equal(await sha256In(f.docker, c.id, '/app/data.bin'), sha256(next));
});

test('channel: files belong to the container user (USER 1000)', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busyboxUser });
  f.updater.retain('default/web', [target(c.id)]);
  await fsp.writeFile(path.join(f.dir, 'new.txt'), 'new');
  await fsp.writeFile(path.join(f.dir, 'owned-by-root.txt'), 'replaced');
  await f.updater.update(await changes(c.id, [{ localPath: f.dir, containerPath: '/app' }]));
  assert.deepEqual(kinds(f.events), ['opened']);
  assert.equal(await readFileIn(f.docker, c.id, '/app/new.txt'), 'new');
  assert.equal(await readFileIn(f.docker, c.id, '/app/owned-by-root.txt'), 'replaced');
  assert.equal((await statIn(f.docker, c.id, '/app/new.txt')).uid, 1000);
  assert.equal((await statIn(f.docker, c.id, '/app/owned-by-root.txt')).uid, 1000);

  // A batch (tar frames): the same owner, and exact modes whatever the user's umask.
  const src = path.join(f.dir, 'batch');
  await makeTree(src, 40);
  await fsp.writeFile(path.join(src, 'owned-by-root.txt'), 'replaced again');
  await fsp.writeFile(path.join(src, 'shared.txt'), 'group and others write');
  await fsp.chmod(path.join(src, 'shared.txt'), 0o666);
  await f.updater.update(await changes(c.id, [{ localPath: src, containerPath: '/app' }]));
  assert.equal((await statIn(f.docker, c.id, '/app/shared.txt')).mode, 0o666, 'not narrowed by the umask');
  assert.deepEqual(kinds(f.events), ['opened']);
  assert.equal(await readFileIn(f.docker, c.id, '/app/owned-by-root.txt'), 'replaced again');
  const owners = await execIn(f.docker, c.id, ['sh', '-c', 'find /app/d0 /app/owned-by-root.txt -exec stat -c %u {} + | sort -u']);
  assert.equal(owners.stdout, '1000\n');
  assert.equal((await statIn(f.docker, c.id, '/app/d0/e0/f0.txt')).mode, 0o644);
  assert.equal((await statIn(f.docker, c.id, '/app/d1/e1/f1.txt')).mode, 0o755);
  assert.equal((await statIn(f.docker, c.id, '/app/d0/e1')).mode, 0o750);
});

test('channel: dash (the sh of Debian images) runs the agent too', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.notar });
  f.updater.retain('default/web', [target(c.id)]);
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
  await fsp.writeFile(path.join(f.dir, 'b i n'), bytes);
  await fsp.writeFile(path.join(f.dir, 'x.sh'), 'x', { mode: 0o700 });
  await f.updater.update(await changes(c.id, [{ localPath: f.dir, containerPath: '/app' }]));
  assert.deepEqual(kinds(f.events), ['opened']);
  assert.equal(await sha256In(f.docker, c.id, '/app/b i n'), sha256(bytes));
  assert.equal((await statIn(f.docker, c.id, '/app/x.sh')).mode, 0o700);
});

test('channel: an image without a shell uses the per-call path from the start, and says so once', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const image = await shellLessImage(f.docker);
  const c = await runContainer(f.docker, { image, cmd: ['/bin/busybox', 'sleep', '3600'] });
  f.updater.retain('default/web', [target(c.id)]);
  await fsp.writeFile(path.join(f.dir, 'a.txt'), 'A');
  const u = await changes(c.id, [{ localPath: path.join(f.dir, 'a.txt'), containerPath: '/a.txt' }]);
  await f.updater.update(u);
  assert.equal(await readFileIn(f.docker, c.id, '/a.txt'), 'A');
  await fsp.writeFile(path.join(f.dir, 'a.txt'), 'B');
  await f.updater.update(await changes(c.id, [{ localPath: path.join(f.dir, 'a.txt'), containerPath: '/a.txt' }]));
  f.updater.retain('default/web', [target(c.id)]);
  assert.equal(await readFileIn(f.docker, c.id, '/a.txt'), 'B');
  assert.deepEqual(kinds(f.events), ['unsupported'], 'tried once for this container');
});

test('channel: the agent killed mid-transfer, or stuck, and the change still arrives through the fallback', async (t) => {
  const f = await fixture(t, { ackTimeoutMs: 1_000 });
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busybox });
  f.updater.retain('default/web', [target(c.id)]);
  await waitFor(async () => kinds(f.events).includes('opened') || undefined, { message: 'the channel opened' });
  const big = Buffer.alloc(8 * 1024 * 1024, 'k');
  await fsp.writeFile(path.join(f.dir, 'big.bin'), big);
  const u = await changes(c.id, [{ localPath: path.join(f.dir, 'big.bin'), containerPath: '/app/big.bin' }]);

  // Killed: the agent is stopped first so the transfer is surely under way when it dies.
  let [pid] = await agentPids(f.docker, c.id);
  assert.ok(pid);
  await execIn(f.docker, c.id, ['kill', '-STOP', String(pid)]);
  const killed = f.updater.update(u);
  await new Promise((r) => setTimeout(r, 200));
  await execIn(f.docker, c.id, ['kill', '-9', String(pid)]);
  await killed;
  assert.equal(await sha256In(f.docker, c.id, '/app/big.bin'), sha256(big));
  assert.deepEqual(kinds(f.events).slice(0, 3).sort(), ['closed', 'fallback', 'opened']);

  // The next update opens a new channel; then a stuck one (stopped, never answering) is killed
  // at its deadline and the change goes per call.
  await fsp.writeFile(path.join(f.dir, 'big.bin'), 'small now');
  await f.updater.update(await changes(c.id, [{ localPath: path.join(f.dir, 'big.bin'), containerPath: '/app/big.bin' }]));
  assert.equal(await readFileIn(f.docker, c.id, '/app/big.bin'), 'small now');
  assert.equal(kinds(f.events).filter((k) => k === 'opened').length, 2);
  [pid] = await agentPids(f.docker, c.id);
  await execIn(f.docker, c.id, ['kill', '-STOP', String(pid)]);
  await fsp.writeFile(path.join(f.dir, 'big.bin'), 'stuck');
  await f.updater.update(await changes(c.id, [{ localPath: path.join(f.dir, 'big.bin'), containerPath: '/app/big.bin' }]));
  assert.equal(await readFileIn(f.docker, c.id, '/app/big.bin'), 'stuck');
  assert.match(f.events.find((e) => e.kind === 'closed' && /no progress/.test(e.message ?? ''))?.message ?? '', /no progress within 1000 ms/);
  // The stuck agent was killed in the container.
  await waitFor(async () => !(await agentPids(f.docker, c.id)).includes(pid!) || undefined, { message: 'the stuck agent gone' });
});

test('channel: a stuck idle channel is found by its heartbeat', async (t) => {
  const f = await fixture(t, { ackTimeoutMs: 300, heartbeatMs: 200 });
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busybox });
  f.updater.retain('default/web', [target(c.id)]);
  await waitFor(async () => kinds(f.events).includes('opened') || undefined, { message: 'the channel opened' });
  const [pid] = await agentPids(f.docker, c.id);
  await execIn(f.docker, c.id, ['kill', '-STOP', String(pid)]);
  await waitFor(async () => f.events.find((e) => e.kind === 'closed'), { message: 'the stuck channel closed' });
  await waitFor(async () => !(await agentPids(f.docker, c.id)).includes(pid!) || undefined, { message: 'the stuck agent gone' });
});

test('channel: it reopens after a restart and for a replaced container, and release leaves no process', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busybox });
  f.updater.retain('default/web', [target(c.id)]);
  const file = path.join(f.dir, 'a.txt');
  const send = async (id: string, text: string) => {
    await fsp.writeFile(file, text);
    await f.updater.update(await changes(id, [{ localPath: file, containerPath: '/app/a.txt' }]));
    assert.equal(await readFileIn(f.docker, id, '/app/a.txt'), text);
  };
  await send(c.id, 'one');
  await f.docker.getContainer(c.id).restart({ t: 0 });
  await waitFor(async () => f.events.find((e) => e.kind === 'closed'), { message: 'the channel closed by the restart' });
  await send(c.id, 'two');
  assert.deepEqual(kinds(f.events), ['opened', 'closed', 'opened']);
  assert.equal((await agentPids(f.docker, c.id)).length, 1);

  // Replaced: a new container id under the same owner; the old one's channel closes.
  const d = await runContainer(f.docker, { image: testImages.busybox });
  f.updater.retain('default/web', [target(d.id)]);
  await send(d.id, 'three');
  await waitFor(async () => ((await agentPids(f.docker, c.id)).length === 0 ? true : undefined), { message: 'the old agent gone' });
  assert.equal((await agentPids(f.docker, d.id)).length, 1);

  // Two owners of one container: it stays until the last lets go.
  f.updater.retain('default/other', [target(d.id)]);
  f.updater.retain('default/web', []);
  await send(d.id, 'four');
  assert.equal((await agentPids(f.docker, d.id)).length, 1);
  f.updater.retain('default/other', []);
  await waitFor(async () => ((await agentPids(f.docker, d.id)).length === 0 ? true : undefined), { message: 'no agent left' });
  const ps = await execIn(f.docker, d.id, ['ps', '-o', 'pid,args']);
  assert.doesNotMatch(ps.stdout, /ferry-agent|iflag=fullblock/);
  // Unretained, updates still work, per call.
  await send(d.id, 'five');
  assert.equal((await agentPids(f.docker, d.id)).length, 0);
});

test('channel: a batch above the crossover into a container without tar, or a path a frame cannot carry, goes per call', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const c = await runContainer(docker, { image: testImages.busybox });
  const notar = await runContainer(docker, { image: testImages.notar });
  const pool = new ChannelPool({ transport: new DockerAgentTransport(docker), clock: realClock, maxEntries: 2, tarMinEntries: 3 });
  t.after(() => pool.close());
  pool.retain('default/web', [target(c.id), target(notar.id)]);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-chan-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  for (const n of ['a', 'b', 'c', 'new\nline']) await fsp.writeFile(path.join(dir, n), n);
  const files = (id: string, names: string[]) => changes(id, names.map((n) => ({ localPath: path.join(dir, n), containerPath: `/app/${n}` })));
  assert.equal(await pool.send(await files(notar.id, ['a', 'b', 'c'])), false, 'above the crossover without tar');
  assert.equal(await pool.send(await files(notar.id, ['a', 'b'])), true);
  assert.equal(await pool.send(await files(c.id, ['a', 'b', 'c'])), true, 'with tar, a batch of any size goes as a tar frame');
  assert.equal(await readFileIn(docker, c.id, '/app/c'), 'c');
  const two = await files(c.id, ['a', 'b']);
  assert.equal(await pool.send(two), true);
  const newline = await changes(c.id, [{ localPath: path.join(dir, 'new\nline'), containerPath: '/app/new\nline' }]);
  assert.equal(await pool.send(newline), false);
  assert.equal(await pool.send({ ...two, entries: undefined }), false, 'an archive without its entries goes per call');
});

test('channel: batches of 200 and 2,000 files in nested directories arrive exactly, with modes and mtimes, as tar frames', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busybox });
  f.updater.retain('default/web', [target(c.id)]);
  for (const n of [200, 2000]) {
    const src = path.join(f.dir, `tree${n}`);
    await makeTree(src, n);
    await f.updater.update(await changes(c.id, [{ localPath: src, containerPath: `/app/tree${n}` }]));
    const inside = await execIn(f.docker, c.id, listingCommand(`/app/tree${n}`));
    assert.equal(inside.exitCode, 0, inside.stderr);
    // The mtimes kept show the files went as a tar (a written frame gives them the time of arrival).
    assert.equal(inside.stdout, await localListing(src), `the ${n} files and their directories`);
  }
  assert.deepEqual(kinds(f.events), ['opened']);
  assert.equal(f.events[0]!.message, 'with tar');
});

test('channel: a batch with deletions, symlinks, and files replacing links and directories', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busybox });
  await execIn(f.docker, c.id, [
    'sh',
    '-c',
    'mkdir -p /app/mix/old/deep /app/mix/keep && echo o > /app/mix/old/deep/f && echo g > /app/mix/gone.txt && echo k > /app/mix/keep/k && ' +
      'echo t > /app/target && ln -s /app/target /app/mix/was-link && mkdir /app/mix/was-dir',
  ]);
  f.updater.retain('default/web', [target(c.id)]);
  const src = path.join(f.dir, 'mix');
  await makeTree(src, 40);
  await fsp.symlink('d0/e0/f0.txt', path.join(src, 'link'));
  await fsp.symlink('../nowhere', path.join(src, 'dangling'));
  await fsp.symlink('/etc/hostname', path.join(src, 'absolute'));
  await fsp.writeFile(path.join(src, 'was-link'), 'a file now');
  await fsp.mkdir(path.join(src, 'keep'));
  await fsp.writeFile(path.join(src, 'keep', 'new'), 'new');
  await f.updater.update(
    await changes(c.id, [{ localPath: src, containerPath: '/app/mix' }], { deletePaths: ['/app/mix/old', '/app/mix/gone.txt', '/app/mix/was-dir', '/app/mix/keep/k'] }),
  );
  assert.deepEqual(kinds(f.events), ['opened'], 'no fallback');
  const inside = await execIn(f.docker, c.id, listingCommand('/app/mix'));
  assert.equal(inside.stdout, await localListing(src));
  // The link that was there is replaced, not followed: its old target is untouched.
  assert.equal(await readFileIn(f.docker, c.id, '/app/target'), 't\n');
});

test('channel: a batch into a container without tar goes one frame per file', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.notar });
  f.updater.retain('default/web', [target(c.id)]);
  const src = path.join(f.dir, 'tree');
  await makeTree(src, 60);
  await f.updater.update(await changes(c.id, [{ localPath: src, containerPath: '/app/tree' }]));
  assert.deepEqual(kinds(f.events), ['opened'], 'no fallback');
  assert.equal(f.events[0]!.message, 'without tar');
  // Files keep their mtime here too (touch -d @SECONDS), directories are not compared.
  const inside = await execIn(f.docker, c.id, listingCommand('/app/tree'));
  assert.equal(inside.stdout, await localListing(src));
});

test('channel: files rewritten in place while their batch is sent arrive whole, old or new', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busybox });
  f.updater.retain('default/web', [target(c.id)]);
  const src = path.join(f.dir, 'tree');
  await makeTree(src, 300);
  const hot = Array.from({ length: 20 }, (_, i) => path.join(src, `hot${i}.bin`));
  const old = Buffer.alloc(64 * 1024, 'o');
  const next = Buffer.alloc(64 * 1024, 'n');
  for (const p of hot) await fsp.writeFile(p, old);
  const u = await changes(c.id, [{ localPath: src, containerPath: '/app/tree' }]);
  let sending = true;
  const rewriting = (async () => {
    // Rewritten in place (same inode, no truncation): a read may meet a write half done.
    for (let round = 0; sending && round < 200; round++) {
      const data = round % 2 === 0 ? next : old;
      for (const p of hot) {
        const fh = await fsp.open(p, 'r+');
        await fh.write(data, 0, data.length, 0);
        await fh.close();
      }
    }
  })();
  await f.updater.update(u);
  sending = false;
  await rewriting;
  const sums = await execIn(f.docker, c.id, ['sh', '-c', 'md5sum /app/tree/hot*.bin']);
  const whole = new Set([old, next].map((b) => createHash('md5').update(b).digest('hex')));
  for (const line of sums.stdout.trim().split('\n')) assert.ok(whole.has(line.split(' ')[0]!), `never mixed: ${line}`);
  await f.updater.update(await changes(c.id, [{ localPath: src, containerPath: '/app/tree' }]));
  assert.equal((await execIn(f.docker, c.id, listingCommand('/app/tree'))).stdout, await localListing(src));
});

test('channel: the agent killed in the middle of a batch, and the batch arrives through the fallback', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busybox });
  f.updater.retain('default/web', [target(c.id)]);
  await waitFor(async () => kinds(f.events).includes('opened') || undefined, { message: 'the channel opened' });
  const src = path.join(f.dir, 'tree');
  await makeTree(src, 1500);
  const [pid] = await agentPids(f.docker, c.id);
  assert.ok(pid);
  // Stopped first, so the frame is surely under way (the pipe full) when it dies.
  await execIn(f.docker, c.id, ['kill', '-STOP', String(pid)]);
  const sending = f.updater.update(await changes(c.id, [{ localPath: src, containerPath: '/app/tree' }]));
  await new Promise((r) => setTimeout(r, 300));
  await execIn(f.docker, c.id, ['kill', '-9', String(pid)]);
  await sending;
  assert.ok(kinds(f.events).includes('fallback'));
  assert.equal((await execIn(f.docker, c.id, listingCommand('/app/tree'))).stdout, await localListing(src));
});

/** shellLessImage builds (once) an image holding only a static busybox, with no `sh` on any path. */
async function shellLessImage(docker: Docker): Promise<string> {
  const name = 'ferry-test/noshell:latest';
  try {
    await docker.getImage(name).inspect();
    return name;
  } catch {
    // built below
  }
  // provision.sh puts a static busybox on this machine's PATH (Debian's busybox-static).
  const busybox = await fsp.readFile(execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim());
  const pack = tar.pack();
  pack.entry({ name: 'bin', type: 'directory', mode: 0o755 });
  pack.entry({ name: 'bin/busybox', mode: 0o755 }, busybox);
  pack.entry({ name: 'tmp', type: 'directory', mode: 0o1777 });
  pack.finalize();
  const body = new PassThrough();
  (pack as unknown as NodeJS.ReadableStream).pipe(body);
  const [repo, tag] = name.split(':');
  const stream = (await docker.importImage(body as never, { repo, tag, changes: [`LABEL ${testLabel}=1`] } as never)) as unknown as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
  return name;
}
