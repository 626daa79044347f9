// sendChanges against a recording channel: a streamed file that changes while it is sent is
// aborted in the container and sent again, whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { planArchive } from '../../../src/adapters/tar/archive.ts';
import type { Channel, FrameWriter } from '../../../src/adapters/containers/channel/channel.ts';
import { sendChanges, tarMinEntries } from '../../../src/adapters/containers/channel/send.ts';
import tarStream from 'tar-stream';

/** recorder is a channel that keeps what was written and answers each write frame by its trailer. */
function recorder(onWrite: (data: Buffer, count: number) => void, tar = false) {
  const writes: Buffer[] = [];
  const waiting = new Map<number, (a: string) => void>();
  let seq = 0;
  const writer: FrameWriter = {
    nextSeq: () => ++seq,
    answer: (s) => new Promise((resolve) => waiting.set(s, resolve)),
    write: async (data) => {
      writes.push(data);
      onWrite(data, writes.length);
      const text = data.subarray(0, 64).toString('latin1');
      const end = /^E (\d+) (ok|abort)\n$/.exec(text) ?? /E (\d+) (ok|abort)\n$/.exec(data.subarray(-32).toString('latin1'));
      if (end) waiting.get(Number(end[1]))?.(end[2] === 'ok' ? 'ok' : 'aborted');
      const other = /^[DMNLP] (\d+) /.exec(text);
      if (other) waiting.get(Number(other[1]))?.('ok');
    },
  };
  const ch = { tar, pid: 42, exclusive: <T>(fn: (w: FrameWriter) => Promise<T>) => fn(writer) } as unknown as Channel;
  return { ch, writes };
}

test('send: a streamed file rewritten during the send is aborted and sent again whole', async (t) => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-send-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'big.bin');
  const size = 2 * 1024 * 1024;
  await fsp.writeFile(file, Buffer.alloc(size, 'a'));
  const plan = await planArchive([{ localPath: file, containerPath: '/app/big.bin' }]);
  let rewritten = false;
  const { ch, writes } = recorder((_, count) => {
    // After the header and the first chunk, the file is rewritten in place (same inode).
    if (count === 2 && !rewritten) {
      rewritten = true;
      writeFileSync(file, Buffer.alloc(size, 'b'));
    }
  });
  await sendChanges(ch, [], plan.entries);
  const text = writes.map((w) => (w.length < 200 ? w.toString('latin1') : `<${w.length} bytes of ${String.fromCharCode(w[0]!)}>`));
  const firstEnd = text.indexOf('E 1 abort\n');
  assert.ok(firstEnd > 0, 'the first attempt was aborted');
  assert.match(text[firstEnd + 1]!, /^W 2 2097152 0644 0133 \d+\n\/app\/big.bin\n$/);
  const second = writes.slice(firstEnd + 2, -1);
  assert.deepEqual(Buffer.concat(second), Buffer.alloc(size, 'b'), 'the second attempt carries the new content whole');
  assert.equal(text.at(-1), 'E 2 ok\n');
});

test('send: a small file is framed whole with its mode; a path missing since planned is not sent', async (t) => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-send-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  await fsp.writeFile(path.join(dir, 'a'), 'AB', { mode: 0o600 });
  await fsp.writeFile(path.join(dir, 'gone'), 'x');
  const plan = await planArchive([{ localPath: dir, containerPath: '/app' }]);
  await fsp.rm(path.join(dir, 'gone'));
  const { ch, writes } = recorder(() => undefined);
  await sendChanges(ch, ['/app/old'], plan.entries);
  const all = Buffer.concat(writes).toString('latin1');
  const mtime = Math.floor((await fsp.stat(path.join(dir, 'a'))).mtimeMs / 1000);
  assert.equal(all, `D 1 0 0000 - -\n/app/old\nM 2 0 0${(await fsp.stat(dir)).mode.toString(8).slice(-3)} - -\n/app\nW 3 2 0600 0177 ${mtime}\n/app/a\nABE 3 ok\n`);
});

test('send: with tar, a run of small entries goes as one tar frame after the directories it needs; a large file and a short batch go per file', async (t) => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-send-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  await fsp.mkdir(path.join(dir, 'sub'));
  const mappings = [];
  for (let i = 0; i < tarMinEntries + 2; i++) {
    await fsp.writeFile(path.join(dir, 'sub', `f${i}`), `file ${i}`);
    mappings.push({ localPath: path.join(dir, 'sub', `f${i}`), containerPath: `/app/sub/f${i}`, root: dir });
  }
  await fsp.writeFile(path.join(dir, 'big.bin'), Buffer.alloc(2 * 1024 * 1024, 'z'));
  mappings.push({ localPath: path.join(dir, 'big.bin'), containerPath: '/app/big.bin', root: dir });
  const { ch, writes } = recorder(() => undefined, true);
  await sendChanges(ch, [], (await planArchive(mappings)).entries);
  const heads = writes.map((w) => w.subarray(0, 80).toString('latin1').split('\n').slice(0, 2).join(' '));
  assert.equal(heads[0], 'N 1 0 0000 - - /app/sub', 'the directory the files go into');
  // Its header gives the tar's size and the length of the list of directories receiving files.
  assert.match(heads[1]!, /^T 2 \d+ 9 - - \/$/);
  assert.match(heads[2]!, /^W 3 2097152 0644 0133 \d+ \/app\/big.bin$/);
  // The tar frame holds every small file in a staging directory beside it, read back with tar-stream.
  const frame = writes[1]!;
  const listAt = frame.indexOf('\n/\n') + 3;
  assert.equal(frame.toString('utf8', listAt, listAt + 9), '/app/sub\n');
  const body = frame.subarray(listAt + 9, frame.length - 'E 2 ok\n'.length);
  assert.equal(body.length, Number(heads[1]!.split(' ')[2]));
  const names: string[] = [];
  const extract = tarStream.extract();
  extract.on('entry', (h, stream, next) => {
    names.push(h.name);
    stream.resume();
    stream.on('end', next);
  });
  const done = new Promise<void>((resolve) => extract.on('finish', () => resolve()));
  extract.end(body);
  await done;
  const staged = mappings.slice(0, -1).map((m) => m.containerPath.slice(1).replace('app/sub/', 'app/sub/.ferry-42-2/'));
  assert.deepEqual(names.sort(), ['app/sub/.ferry-42-2', ...staged].sort());

  const few = recorder(() => undefined, true);
  await sendChanges(few.ch, [], (await planArchive(mappings.slice(0, 3))).entries);
  assert.deepEqual(few.writes.map((w) => w.toString('latin1', 0, 1)), ['W', 'W', 'W'], 'below tarMinEntries: one frame per file');
});
