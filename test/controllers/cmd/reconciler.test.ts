import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { groupAlive } from '../../../controllers/cmd/index.ts';
import { waitFor } from '../../support/wait.ts';
import { newFixture, pidAlive } from './fixture.ts';

test('a command that prints and exits: output by line, terminated with its exit code', async (t) => {
  const f = await newFixture(t);
  await f.cmd('hello', { args: ['sh', '-c', 'echo one; echo two >&2; exit 3'] });
  const c = await f.waitStatus('hello', (s) => !!s.terminated, 'terminated');
  const term = c.status!.terminated!;
  assert.equal(term.exitCode, 3);
  assert.equal(term.reason, 'exit status 3');
  assert.ok(term.pid > 0);
  assert.ok(term.startedAt && term.finishedAt && term.finishedAt >= term.startedAt);
  assert.equal(c.status!.ready, false);
  assert.deepEqual(f.lines('hello').sort(), ['one', 'two']);

  await f.cmd('clean', { args: ['true'] });
  const ok = await f.waitStatus('clean', (s) => !!s.terminated, 'terminated');
  assert.equal(ok.status!.terminated!.exitCode, 0);
  assert.equal(ok.status!.terminated!.reason, undefined);
  assert.ok(await f.steady('clean'), 'reconciling again changes nothing');
});

test('a running process is ready without a probe; env and a relative dir apply', async (t) => {
  const f = await newFixture(t);
  fs.mkdirSync(path.join(f.dir, 'sub'));
  await f.cmd('srv', { args: ['sh', '-c', 'echo "$GREETING from $(pwd)"; exec sleep 1000'], dir: 'sub', env: ['GREETING=hi'] });
  const c = await f.waitStatus('srv', (s) => !!s.running && s.ready === true, 'running and ready');
  assert.ok(pidAlive(c.status!.running!.pid));
  await waitFor(() => f.lines('srv').length > 0, { message: 'output' });
  assert.deepEqual(f.lines('srv'), [`hi from ${path.join(f.dir, 'sub')}`]);
  assert.ok(await f.steady('srv'), 'reconciling again changes nothing');
  assert.equal((await f.get('srv'))!.status!.running!.pid, c.status!.running!.pid);
});

test('a FileWatch event restarts a server: new pid, the old process group gone', async (t) => {
  const f = await newFixture(t);
  // An event from before the run does not restart it.
  await f.fileEvent('src');
  await f.cmd('server', { args: ['sh', '-c', 'sleep 1000 & wait'], restartOn: { fileWatches: ['src'] } });
  const first = await f.runningPid('server');
  assert.ok(groupAlive(first));
  await f.cmd('witness', { args: ['true'] });
  await f.waitStatus('witness', (s) => !!s.terminated, 'witness ran');
  assert.equal((await f.get('server'))!.status!.running?.pid, first);

  await f.fileEvent('src');
  const second = (await f.waitStatus('server', (s) => !!s.running && s.running.pid !== first, 'new pid')).status!.running!.pid;
  await waitFor(() => !groupAlive(first), { message: 'old process group gone' });
  assert.ok(groupAlive(second));

  await f.fileEvent('src');
  const third = (await f.waitStatus('server', (s) => !!s.running && s.running.pid !== second, 'third pid')).status!.running!.pid;
  await waitFor(() => !groupAlive(second), { message: 'second process group gone' });
  assert.ok(groupAlive(third));
});

test('a process group that ignores SIGTERM is killed after the grace period', async (t) => {
  const f = await newFixture(t, { stopGraceMs: 300 });
  await f.cmd('stubborn', { args: ['sh', '-c', 'trap "" TERM; sleep 1000 & wait; wait'], restartOn: { fileWatches: ['fw'] } });
  const first = await f.runningPid('stubborn');
  await f.fileEvent('fw');
  await f.waitStatus('stubborn', (s) => !!s.running && s.running.pid !== first, 'new pid');
  assert.equal(groupAlive(first), false);
});

test('a spec change restarts the process', async (t) => {
  const f = await newFixture(t);
  const created = await f.cmd('s', { args: ['sleep', '1000'] });
  const first = await f.runningPid('s');
  const cur = (await f.get('s'))!;
  await f.client.update({ ...cur, spec: { ...created.spec!, args: ['sleep', '2000'] } });
  const second = (await f.waitStatus('s', (s) => !!s.running && s.running.pid !== first, 'new pid')).status!.running!.pid;
  await waitFor(() => !pidAlive(first), { message: 'old process gone' });
  assert.ok(pidAlive(second));
});

test('disabling stops the process and enabling starts it again; deleting stops it', async (t) => {
  const f = await newFixture(t);
  await f.configMap('s-disable', { isDisabled: 'false' });
  await f.cmd('s', { args: ['sleep', '1000'], disableSource: { configMap: { name: 's-disable', key: 'isDisabled' } } });
  const first = await f.runningPid('s');

  await f.configMap('s-disable', { isDisabled: 'true' });
  const disabled = await f.waitStatus('s', (s) => s.waiting?.reason === 'Disabled', 'disabled');
  assert.equal(disabled.status!.disableStatus?.state, 'Disabled');
  await waitFor(() => !pidAlive(first), { message: 'process stopped' });

  await f.configMap('s-disable', { isDisabled: 'false' });
  const second = (await f.waitStatus('s', (s) => !!s.running, 'running again')).status!.running!.pid;
  assert.notEqual(second, first);

  await f.client.delete('Cmd', 's');
  await waitFor(() => !groupAlive(second), { message: 'process stopped on delete' });
});

test('a missing executable or directory is a clear terminated reason, and the daemon carries on', async (t) => {
  const f = await newFixture(t);
  await f.cmd('nope', { args: ['no-such-program-ferry'] });
  const nope = await f.waitStatus('nope', (s) => !!s.terminated, 'terminated');
  assert.equal(nope.status!.terminated!.reason, 'exec: "no-such-program-ferry": executable file not found in $PATH');
  assert.equal(nope.status!.terminated!.exitCode, -1);

  await f.cmd('noscript', { args: ['./missing.sh'] });
  const noscript = await f.waitStatus('noscript', (s) => !!s.terminated, 'terminated');
  assert.equal(noscript.status!.terminated!.reason, 'fork/exec ./missing.sh: no such file or directory');

  await f.cmd('nodir', { args: ['true'], dir: 'missing' });
  const nodir = await f.waitStatus('nodir', (s) => !!s.terminated, 'terminated');
  assert.equal(nodir.status!.terminated!.reason, `chdir ${path.join(f.dir, 'missing')}: no such file or directory`);
  assert.equal(nodir.status!.terminated!.exitCode, -1);
  assert.ok(f.lines('nodir').includes(nodir.status!.terminated!.reason!));

  await f.cmd('fine', { args: ['sh', '-c', 'echo still here'] });
  await f.waitStatus('fine', (s) => s.terminated?.exitCode === 0, 'exit 0');
  assert.deepEqual(f.lines('fine'), ['still here']);
});

test('a Cmd with startOn waits for its trigger in the trigger queue', async (t) => {
  const f = await newFixture(t);
  await f.cmd('later', { args: ['sleep', '1000'], startOn: { uiButtons: ['later'] } }, { 'tilt.dev/resource': 'job' });
  const waiting = await f.waitStatus('later', (s) => !!s.waiting, 'waiting');
  assert.equal(waiting.status!.waiting!.reason, 'WaitingForStartTrigger');
  await f.configMap('tilt-trigger-queue', { '0-name': 'job', '0-reason-code': '1' });
  const pid = await f.runningPid('later');
  // Taken off the queue and put back: a second trigger restarts it.
  await f.configMap('tilt-trigger-queue', {});
  await f.configMap('tilt-trigger-queue', { '0-name': 'job' });
  await f.waitStatus('later', (s) => !!s.running && s.running.pid !== pid, 'restarted');
});

test('stopping the daemon stops every process it started, leaving no child process', async (t) => {
  const f = await newFixture(t);
  await f.cmd('a', { args: ['sh', '-c', 'sleep 1000 & sleep 1000 & wait'] });
  await f.cmd('b', { args: ['sleep', '1000'] });
  await f.cmd('c', { args: ['sh', '-c', 'sleep 1000 & exit 0'] }); // leaves a child behind in its group
  const a = await f.runningPid('a');
  const b = await f.runningPid('b');
  const c = (await f.waitStatus('c', (s) => !!s.terminated, 'c exited')).status!.terminated!.pid;
  assert.ok(groupAlive(c), 'the background child of c is still running');
  await f.stop();
  for (const pid of [a, b, c]) assert.equal(groupAlive(pid), false, `process group ${pid} is gone`);
});

test('a relative program runs from the Cmd directory, which resolves against the ferry working directory', async (t) => {
  const f = await newFixture(t);
  fs.mkdirSync(path.join(f.dir, 'scripts'));
  fs.writeFileSync(path.join(f.dir, 'scripts', 'run.sh'), '#!/bin/sh\necho "ran in $(pwd)"\n', { mode: 0o755 });
  await f.cmd('script', { args: ['./run.sh'], dir: 'scripts' });
  await f.waitStatus('script', (s) => s.terminated?.exitCode === 0, 'exit 0');
  assert.deepEqual(f.lines('script'), [`ran in ${path.join(f.dir, 'scripts')}`]);
});
