import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { waitFor } from '../../support/wait.ts';
import {
  FakeProcessRunner,
  LocalProcessRunner,
  displayArgs,
  exitStatusString,
  mergeEnv,
  type OutputStream,
} from '../../../src/adapters/process/index.ts';

function collect() {
  const lines: [string, OutputStream][] = [];
  return { lines, onLine: (l: string, s: OutputStream) => lines.push([l, s]) };
}

describe('LocalProcessRunner', () => {
  const runner = new LocalProcessRunner();

  it('runs an argv in a directory with the given environment, line by line', async (t) => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'ferry-proc-')));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const { lines, onLine } = collect();
    const p = runner.start({
      argv: ['sh', '-c', 'pwd; echo "$GREETING"; printf "no newline" >&2'],
      dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GREETING: 'hello world' },
      onLine,
    });
    const r = await p.done;
    assert.deepEqual(r, { exitCode: 0, signal: null });
    assert.deepEqual(lines.filter(([, s]) => s === 'stdout').map(([l]) => l), [dir, 'hello world']);
    assert.deepEqual(lines.filter(([, s]) => s === 'stderr').map(([l]) => l), ['no newline']);
  });

  it('does not use a shell for a plain argv', async () => {
    const { lines, onLine } = collect();
    const r = await runner.start({ argv: ['echo', '$HOME', 'a b'], onLine }).done;
    assert.equal(r.exitCode, 0);
    assert.deepEqual(lines, [['$HOME a b', 'stdout']]);
  });

  it('reports the exit status', async () => {
    const r = await runner.start({ argv: ['sh', '-c', 'exit 3'] }).done;
    assert.equal(r.exitCode, 3);
    assert.equal(exitStatusString(r), 'exit status 3');
  });

  it('reports a program that does not exist', async () => {
    const r = await runner.start({ argv: ['ferry-no-such-program'] }).done;
    assert.equal(r.exitCode, null);
    assert.equal(exitStatusString(r), 'exec: "ferry-no-such-program": executable file not found in $PATH');
  });

  it('kills the whole process group', async () => {
    const { lines, onLine } = collect();
    const p = runner.start({ argv: ['sh', '-c', 'sleep 30 & echo started; wait'], onLine });
    while (!lines.length) await new Promise((r) => setTimeout(r, 10));
    p.kill();
    const r = await p.done;
    assert.equal(r.signal, 'SIGTERM');
    assert.equal(exitStatusString(r), 'signal: terminated');
    await waitFor(async () => (await liveInGroup(p.pid!)).length === 0, { message: 'the group to be gone' });
  });

  it('kills on abort', async () => {
    const ac = new AbortController();
    const p = runner.start({ argv: ['sleep', '30'], signal: ac.signal });
    ac.abort();
    const r = await p.done;
    assert.equal(r.signal, 'SIGTERM');
  });
});

/** liveInGroup lists the pids of a process group that are not zombies. */
async function liveInGroup(pgid: number): Promise<number[]> {
  const live: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = await readFile(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') live.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return live;
}

describe('helpers', () => {
  it('mergeEnv lets later values win', () => {
    assert.deepEqual(mergeEnv({ A: '1', B: '2', U: undefined }, ['B=3', 'C=x=y'], undefined, ['A=0', 'D']), { A: '0', B: '3', C: 'x=y', D: '' });
  });

  it('displayArgs shows sh -c scripts bare and quotes spaces', () => {
    assert.equal(displayArgs(['sh', '-c', 'make build']), 'make build');
    assert.equal(displayArgs(['docker', 'build', 'my dir']), 'docker build "my dir"');
  });
});

describe('FakeProcessRunner', () => {
  it('plays scripts back in order and records calls', async () => {
    const f = new FakeProcessRunner();
    f.enqueue({ lines: ['one'], exitCode: 2 });
    const { lines, onLine } = collect();
    assert.deepEqual(await f.start({ argv: ['a'], onLine }).done, { exitCode: 2, signal: null });
    assert.deepEqual(await f.start({ argv: ['b'] }).done, { exitCode: 0, signal: null });
    assert.deepEqual(f.calls.map((c) => c.argv), [['a'], ['b']]);
    assert.deepEqual(lines, [['one', 'stdout']]);
  });
});
