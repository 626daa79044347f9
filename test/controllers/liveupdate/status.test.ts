import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyFilter, isWaitingOnTrigger, failedState, decideContainer, type SelectedContainer } from '../../../controllers/liveupdate/status.ts';
import { goFileList, isUnderOrEqual } from '../../../controllers/liveupdate/plan.ts';
import { microTimeString, microTimeValue } from '../../../src/apis/index.ts';
import { refNamesEqual as imageNamesEqual, tryParseRef } from '../../../src/adapters/images/reference.ts';

const normalizedImageName = (ref: string) => tryParseRef(ref)?.name;

test('image names compare by normalized name, ignoring tags and digests', () => {
  assert.equal(normalizedImageName('foo'), 'docker.io/library/foo');
  assert.equal(normalizedImageName('user/foo:1'), 'docker.io/user/foo');
  assert.equal(normalizedImageName(`localhost:5000/foo@sha256:${'a'.repeat(64)}`), 'localhost:5000/foo');
  assert.equal(normalizedImageName('Foo'), undefined);
  assert.ok(imageNamesEqual('docker.io/library/foo:1', 'foo:2'));
  assert.ok(imageNamesEqual('nginx', 'library/nginx'));
  assert.ok(!imageNamesEqual('nginx', 'myreg/nginx'));
  assert.ok(!imageNamesEqual('reg.io/foo', 'foo'));
  assert.ok(!imageNamesEqual('', ''));
});

test('the trigger queue releases a manual resource named in a -name key', () => {
  assert.equal(isWaitingOnTrigger(undefined, 'web', undefined), false);
  assert.equal(isWaitingOnTrigger('manual', 'web', undefined), true);
  assert.equal(isWaitingOnTrigger('manual', 'web', { metadata: {}, data: { '0-name': 'web' } }), false);
  assert.equal(isWaitingOnTrigger('manual', 'web', { metadata: {}, data: { '0-reason-code': 'web' } }), true);
});

test('file lists print as Go slices, five at most, relative to cwd', () => {
  assert.equal(goFileList(['/w/a', '/w/b'], '/w'), '[a b]');
  assert.equal(goFileList(['/w/1', '/w/2', '/w/3', '/w/4', '/w/5', '/w/6'], '/w'), '[1 2 3 4 5 ...]');
  assert.equal(goFileList(['/elsewhere/x'], '/w'), '[/elsewhere/x]');
  assert.ok(isUnderOrEqual('/a/b', '/a'));
  assert.ok(!isUnderOrEqual('/ab', '/a'));
});

test('micro times round-trip and the failed transition time is kept for the same reason', () => {
  const s = '2024-01-01T00:00:01.123456Z';
  assert.equal(microTimeString(microTimeValue(s)), s);
  const now = new Date('2024-01-02T00:00:00Z');
  const prev = { reason: 'UpdateStopped', message: 'x', lastTransitionTime: s };
  assert.equal(failedState(prev, 'UpdateStopped', 'y', now).lastTransitionTime, s);
  assert.equal(failedState(prev, 'UpdateFailed', 'y', now).lastTransitionTime, '2024-01-02T00:00:00.000000Z');
});

test('each container is decided in order: finished, stopped plan, nothing to do, crash loop, waiting, apply', () => {
  const running: SelectedContainer = { podName: 'p', namespace: 'ns', containerName: 'c', containerId: 'id', state: 'running', podDone: false };
  const work = { ok: true as const, hasWork: true };
  const none = { ok: true as const, hasWork: false };
  const stopped = { ok: false as const, reason: 'UpdateStopped' as const, message: 'Detected change to stop file "x"' };

  assert.deepEqual(decideContainer(running, work, false), { action: 'apply' });
  assert.deepEqual(decideContainer({ ...running, podDone: true }, stopped, false), { action: 'terminated' });
  assert.deepEqual(decideContainer({ ...running, state: 'terminated' }, work, false), { action: 'terminated' });
  assert.deepEqual(decideContainer(running, stopped, true), { action: 'fail', reason: stopped.reason, message: stopped.message });
  assert.deepEqual(decideContainer(running, none, false), { action: 'idle', waiting: undefined });
  assert.deepEqual(decideContainer(running, none, true), { action: 'idle', waiting: { reason: 'Trigger', message: 'Only updates on manual trigger' } });

  const crashing: SelectedContainer = { ...running, state: 'waiting', waitingReason: 'CrashLoopBackOff' };
  assert.deepEqual(decideContainer(crashing, work, false), { action: 'fail', reason: 'CrashLoopBackOff', message: 'Cannot live update because container crashing. Pod: p' });
  assert.deepEqual(decideContainer(crashing, none, false), { action: 'idle', waiting: { reason: 'ContainerWaiting', message: 'Waiting for container to start' } });
  assert.deepEqual(decideContainer({ ...running, containerId: '' }, work, true), { action: 'idle', waiting: { reason: 'ContainerWaiting', message: 'Waiting for container to start' } });
  assert.deepEqual(decideContainer(running, work, true), { action: 'idle', waiting: { reason: 'Trigger', message: 'Only updates on manual trigger' } });
});

test('applyFilter reads a frozen (cached) status once, and a status that may change every time', () => {
  const resultYAML = 'kind: Deployment\nmetadata: {name: web, uid: u1}\nspec: {template: {metadata: {labels: {tilt.dev/pod-template-hash: h1}}}}\n';
  const frozen = Object.freeze({ resultYAML });
  assert.equal(applyFilter(frozen), applyFilter(frozen));
  assert.deepEqual([...applyFilter(frozen).hashes], ['h1']);
  const open = { resultYAML };
  assert.notEqual(applyFilter(open), applyFilter(open));
  const bad = Object.freeze({ resultYAML: 'kind: Service\nmetadata: {name: svc}\n' });
  assert.throws(() => applyFilter(bad), /Resource missing uid: svc/);
  assert.throws(() => applyFilter(bad), /Resource missing uid: svc/);
});
