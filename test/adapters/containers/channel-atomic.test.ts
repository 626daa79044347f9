// Batches through the container channel arrive by renames: each file of a tar frame is
// extracted into a staging directory beside it and renamed into place, so an application's own
// watcher sees every file appear whole; no staging directory is ever left behind. And each
// fallback to the per-call path is logged once.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { realClock } from '../../../src/util/clock.ts';
import { planArchive, type PathMapping } from '../../../src/adapters/tar/archive.ts';
import { DockerContainerUpdater } from '../../../src/adapters/containers/docker.ts';
import { ChannelPool, type ChannelEvent } from '../../../src/adapters/containers/channel/pool.ts';
import { DockerAgentTransport } from '../../../src/adapters/containers/channel/docker.ts';
import { logChannelEvents } from '../../../src/adapters/containers/channel/log.ts';
import type { ContainerTarget, ContainerUpdate } from '../../../src/adapters/containers/updater.ts';
import { cleanupContainers, execIn, requireDocker, runContainer, testImages, testLabel } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';
import { listingCommand, localListing } from './channel-batch.ts';

after(cleanupContainers);

interface Fixture {
  docker: Docker;
  updater: DockerContainerUpdater;
  events: ChannelEvent[];
  /** logged are the lines logChannelEvents wrote at info or warn. */
  logged: { level: string; message: string; meta: unknown }[];
  dir: string;
}

async function fixture(t: { after(fn: () => Promise<void>): void }): Promise<Fixture | undefined> {
  const docker = await requireDocker(t as never);
  if (!docker) return undefined;
  const events: ChannelEvent[] = [];
  const logged: Fixture['logged'] = [];
  const line = (level: string) => (message: string, meta: unknown) => {
    logged.push({ level, message, meta });
    return undefined as never;
  };
  const onLog = logChannelEvents({ debug: () => undefined as never, info: line('info'), warn: line('warn') } as never);
  const updater = new DockerContainerUpdater({ docker, clock: realClock, channel: { onEvent: (e) => (events.push(e), onLog(e)) } });
  t.after(() => updater.close());
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-atomic-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  return { docker, updater, events, logged, dir };
}

function target(id: string): ContainerTarget {
  return { containerId: id, containerName: '', podName: '', namespace: '' };
}

async function changes(id: string, mappings: PathMapping[], u: Partial<ContainerUpdate> = {}): Promise<ContainerUpdate> {
  const plan = await planArchive(mappings);
  return { target: target(id), deletePaths: [], execs: [], restart: false, archive: plan.stream, entries: plan.entries, ...u };
}

const kinds = (events: ChannelEvent[]) => events.map((e) => e.kind);

/** leftovers lists the staging directories and temporary files below dir in the container. */
async function leftovers(docker: Docker, id: string, dir: string): Promise<string> {
  const r = await execIn(docker, id, ['sh', '-c', `find ${dir} -name '.ferry-*' -o -name '*.ferry[0-9]*'`]);
  assert.equal(r.exitCode, 0, r.stderr);
  return r.stdout;
}

/** Files of the batch in /app/w (and /app/w/sub): dotfiles, spaces, modes, and kinds replaced. */
const batchFiles: [string, number][] = [
  ['a0.txt', 0o644],
  ['a1.txt', 0o755],
  ['a2.txt', 0o600],
  ['old.txt', 0o644],
  ['.env', 0o600],
  ['..dots', 0o644],
  ['with space.txt', 0o644],
  ['.hidden file', 0o640],
  ['was-dir', 0o644],
  ['sub/s0.txt', 0o644],
  ['sub/.s1', 0o700],
  ['sub/s 2', 0o644],
  ['was-file/inner.txt', 0o644],
  ['was-file/.inner', 0o644],
];

/** prepared sets up /app/w in the container (old files, a directory and a file about to change kind) and the batch on this machine. */
async function prepared(f: Fixture, id: string): Promise<string> {
  const r = await execIn(f.docker, id, [
    'sh',
    '-c',
    'mkdir -p /app/w/sub /app/w/was-dir/deep && echo old > /app/w/old.txt && echo old > /app/w/.env && echo d > /app/w/was-dir/deep/f && echo f > /app/w/was-file',
  ]);
  assert.equal(r.exitCode, 0, r.stderr);
  const src = path.join(f.dir, 'w');
  const then = new Date('2024-03-01T10:00:00Z');
  for (const [i, [name, mode]] of batchFiles.entries()) {
    const p = path.join(src, name);
    await fsp.mkdir(path.dirname(p), { recursive: true });
    await fsp.writeFile(p, `${name} ${i}\n`.repeat(i + 1));
    await fsp.chmod(p, mode);
    await fsp.utimes(p, then, new Date(then.getTime() + i * 1000));
  }
  return src;
}

test('channel batch: files arrive by a rename into place (moved_to, never a write on the final name), exact, with nothing staged left', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busybox });
  const src = await prepared(f, c.id);
  f.updater.retain('default/web', [target(c.id)]);
  // The application's watcher: busybox inotifyd on the two directories, started before the batch.
  const watching = execIn(f.docker, c.id, ['sh', '-c', 'echo $$ > /tmp/watcher; exec inotifyd - /app/w:wynd /app/w/sub:wynd > /tmp/events']);
  t.after(async () => {
    await execIn(f.docker, c.id, ['sh', '-c', 'kill $(cat /tmp/watcher)']);
    await watching;
  });
  await new Promise((r) => setTimeout(r, 300)); // its watches set

  await f.updater.update(await changes(c.id, [{ localPath: src, containerPath: '/app/w' }]));
  const inside = await execIn(f.docker, c.id, listingCommand('/app/w'));
  assert.equal(inside.exitCode, 0, inside.stderr);
  assert.equal(inside.stdout, await localListing(src), 'contents, modes and mtimes');
  assert.equal(await leftovers(f.docker, c.id, '/app'), '', 'no staging directory left');

  const watched = batchFiles.map(([name]) => name).filter((n) => !n.startsWith('was-file/'));
  const events = await waitFor(
    async () => {
      const text = (await execIn(f.docker, c.id, ['cat', '/tmp/events'])).stdout;
      const lines = text.split('\n').filter(Boolean).map((l) => l.split('\t'));
      const moved = (n: string) => lines.some(([ev, dir, name]) => ev === 'y' && path.posix.join(dir!, name!) === `/app/w/${n}`);
      return watched.every(moved) ? lines : undefined;
    },
    { message: 'every file renamed into place' },
  );
  for (const n of watched) {
    const onIt = events.filter(([, dir, name]) => path.posix.join(dir!, name!) === `/app/w/${n}`).map(([ev]) => ev);
    assert.ok(!onIt.includes('w'), `no write on ${n} itself: ${onIt.join(',')}`);
    assert.ok(!onIt.includes('n'), `${n} not created in place: ${onIt.join(',')}`);
  }
  assert.deepEqual(kinds(f.events), ['opened'], `no fallback: ${JSON.stringify(f.events)}`);
  assert.deepEqual(f.logged, [], 'a healthy run logs nothing at info or warn');
});

test('channel batch: GNU tar and coreutils (dash as sh) rename files into place too', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const image = await gnuImage(f.docker);
  const c = await runContainer(f.docker, { image });
  const src = await prepared(f, c.id);
  f.updater.retain('default/web', [target(c.id)]);
  await f.updater.update(await changes(c.id, [{ localPath: src, containerPath: '/app/w' }]));
  assert.deepEqual(kinds(f.events), ['opened'], `no fallback: ${JSON.stringify(f.events)}`);
  assert.equal(f.events[0]!.message, 'with tar');
  const inside = await execIn(f.docker, c.id, listingCommand('/app/w'));
  assert.equal(inside.exitCode, 0, inside.stderr);
  assert.equal(inside.stdout, await localListing(src));
  assert.equal(await leftovers(f.docker, c.id, '/app'), '');
});

test('channel batch: a tar that fails leaves no staging directory; the batch goes per call', async (t) => {
  const docker = await requireDocker(t as never);
  if (!docker) return;
  const c = await runContainer(docker, { image: testImages.busybox });
  // busybox tar cannot put a symlink where a directory with files is: it fails there, after
  // the staging directories of the files before it were made.
  await execIn(docker, c.id, ['sh', '-c', 'mkdir -p /app/ok/zlink/deep']);
  const events: ChannelEvent[] = [];
  const pool = new ChannelPool({ transport: new DockerAgentTransport(docker), clock: realClock, onEvent: (e) => events.push(e) });
  t.after(() => pool.close());
  pool.retain('default/web', [target(c.id)]);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-atomic-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  const mappings: PathMapping[] = [];
  for (let i = 0; i < 12; i++) {
    await fsp.writeFile(path.join(dir, `f${i}`), `f${i}`);
    mappings.push({ localPath: path.join(dir, `f${i}`), containerPath: `/app/ok/sub${i % 3}/f${i}` });
  }
  await fsp.symlink('nowhere', path.join(dir, 'zlink'));
  mappings.push({ localPath: path.join(dir, 'zlink'), containerPath: '/app/ok/zlink' });
  const notices: string[] = [];
  const u = { ...(await changes(c.id, mappings)), onNotice: (line: string) => notices.push(line) };
  assert.equal(await pool.send(u), false, 'the channel refused the batch');
  assert.match(events.find((e) => e.kind === 'fallback')?.message ?? '', /err tar/);
  assert.equal(notices.length, 1, 'one line for the sync log');
  assert.match(notices[0]!, /^Copying per call: the sync channel failed \(.*err tar.*\)$/);
  assert.equal(await leftovers(docker, c.id, '/app'), '', 'no staging directory left');
  // The channel is still there, and the batch without the link arrives whole.
  assert.equal(await pool.send({ ...u, entries: u.entries!.filter((e) => e.type !== 'symlink') }), true);
  assert.equal((await execIn(docker, c.id, ['sh', '-c', 'cat /app/ok/sub*/f*'])).stdout.length, 'f0f1f2f3f4f5f6f7f8f9f10f11'.length);
  assert.equal(await leftovers(docker, c.id, '/app'), '');
  assert.deepEqual(kinds(events), ['opened', 'fallback']);
});

test('channel batch: the agent killed while it extracts leaves nothing staged once the batch went per call, and one log line says so', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const c = await runContainer(f.docker, { image: testImages.busybox });
  f.updater.retain('default/web', [target(c.id)]);
  await waitFor(async () => kinds(f.events).includes('opened') || undefined, { message: 'the channel opened' });
  const src = path.join(f.dir, 'tree');
  for (let i = 0; i < 1500; i++) {
    const p = path.join(src, `d${i % 5}`, `f${i}.txt`);
    await fsp.mkdir(path.dirname(p), { recursive: true });
    await fsp.writeFile(p, `file ${i}\n`.repeat(20));
  }
  await execIn(f.docker, c.id, ['mkdir', '-p', '/app/tree/d0', '/app/tree/d1', '/app/tree/d2', '/app/tree/d3', '/app/tree/d4']);
  const pid = await waitFor(async () => Number((await execIn(f.docker, c.id, ['sh', '-c', agentPidScript])).stdout.trim()) || undefined, { message: 'the agent' });
  // In the container: as soon as a staging directory appears, the agent is killed (builtins
  // only, so it lands while tar extracts).
  const killer = execIn(f.docker, c.id, [
    'sh',
    '-c',
    `: > /tmp/ready; i=0; while [ $i -lt 2000000 ]; do for s in /app/tree/d*/.ferry-*; do [ -d "$s" ] && { kill -9 ${pid}; echo "$s"; exit 0; }; done; i=$((i+1)); done; exit 1`,
  ]);
  await waitFor(async () => (await execIn(f.docker, c.id, ['test', '-e', '/tmp/ready'])).exitCode === 0 || undefined, { message: 'the killer ready' });
  await f.updater.update(await changes(c.id, [{ localPath: src, containerPath: '/app/tree' }]));
  const k = await killer;
  assert.equal(k.exitCode, 0, 'a staging directory was seen and the agent killed');
  assert.match(k.stdout, /\.ferry-\d+-\d+/);
  assert.ok(kinds(f.events).includes('fallback'));
  assert.equal((await execIn(f.docker, c.id, listingCommand('/app/tree', false))).stdout, await localListing(src, false));
  assert.equal(await leftovers(f.docker, c.id, '/app'), '', 'no staging directory left');
  assert.equal(f.logged.length, 1, `one line: ${JSON.stringify(f.logged)}`);
  assert.equal(f.logged[0]!.level, 'warn');
  assert.match(f.logged[0]!.message, /per-call/);
  const meta = f.logged[0]!.meta as { container: string; reason: string };
  assert.equal(meta.container, c.id.slice(0, 12));
  assert.match(meta.reason, /agent/);
});

/** agentPidScript prints the pid of the agent running in the container. */
const agentPidScript = 'for p in /proc/[0-9]*; do tr "\\0" " " <$p/cmdline | grep -q "ferry-agent 1 [$]" && echo ${p#/proc/}; done; true';

/**
 * gnuImage builds (once) an image of this machine's GNU tools: dash as `sh`, GNU tar, dd, mv,
 * rm and the other coreutils the agent and listingCommand use, with their libraries.
 */
async function gnuImage(docker: Docker): Promise<string> {
  const name = 'ferry-test/gnu:latest';
  try {
    await docker.getImage(name).inspect();
    return name;
  } catch {
    // built below
  }
  const tools = ['tar', 'dd', 'mv', 'rm', 'cat', 'mkdir', 'chmod', 'touch', 'ln', 'sleep', 'find', 'sort', 'xargs', 'stat', 'md5sum', 'readlink', 'test', 'kill'];
  const which = (b: string) => execFileSync('sh', ['-c', `command -v ${b}`], { encoding: 'utf8' }).trim();
  const files = new Map<string, string>([['bin/sh', which('dash')]]);
  for (const tool of tools) {
    const p = which(tool);
    if (p.startsWith('/')) files.set(`bin/${tool}`, p);
  }
  const libs = new Set<string>();
  for (const bin of files.values()) {
    for (const m of execFileSync('ldd', [bin], { encoding: 'utf8' }).matchAll(/(\/\S+\.so[.\d]*)/g)) libs.add(m[1]!);
  }
  const pack = tar.pack();
  const dirs = new Set<string>(['bin', 'tmp']);
  for (const lib of libs) for (let d = path.posix.dirname(lib.slice(1)); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
  for (const d of [...dirs].sort()) pack.entry({ name: d, type: 'directory', mode: d === 'tmp' ? 0o1777 : 0o755 });
  for (const [at, from] of files) pack.entry({ name: at, mode: 0o755 }, await fsp.readFile(from));
  for (const lib of libs) pack.entry({ name: lib.slice(1), mode: 0o755 }, await fsp.readFile(lib));
  pack.finalize();
  const body = new PassThrough();
  (pack as unknown as NodeJS.ReadableStream).pipe(body);
  const [repo, tag] = name.split(':');
  const stream = (await docker.importImage(body as never, { repo, tag, changes: [`LABEL ${testLabel}=1`] } as never)) as unknown as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
  return name;
}
