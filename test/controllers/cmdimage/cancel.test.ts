/**
 * A build that hangs does not keep its CmdImage `building` forever: a spec change kills it and
 * builds the new spec, and the build timeout kills it and fails it with reason Timeout.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConfigMap } from '../../../src/apis/index.ts';
import { triggerResource } from '../../../src/cli/trigger.ts';
import { LocalProcessRunner, type ProcessRunner, type ProcessSpec, type RunningProcess } from '../../../src/adapters/process/index.ts';
import { waitFor } from '../../support/wait.ts';
import { closeSharedServer, newFixture, type Fixture } from './fixture.ts';

after(closeSharedServer);

/** hang is a fake build that runs until it is killed. */
const hang = { run: () => new Promise<void>(() => {}) };

const timeoutMs = 60_000;

describe('CmdImage builds that hang', () => {
  it('a spec change kills the running build and builds the new spec', async (t) => {
    const f = await newFixture(t);
    f.runner.enqueue(hang);
    await f.cmdImage('app');
    await f.waitStatus('app', (s) => !!s.building, 'building');
    await f.clock.advance(1000);
    await f.client.patch('CmdImage', 'app', { spec: { env: ['MODE=fast'] } });

    const c = await f.waitBuilt('app');
    assert.equal(c.status!.completed!.reason, 'SpecChanged');
    assert.equal(c.status!.completed!.startedAt, '2024-01-01T00:00:01.000000Z');
    assert.equal(f.runner.calls.length, 2);
    assert.equal(f.runner.calls[1]!.env!.MODE, 'fast');
    assert.equal(f.runner.maxRunning, 1, 'the new build starts once the old one has ended');
    assert.ok(f.logs.lines({ resource: 'app' }).some((l) => /Build cancelled: the spec changed/.test(l.line)));
    await f.assertSteady(assert.equal);
  });

  it('a build that runs past the timeout is killed and fails with reason Timeout', async (t) => {
    const f = await newFixture(t, { buildTimeoutMs: timeoutMs });
    f.runner.enqueue(hang);
    await f.cmdImage('app');
    await f.waitStatus('app', (s) => !!s.building, 'building');
    await f.clock.advance(timeoutMs - 1);
    await f.controller.idle();
    assert.ok((await f.get('app'))!.status!.building, 'still building just before the timeout');

    await f.clock.advance(1);
    const c = await f.waitStatus('app', (s) => !!s.completed, 'completed');
    assert.equal(c.status!.building, undefined);
    assert.equal(c.status!.completed!.reason, 'Timeout');
    assert.match(c.status!.completed!.error!, /^Build timed out after 1m0s \(ferry serve --build-timeout\); its processes were killed$/);
    assert.equal(c.status!.completed!.finishedAt, '2024-01-01T00:01:00.000000Z');
    assert.equal((await f.imageMap('app'))!.status?.image, undefined, 'no image from a build that timed out');
    assert.equal(f.runner.running, 0, 'the build process was killed');
    await f.assertSteady(assert.equal);
  });

  it('a trigger during a hanging build gives one more build once the timeout ends it', async (t) => {
    const f = await newFixture(t, { buildTimeoutMs: timeoutMs });
    f.runner.enqueue(hang);
    await f.cmdImage('app');
    await f.waitStatus('app', (s) => !!s.building, 'building');
    for (let i = 0; i < 3; i++) {
      await triggerResource(f.client, 'app');
      await waitFor(async () => !Object.values((await f.client.get<ConfigMap>('ConfigMap', 'tilt-trigger-queue'))?.data ?? {}).includes('app'), {
        message: 'trigger consumed',
      });
    }
    await f.controller.idle();
    assert.equal(f.runner.calls.length, 1, 'a trigger does not cancel the running build');
    assert.ok(f.reconciler.building('app'));

    await f.clock.advance(timeoutMs);
    const c = await f.waitBuilt('app');
    assert.equal(c.status!.completed!.reason, 'Triggered');
    assert.equal(f.runner.calls.length, 2, 'the timed-out build and exactly one follow-up');
    assert.equal(f.runner.maxRunning, 1);
    assert.ok(f.logs.lines({ resource: 'app' }).some((l) => /Build failed: Build timed out after 1m0s/.test(l.line)));
    await f.assertSteady(assert.equal);
  });
});

/**
 * TaggingRunner runs real processes and, like a build script would, tags $EXPECTED_REF in the
 * fixture's fake image store when the command succeeds.
 */
class TaggingRunner implements ProcessRunner {
  private readonly local = new LocalProcessRunner();
  constructor(private readonly f: () => Fixture) {}

  start(spec: ProcessSpec): RunningProcess {
    this.f().runner.calls.push(spec);
    const proc = this.local.start(spec);
    return {
      pid: proc.pid,
      kill: proc.kill,
      done: proc.done.then((r) => {
        if (r.exitCode === 0) this.f().tagExpected(spec);
        return r;
      }),
    };
  }
}

/** gone is true when no process has this pid any more (or only its zombie is left). */
async function gone(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

describe('CmdImage builds that hang, with real processes', () => {
  /** hangingBuild is a build command whose child `sleep` writes its pid to pidFile and never ends. */
  const hangingBuild = (pidFile: string) => ['sh', '-c', `sleep 1000 & echo $! > ${pidFile}; wait`];

  async function sleeperPid(pidFile: string): Promise<number> {
    return waitFor(async () => Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || undefined, { message: 'sleep started' });
  }

  it('the timeout kills the build command and everything it started', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-cmdimage-hang-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    let f!: Fixture;
    f = await newFixture(t, { buildTimeoutMs: timeoutMs, runner: new TaggingRunner(() => f) });
    const pidFile = path.join(dir, 'pid');
    await f.cmdImage('app', { args: hangingBuild(pidFile) });
    const pid = await sleeperPid(pidFile);
    assert.equal(await gone(pid), false);

    await f.clock.advance(timeoutMs);
    const c = await f.waitStatus('app', (s) => !!s.completed, 'completed');
    assert.equal(c.status!.completed!.reason, 'Timeout');
    await waitFor(() => gone(pid), { message: `the build's child process ${pid} was killed` });
  });

  it('a spec change kills the running build command and runs the new one', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-cmdimage-hang-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    let f!: Fixture;
    f = await newFixture(t, { runner: new TaggingRunner(() => f) });
    const pidFile = path.join(dir, 'pid');
    await f.cmdImage('app', { args: hangingBuild(pidFile) });
    const pid = await sleeperPid(pidFile);

    await f.client.patch('CmdImage', 'app', { spec: { args: ['sh', '-c', 'true'] } });
    const c = await f.waitBuilt('app');
    assert.equal(c.status!.completed!.reason, 'SpecChanged');
    await waitFor(() => gone(pid), { message: `the old build's child process ${pid} was killed` });
  });
});
