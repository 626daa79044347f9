// The agent's protocol, run by this machine's own sh (dash, GNU dd): frames, answers, aborts and
// a lost frame boundary, without a container.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import tarStream from 'tar-stream';
import { agentCommand, header, tarHeader, trailer, umaskFor } from '../../../src/adapters/containers/channel/agent.ts';

/** run feeds frames to a local agent and returns its answers (the greeting dropped) and exit code. */
async function run(input: Buffer[]): Promise<{ answers: string[]; code: number | null }> {
  const child = spawn(agentCommand[0]!, agentCommand.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stdin.end(Buffer.concat(input));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const lines = Buffer.concat(out).toString('utf8').split('\n').filter(Boolean);
  assert.match(lines[0] ?? '', /^ferry-agent 1 \d+ (tar|-)$/);
  return { answers: lines.slice(1), code };
}

async function tmp(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-agent-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  return dir;
}

test('agent: writes exact bytes under a temporary name then renames, with its mode', async (t) => {
  const dir = await tmp(t);
  const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.alloc(70_000, 7)]);
  const file = path.join(dir, 'new dir', "a 'b' $c\\d.bin");
  const { answers, code } = await run([
    header('W', 1, file, data.length, 0o640), data, trailer(1, true),
    header('W', 2, path.join(dir, 'run'), 2, 0o755, new Date(1_000_000_000_000)), Buffer.from('hi'), trailer(2, true),
    header('M', 3, path.join(dir, 'made', 'deep'), 0, 0o700),
    Buffer.concat([header('L', 4, path.join(dir, 'link')), Buffer.from('new dir/x y\n')]),
    header('P', 5, ''),
  ]);
  assert.deepEqual(answers, ['1 ok', '2 ok', '3 ok', '4 ok', '5 ok']);
  assert.equal(code, 0);
  assert.deepEqual(await fsp.readFile(file), data);
  assert.equal((await fsp.stat(file)).mode & 0o777, 0o640);
  assert.equal((await fsp.stat(path.join(dir, 'run'))).mode & 0o777, 0o755);
  assert.equal((await fsp.stat(path.join(dir, 'run'))).mtimeMs, 1_000_000_000_000, 'the mtime given');
  assert.equal((await fsp.stat(path.join(dir, 'made', 'deep'))).mode & 0o777, 0o700);
  assert.equal(await fsp.readlink(path.join(dir, 'link')), 'new dir/x y');
  assert.deepEqual((await fsp.readdir(path.join(dir, 'new dir'))).sort(), ["a 'b' $c\\d.bin"], 'no temporary file left');
});

test('agent: an aborted write leaves the old file, deletes remove trees, a failed write says so', async (t) => {
  const dir = await tmp(t);
  await fsp.writeFile(path.join(dir, 'kept'), 'old');
  await fsp.mkdir(path.join(dir, 'tree', 'deep'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'tree', 'deep', 'f'), 'f');
  await fsp.mkdir(path.join(dir, 'ro'), { mode: 0o500 });
  const root = process.getuid?.() === 0;
  const { answers } = await run([
    header('W', 1, path.join(dir, 'kept'), 3, 0o644), Buffer.from('new'), trailer(1, false),
    header('D', 2, path.join(dir, 'tree')),
    header('W', 3, path.join(dir, 'ro', 'x'), 3, 0o644), Buffer.from('xyz'), trailer(3, true),
    header('P', 4, ''),
  ]);
  assert.deepEqual(answers, ['1 aborted', '2 ok', root ? '3 ok' : '3 err write', '4 ok'], 'the stream stays in step after a failed write');
  assert.equal(await fsp.readFile(path.join(dir, 'kept'), 'utf8'), 'old');
  await assert.rejects(fsp.stat(path.join(dir, 'tree')));
  assert.deepEqual(await fsp.readdir(dir).then((l) => l.sort()), ['kept', 'ro']);
});

test('agent: a trailer that does not match its header ends the agent, leaving nothing', async (t) => {
  const dir = await tmp(t);
  const { answers, code } = await run([header('W', 1, path.join(dir, 'f'), 3, 0o644), Buffer.from('abcd'), trailer(1, true), header('P', 2, '')]);
  assert.deepEqual(answers, ['1 desync']);
  assert.equal(code, 2);
  assert.deepEqual(await fsp.readdir(dir), []);
});

test('agent: the umask gives the mode at creation; execute and special bits need a chmod', () => {
  assert.equal(umaskFor(0o644), '0133');
  assert.equal(umaskFor(0o600), '0177');
  assert.equal(umaskFor(0o666), '0111');
  assert.equal(umaskFor(0o755), '-');
  assert.equal(umaskFor(0o4644), '-');
});

test('agent: a tar frame is extracted with exact modes and mtimes, and the stream stays in step whatever tar leaves unread', async (t) => {
  const dir = await tmp(t);
  const name = dir.slice(1);
  const pack = tarStream.pack();
  const mtime = new Date(1_000_000_000_000);
  pack.entry({ name: `${name}/d`, type: 'directory', mode: 0o750, mtime });
  pack.entry({ name: `${name}/d/run.sh`, mode: 0o775, mtime }, 'echo hi\n');
  pack.entry({ name: `${name}/d/link`, type: 'symlink', linkname: 'run.sh', mode: 0o777, mtime });
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  // Bytes after the archive's end, which tar does not read: the agent drains them.
  const archive = Buffer.concat([...chunks, Buffer.alloc(3000)]);
  const garbage = Buffer.alloc(2048, 'g');
  const { answers, code } = await run([
    header('N', 1, path.join(dir, 'made', 'deep')),
    tarHeader(2, archive.length, 0), archive, trailer(2, true),
    tarHeader(3, garbage.length, 0), garbage, trailer(3, true),
    header('P', 4, ''),
  ]);
  assert.deepEqual(answers, ['1 ok', '2 ok', '3 err tar', '4 ok']);
  assert.equal(code, 0);
  assert.ok((await fsp.stat(path.join(dir, 'made', 'deep'))).isDirectory());
  const st = await fsp.stat(path.join(dir, 'd', 'run.sh'));
  assert.equal(st.mode & 0o7777, 0o775, 'exact, whatever the umask');
  assert.equal(st.mtimeMs, mtime.getTime());
  assert.equal((await fsp.stat(path.join(dir, 'd'))).mode & 0o7777, 0o750);
  assert.equal(await fsp.readlink(path.join(dir, 'd', 'link')), 'run.sh');
});
