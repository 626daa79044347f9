// The container channel on Kubernetes: client-node's Exec over WebSocket against the test
// cluster fixture, whose pods are real Docker containers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { realClock } from '../../../src/util/clock.ts';
import { planArchive, type PathMapping } from '../../../src/adapters/tar/archive.ts';
import { ExecContainerUpdater } from '../../../src/adapters/containers/kubernetes-exec.ts';
import type { ChannelEvent } from '../../../src/adapters/containers/channel/pool.ts';
import type { ContainerTarget, ContainerUpdate } from '../../../src/adapters/containers/updater.ts';
import { KubeCluster } from '../../fixtures/kube-cluster/index.ts';
import { cleanupContainers, execIn, readFileIn, requireDocker, statIn, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';
import { listingCommand, localListing, makeTree } from './channel-batch.ts';

let cluster: KubeCluster;
let docker: Docker;
let updater: ExecContainerUpdater;
const events: ChannelEvent[] = [];
let dir: string;

before(async () => {
  docker = await requireDocker();
  cluster = await KubeCluster.start({ docker });
  updater = new ExecContainerUpdater({
    kubeConfig: cluster.kubeConfig(),
    clock: realClock,
    stepTimeoutMs: 20_000,
    channel: { ackTimeoutMs: 2_000, onEvent: (e) => events.push(e) },
  });
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-kchan-'));
});
after(async () => {
  await updater?.close();
  await cluster?.stop();
  await cleanupContainers();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

async function pod(name: string, image: string): Promise<ContainerTarget> {
  await cluster.createPod({ name, containers: [{ name: 'main', image, command: ['sleep', '3600'] }] });
  await cluster.waitForPod('default', name, (p) => p?.status?.phase === 'Running');
  return { containerId: cluster.containerId('default', name, 'main')!, containerName: 'main', podName: name, namespace: 'default' };
}

async function changes(target: ContainerTarget, mappings: PathMapping[], u: Partial<ContainerUpdate> = {}): Promise<ContainerUpdate> {
  const plan = await planArchive(mappings);
  return { target, deletePaths: [], execs: [], restart: false, archive: plan.stream, entries: plan.entries, ...u };
}

const kindsFor = (t: ContainerTarget) => events.filter((e) => e.key.includes(`/${t.podName}/`)).map((e) => e.kind);

async function agentPids(id: string): Promise<number[]> {
  const r = await execIn(docker, id, ['sh', '-c', 'for p in /proc/[0-9]*; do tr "\\0" " " <$p/cmdline | grep -q "ferry-agent 1 [$]" && echo ${p#/proc/}; done; true']);
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('kubernetes channel: files, bytes, modes, symlinks and deletions through one exec; execs still run', async () => {
  const t = await pod('chan-web', testImages.busybox);
  await execIn(docker, t.containerId, ['sh', '-c', 'mkdir -p /app/old/deep && echo o > /app/old/deep/f']);
  updater.retain('default/web', [t]);
  const src = path.join(dir, 'web');
  await fsp.mkdir(path.join(src, 'a dir'), { recursive: true });
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  await fsp.writeFile(path.join(src, 'bytes.bin'), bytes);
  await fsp.writeFile(path.join(src, 'a dir', "it's odd.sh"), 'echo odd\n', { mode: 0o755 });
  await fsp.symlink('bytes.bin', path.join(src, 'link'));
  const out: string[] = [];
  await updater.update(
    await changes(t, [{ localPath: src, containerPath: '/app' }], {
      deletePaths: ['/app/old'],
      execs: [{ args: ['sh', '-c', "sh '/app/a dir/it'\\''s odd.sh'"], timeoutMs: 10_000 }],
      onOutput: (s) => out.push(s),
    }),
  );
  assert.deepEqual(kindsFor(t), ['opened']);
  assert.equal(out.join(''), 'odd\n');
  const sum = await execIn(docker, t.containerId, ['sha256sum', '/app/bytes.bin']);
  assert.equal(sum.stdout.split(' ')[0], sha256(bytes));
  assert.equal((await statIn(docker, t.containerId, "/app/a dir/it's odd.sh")).mode, 0o755);
  assert.equal((await execIn(docker, t.containerId, ['readlink', '/app/link'])).stdout, 'bytes.bin\n');
  assert.notEqual((await execIn(docker, t.containerId, ['ls', '/app/old'])).exitCode, 0);

  // A 16 MiB file is streamed through the WebSocket with exact bytes.
  const big = Buffer.allocUnsafe(16 * 1024 * 1024 + 7);
  for (let i = 0; i < big.length; i += 997) big[i] = i & 0xff;
  await fsp.writeFile(path.join(dir, 'big.bin'), big);
  await updater.update(await changes(t, [{ localPath: path.join(dir, 'big.bin'), containerPath: '/app/big.bin' }]));
  assert.equal((await execIn(docker, t.containerId, ['sha256sum', '/app/big.bin'])).stdout.split(' ')[0], sha256(big));
  assert.deepEqual(kindsFor(t), ['opened']);
});

test('kubernetes channel: files belong to the container user (USER 1000)', async () => {
  const t = await pod('chan-user', testImages.busyboxUser);
  updater.retain('default/user', [t]);
  await fsp.writeFile(path.join(dir, 'mine.txt'), 'mine');
  await updater.update(await changes(t, [{ localPath: path.join(dir, 'mine.txt'), containerPath: '/app/mine.txt' }]));
  assert.deepEqual(kindsFor(t), ['opened']);
  assert.equal((await statIn(docker, t.containerId, '/app/mine.txt')).uid, 1000);
  updater.retain('default/user', []);
});

test('kubernetes channel: the agent killed mid-transfer falls back to tar, a replaced container gets a new channel, release leaves nothing', async () => {
  let t = await pod('chan-kill', testImages.busybox);
  updater.retain('default/kill', [t]);
  await waitFor(async () => kindsFor(t).includes('opened') || undefined, { message: 'the channel opened' });
  const big = Buffer.alloc(4 * 1024 * 1024, 'z');
  await fsp.writeFile(path.join(dir, 'kill.bin'), big);
  const [pid] = await agentPids(t.containerId);
  assert.ok(pid);
  await execIn(docker, t.containerId, ['kill', '-STOP', String(pid)]);
  const sending = updater.update(await changes(t, [{ localPath: path.join(dir, 'kill.bin'), containerPath: '/app/kill.bin' }]));
  await new Promise((r) => setTimeout(r, 200));
  await execIn(docker, t.containerId, ['kill', '-9', String(pid)]);
  await sending;
  assert.equal((await execIn(docker, t.containerId, ['sha256sum', '/app/kill.bin'])).stdout.split(' ')[0], sha256(big));
  assert.ok(kindsFor(t).includes('fallback'));

  // The container is replaced (new id): the new one gets its own channel.
  const id = await cluster.restartContainer('default', 'chan-kill', 'main');
  t = { ...t, containerId: id };
  updater.retain('default/kill', [t]);
  await fsp.writeFile(path.join(dir, 'after.txt'), 'after');
  await updater.update(await changes(t, [{ localPath: path.join(dir, 'after.txt'), containerPath: '/app/after.txt' }]));
  assert.equal(await readFileIn(docker, id, '/app/after.txt'), 'after');
  assert.equal((await agentPids(id)).length, 1);
  assert.equal(events.filter((e) => e.key.endsWith(`/${id}`) && e.kind === 'opened').length, 1);

  updater.retain('default/kill', []);
  await waitFor(async () => ((await agentPids(id)).length === 0 ? true : undefined), { message: 'no agent left' });
});

test('kubernetes channel: batches of 200 and 2,000 files in nested directories arrive exactly, with modes and mtimes, as tar frames', async () => {
  const t = await pod('chan-batch', testImages.busybox);
  updater.retain('default/batch', [t]);
  for (const n of [200, 2000]) {
    const src = path.join(dir, `tree${n}`);
    await makeTree(src, n);
    await updater.update(await changes(t, [{ localPath: src, containerPath: `/app/tree${n}` }], { deletePaths: ['/app/none'] }));
    const inside = await execIn(docker, t.containerId, listingCommand(`/app/tree${n}`));
    assert.equal(inside.exitCode, 0, inside.stderr);
    assert.equal(inside.stdout, await localListing(src), `the ${n} files and their directories`);
  }
  assert.deepEqual(kindsFor(t), ['opened']);
  assert.equal(events.find((e) => e.key.includes('/chan-batch/'))?.message, 'with tar');
  updater.retain('default/batch', []);
});

test('kubernetes channel: a batch arrives by renames into place (moved_to, never a write on the final name), nothing staged left', async () => {
  const t = await pod('chan-rename', testImages.busybox);
  const id = t.containerId;
  await execIn(docker, id, ['sh', '-c', 'mkdir -p /app/w/was-dir/deep && echo old > /app/w/old.txt && echo f > /app/w/was-file']);
  updater.retain('default/rename', [t]);
  const src = path.join(dir, 'rename');
  const names = ['a0.txt', 'a1.txt', 'old.txt', '.env', '..dots', 'with space.txt', '.hidden file', 'was-dir', 'was-file/inner', 'was-file/.inner'];
  for (const [i, n] of names.entries()) {
    await fsp.mkdir(path.dirname(path.join(src, n)), { recursive: true });
    await fsp.writeFile(path.join(src, n), `${n}\n`.repeat(i + 1), { mode: i % 2 ? 0o755 : 0o644 });
  }
  const watching = execIn(docker, id, ['sh', '-c', 'echo $$ > /tmp/watcher; exec inotifyd - /app/w:wyn > /tmp/events']);
  await new Promise((r) => setTimeout(r, 300)); // its watch set
  try {
    await updater.update(await changes(t, [{ localPath: src, containerPath: '/app/w' }]));
    const top = names.filter((n) => !n.includes('/'));
    const lines = await waitFor(
      async () => {
        const all = (await execIn(docker, id, ['cat', '/tmp/events'])).stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
        return top.every((n) => all.some(([ev, , name]) => ev === 'y' && name === n)) ? all : undefined;
      },
      { message: 'every file renamed into place' },
    );
    for (const n of top) assert.deepEqual(lines.filter(([ev, , name]) => name === n && ev !== 'y'), [], `only a rename on ${n}`);
  } finally {
    await execIn(docker, id, ['sh', '-c', 'kill $(cat /tmp/watcher)']);
    await watching;
  }
  assert.deepEqual(kindsFor(t), ['opened']);
  assert.equal((await execIn(docker, id, listingCommand('/app/w'))).stdout, await localListing(src));
  assert.equal((await execIn(docker, id, ['find', '/app', '-name', '.ferry-*'])).stdout, '');
  updater.retain('default/rename', []);
});

test('kubernetes channel: the agent killed in the middle of a batch, and the batch arrives through tar by exec', async () => {
  const t = await pod('chan-batch-kill', testImages.busybox);
  updater.retain('default/batch-kill', [t]);
  await waitFor(async () => kindsFor(t).includes('opened') || undefined, { message: 'the channel opened' });
  const src = path.join(dir, 'kill-tree');
  await makeTree(src, 1500);
  const [pid] = await agentPids(t.containerId);
  assert.ok(pid);
  await execIn(docker, t.containerId, ['kill', '-STOP', String(pid)]);
  const sending = updater.update(await changes(t, [{ localPath: src, containerPath: '/app/tree' }]));
  await new Promise((r) => setTimeout(r, 300));
  await execIn(docker, t.containerId, ['kill', '-9', String(pid)]);
  await sending;
  assert.ok(kindsFor(t).includes('fallback'));
  assert.equal((await execIn(docker, t.containerId, listingCommand('/app/tree'))).stdout, await localListing(src));
  assert.equal((await execIn(docker, t.containerId, ['find', '/app', '-name', '.ferry-*'])).stdout, '', 'no staging directory left');
  updater.retain('default/batch-kill', []);
});

test('kubernetes channel: a batch with deletions and symlinks; a batch into a container without tar goes one frame per file', async () => {
  const t = await pod('chan-mix', testImages.busybox);
  await execIn(docker, t.containerId, ['sh', '-c', 'mkdir -p /app/mix/old/deep && echo g > /app/mix/gone.txt && echo t > /app/target && ln -s /app/target /app/mix/was-link']);
  updater.retain('default/mix', [t]);
  const src = path.join(dir, 'mix');
  await makeTree(src, 30);
  await fsp.symlink('d0/e0/f0.txt', path.join(src, 'link'));
  await fsp.symlink('../nowhere', path.join(src, 'dangling'));
  await fsp.writeFile(path.join(src, 'was-link'), 'a file now');
  await updater.update(await changes(t, [{ localPath: src, containerPath: '/app/mix' }], { deletePaths: ['/app/mix/old', '/app/mix/gone.txt'] }));
  assert.deepEqual(kindsFor(t), ['opened']);
  assert.equal((await execIn(docker, t.containerId, listingCommand('/app/mix'))).stdout, await localListing(src));
  assert.equal(await readFileIn(docker, t.containerId, '/app/target'), 't\n');
  updater.retain('default/mix', []);

  const n = await pod('chan-notar', testImages.notar);
  updater.retain('default/notar', [n]);
  await updater.update(await changes(n, [{ localPath: src, containerPath: '/app/mix' }]));
  assert.deepEqual(kindsFor(n), ['opened']);
  assert.equal(events.find((e) => e.key.includes('/chan-notar/'))?.message, 'without tar');
  assert.equal((await execIn(docker, n.containerId, listingCommand('/app/mix'))).stdout, await localListing(src));
  updater.retain('default/notar', []);
});
