import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cmd, FileWatch } from '../../../src/apis/index.ts';
import { cmdStatus, execSpecKey, restartDue } from '../../../controllers/cmd/status.ts';
import { lastRestartEventUs, triggerQueueResources } from '../../../src/tilt/index.ts';

const t = (s: number) => `2024-01-01T00:00:0${s}.000000Z`;

test('cmdStatus: waiting, running, terminated', () => {
  assert.deepEqual(cmdStatus(undefined, 'WaitingForStartTrigger', undefined), { waiting: { reason: 'WaitingForStartTrigger' }, ready: false });
  assert.deepEqual(cmdStatus({ pid: 5, startedAt: t(1), ready: true }, 'x', undefined), { running: { pid: 5, startedAt: t(1) }, ready: true });
  assert.deepEqual(cmdStatus({ pid: 5, startedAt: t(1), ready: true, exited: { exitCode: 2, finishedAt: t(2), reason: 'exit status 2' } }, 'x', undefined), {
    terminated: { pid: 5, exitCode: 2, startedAt: t(1), finishedAt: t(2), reason: 'exit status 2' },
    ready: false,
  });
  const ds = { disabled: false, state: 'Enabled' as const, reason: 'r', lastUpdateTime: '2024-01-01T00:00:00Z' };
  assert.equal(cmdStatus(undefined, 'x', ds).disableStatus, ds);
});

test('execSpecKey changes with the process, not with its triggers', () => {
  const base: Cmd['spec'] = { args: ['a'], restartOn: { fileWatches: ['x'] } };
  assert.equal(execSpecKey(base), execSpecKey({ ...base, restartOn: { fileWatches: ['y'] }, startOn: { uiButtons: [] } }));
  assert.notEqual(execSpecKey(base), execSpecKey({ ...base, args: ['b'] }));
  assert.notEqual(execSpecKey(base), execSpecKey({ ...base, env: ['A=1'] }));
  assert.notEqual(execSpecKey(base), execSpecKey({ ...base, dir: 'x' }));
});

test('a restart is due for an event strictly newer than the run start', () => {
  const fw = (name: string, times: string[], disabled = false): FileWatch => ({
    kind: 'FileWatch', metadata: { name }, spec: { watchedPaths: ['.'] },
    status: { lastEventTime: times[times.length - 1], fileEvents: times.map((time) => ({ time, seenFiles: ['f'] })), ...(disabled ? { disableStatus: { disabled: true, state: 'Disabled', reason: '', lastUpdateTime: '2024-01-01T00:00:00Z' } } : {}) },
  });
  const fws = new Map([['a', fw('a', [t(1), t(3)])], ['b', fw('b', [t(5)], true)]]);
  const cmd: Cmd = { kind: 'Cmd', metadata: { name: 'c' }, spec: { args: ['x'], restartOn: { fileWatches: ['a', 'b', 'missing'] } } };
  const ev = lastRestartEventUs(cmd.spec?.restartOn?.fileWatches, (n) => fws.get(n));
  assert.equal(ev, Date.parse(t(3)) * 1000);
  assert.equal(restartDue(ev, { pid: 1, startedAt: t(2), ready: false }), true);
  assert.equal(restartDue(ev, { pid: 1, startedAt: t(3), ready: false }), false);
  assert.equal(restartDue(ev, undefined), false);
  assert.equal(restartDue(NaN, { pid: 1, startedAt: t(2), ready: false }), false);
});

test('triggerQueueResources reads the -name keys', () => {
  assert.deepEqual([...triggerQueueResources({ metadata: {}, data: { '0-name': 'web', '0-reason-code': '1', '1-name': 'api' } })].sort(), ['api', 'web']);
  assert.deepEqual([...triggerQueueResources(undefined)], []);
});
