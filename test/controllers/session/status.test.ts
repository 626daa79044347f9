import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  Cluster,
  Cmd,
  CmdImage,
  ConfigMap,
  DockerComposeService,
  ImageMap,
  KubernetesApply,
  KubernetesDiscovery,
  LiveUpdate,
  Session,
  Target,
} from '../../../src/apis/index.ts';
import {
  computeSessionStatus,
  computeTargets,
  type SessionInputs,
} from '../../../controllers/session/status.ts';

const t0 = Date.parse('2024-01-01T00:00:00Z');
const at = (sec: number) => new Date(t0 + sec * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
const meta = (name: string, resource?: string) => ({
  name,
  creationTimestamp: '2024-01-01T00:00:00Z',
  ...(resource ? { annotations: { 'tilt.dev/resource': resource } } : {}),
});

const cmdImage = (name: string, status: CmdImage['status'], extra: Partial<CmdImage['spec']> = {}, resource?: string): CmdImage => ({
  kind: 'CmdImage', metadata: meta(name, resource), spec: { ref: name, args: ['make'], ...extra }, status,
});
const liveUpdate = (name: string, status: LiveUpdate['status'], resource?: string): LiveUpdate => ({
  kind: 'LiveUpdate', metadata: meta(name, resource),
  spec: { basePath: '/src', selector: { dockerCompose: { service: name } }, syncs: [{ localPath: '.', containerPath: '/app' }] },
  status,
});
const dcs = (name: string, status: DockerComposeService['status'], resource?: string): DockerComposeService => ({
  kind: 'DockerComposeService', metadata: meta(name, resource), spec: { service: name, project: { yaml: 'services: {}' } }, status,
});
const kd = (name: string, status: KubernetesDiscovery['status'], resource?: string): KubernetesDiscovery => ({
  kind: 'KubernetesDiscovery', metadata: meta(name, resource), spec: { watches: [{ namespace: 'default' }] }, status,
});
const deploymentYAML = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: web\n';
const jobYAML = 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  template:\n    spec:\n      containers:\n      - name: migrate\n        image: migrate\n';
const serviceYAML = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n';
const ka = (name: string, status: KubernetesApply['status'], yaml = deploymentYAML, resource?: string): KubernetesApply => ({
  kind: 'KubernetesApply', metadata: meta(name, resource), spec: { yaml, imageMaps: ['web-image'] }, status,
});
/** ownedKd is the KubernetesDiscovery a KubernetesApply of the same name made. */
const ownedKd = (name: string, status: KubernetesDiscovery['status']): KubernetesDiscovery => {
  const d = kd(name, status);
  d.metadata.ownerReferences = [{ apiVersion: 'tilt.dev/v1alpha1', kind: 'KubernetesApply', name, uid: '', controller: true }];
  return d;
};
const cmd = (name: string, status: Cmd['status'], opts: { server?: boolean; resource?: string; disable?: boolean } = {}): Cmd => ({
  kind: 'Cmd',
  metadata: { ...meta(name, opts.resource), ...(opts.server ? { annotations: { 'ferry.dev/cmd-type': 'server', ...(opts.resource ? { 'tilt.dev/resource': opts.resource } : {}) } } : {}) },
  spec: { args: ['run'], ...(opts.disable ? { disableSource: { configMap: { name: `${name}-disable`, key: 'isDisabled' } } } : {}) },
  status,
});
const session = (exitCondition: string, ci?: NonNullable<Session['spec']>['ci'], status?: Session['status']): Session => ({
  kind: 'Session', metadata: { name: 'Tiltfile' }, spec: { tiltfilePath: 'Tiltfile', exitCondition, ...(ci ? { ci } : {}) }, ...(status ? { status } : {}),
});
const run = { pid: 42, startTime: at(0) };
const podRunning = (name: string, ready: boolean, createdSec = 0) => ({
  name, namespace: 'default', phase: 'Running', createdAt: new Date(t0 + createdSec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  status: ready ? 'Running' : 'Running', containers: [{ name: 'main', ready, state: { running: {} } }],
});

function targetsOf(inputs: SessionInputs, nowSec = 0, graceMs = 0): Record<string, Target> {
  const out: Record<string, Target> = {};
  for (const t of computeTargets(inputs, t0 + nowSec * 1000, graceMs).targets) out[t.name] = t;
  return out;
}

function status(s: Session, inputs: SessionInputs, nowSec: number) {
  return computeSessionStatus(s, inputs, run, t0 + nowSec * 1000);
}

test('targets: one per part of each resource, sorted by name, with the resource named by annotation', () => {
  const inputs: SessionInputs = {
    cmdImages: [cmdImage('web-image', { completed: { startedAt: at(1), finishedAt: at(2) } }, {}, 'web')],
    liveUpdates: [liveUpdate('web-lu', {}, 'web')],
    dockerComposeServices: [dcs('web', { containerName: 'web-1', containerState: { status: 'running', running: true, startedAt: '2024-01-01T00:00:03Z' } })],
    cmds: [cmd('api', { running: { pid: 7, startedAt: at(4) }, ready: true }, { server: true }), cmd('lint', { terminated: { pid: 8, exitCode: 0, startedAt: at(1), finishedAt: at(2) } })],
  };
  const result = computeTargets(inputs, t0);
  assert.deepEqual(result.targets.map((t) => [t.name, t.type, t.resources]), [
    ['api:serve', 'server', ['api']],
    ['lint:update', 'job', ['lint']],
    ['web:runtime', 'server', ['web']],
    ['web:update', 'job', ['web']],
  ]);
  const ts = Object.fromEntries(result.targets.map((t) => [t.name, t.state]));
  assert.deepEqual(ts['web:update'], { terminated: { startTime: at(1), finishTime: at(2) } });
  assert.deepEqual(ts['web:runtime'], { active: { startTime: at(3), ready: true } });
  assert.deepEqual(ts['api:serve'], { active: { startTime: at(4), ready: true } });
  assert.deepEqual(ts['lint:update'], { terminated: { startTime: at(1), finishTime: at(2) } });
});

test('update target: building is active, a failed build is terminated with its error, no status waits', () => {
  assert.deepEqual(targetsOf({ cmdImages: [cmdImage('a', { building: { startedAt: at(5) } })] })['a:update'].state, { active: { startTime: at(5), ready: false } });
  assert.deepEqual(targetsOf({ cmdImages: [cmdImage('a', { completed: { startedAt: at(1), finishedAt: at(2), error: 'exit status 2' } })] })['a:update'].state, {
    terminated: { startTime: at(1), finishTime: at(2), error: 'exit status 2' },
  });
  assert.deepEqual(targetsOf({ cmdImages: [cmdImage('a', undefined)] })['a:update'].state, { waiting: { waitReason: 'waiting-for-build' } });
  const base: ImageMap = { kind: 'ImageMap', metadata: { name: 'base' }, spec: { selector: 'base' } };
  assert.deepEqual(targetsOf({ cmdImages: [cmdImage('b', undefined, { imageMaps: ['base'] })], imageMaps: [base] })['b:update'].state, {
    waiting: { waitReason: 'waiting-for-dependency' },
  });
  assert.deepEqual(targetsOf({ cmdImages: [cmdImage('a', { waiting: { reason: 'WaitingForImageMap' } })] })['a:update'].state, { waiting: { waitReason: 'waiting-for-dependency' } });
  assert.deepEqual(targetsOf({ cmdImages: [cmdImage('a', { waiting: { reason: 'ClusterNotReady' } })] })['a:update'].state, { waiting: { waitReason: 'waiting-for-cluster' } });
  assert.deepEqual(targetsOf({ cmdImages: [cmdImage('a', { waiting: { reason: 'SomethingElse' } })] })['a:update'].state, { waiting: { waitReason: 'something-else' } });
});

test('update target: live update failures', () => {
  const failed = (reason: string, sec = 10) => liveUpdate('w', { failed: { reason, message: `${reason} happened`, lastTransitionTime: at(sec) } });
  assert.deepEqual(targetsOf({ liveUpdates: [failed('UpdateFailed')] })['w:update'].state, {
    terminated: { startTime: at(10), finishTime: at(10), error: 'UpdateFailed happened' },
  });
  // UpdateStopped asks for a rebuild: waiting when a CmdImage can rebuild, an error otherwise.
  assert.deepEqual(targetsOf({ liveUpdates: [failed('UpdateStopped')] })['w:update'].state.terminated?.error, 'UpdateStopped happened');
  const built = cmdImage('w-img', { completed: { startedAt: at(1), finishedAt: at(2) } }, {}, 'w');
  assert.deepEqual(targetsOf({ liveUpdates: [failed('UpdateStopped')], cmdImages: [built] })['w:update'].state, { waiting: { waitReason: 'waiting-for-rebuild' } });
  // A build that started after the failure clears it.
  const rebuilding = cmdImage('w-img', { building: { startedAt: at(11) } }, {}, 'w');
  assert.deepEqual(targetsOf({ liveUpdates: [failed('UpdateFailed')], cmdImages: [rebuilding] })['w:update'].state, { active: { startTime: at(11), ready: false } });
  const rebuilt = cmdImage('w-img', { completed: { startedAt: at(11), finishedAt: at(12) } }, {}, 'w');
  assert.deepEqual(targetsOf({ liveUpdates: [failed('UpdateFailed')], cmdImages: [rebuilt] })['w:update'].state, { terminated: { startTime: at(11), finishTime: at(12) } });
  // Container states belong to the runtime target.
  assert.deepEqual(targetsOf({ liveUpdates: [failed('CrashLoopBackOff')] })['w:update'].state, {});
  assert.deepEqual(targetsOf({ liveUpdates: [failed('ObjectNotFound')] })['w:update'].state, { waiting: { waitReason: 'waiting-for-dependency' } });
  const execFailed = liveUpdate('w', { containers: [{ containerName: 'c', podName: '', namespace: '', lastExecError: 'exit status 1', lastFileTimeSynced: at(3) }] });
  assert.deepEqual(targetsOf({ liveUpdates: [execFailed] })['w:update'].state, { terminated: { startTime: at(3), finishTime: at(3), error: 'exit status 1' } });
});

test('runtime target from a Docker Compose service', () => {
  const state = (s: DockerComposeService['status']) => targetsOf({ dockerComposeServices: [dcs('db', s)] })['db:runtime'].state;
  assert.deepEqual(state(undefined), { waiting: { waitReason: 'waiting-for-container' } });
  assert.deepEqual(state({ containerName: 'db-1', containerState: { status: 'exited', exitCode: 3, startedAt: '2024-01-01T00:00:01Z', finishedAt: '2024-01-01T00:00:02Z' } }), {
    terminated: { startTime: at(1), finishTime: at(2), error: 'container db-1 exited with code 3' },
  });
  assert.deepEqual(state({ applyError: 'no such image', lastApplyStartTime: at(1), lastApplyFinishTime: at(2) }), {
    terminated: { startTime: at(1), finishTime: at(2), error: 'no such image' },
  });
  assert.deepEqual(state({ containerState: { status: 'created' } }), { waiting: { waitReason: 'created' } });
});

test('runtime target from a Kubernetes discovery', () => {
  const state = (s: KubernetesDiscovery['status'], nowSec = 0, graceMs = 0) => targetsOf({ kubernetesDiscoveries: [kd('app', s)] }, nowSec, graceMs)['app:runtime'].state;
  assert.deepEqual(state(undefined), { waiting: { waitReason: 'waiting-for-pod' } });
  assert.deepEqual(state({ monitorStartTime: at(0), pods: [podRunning('p', true)] }), { active: { startTime: at(0), ready: true } });
  assert.deepEqual(state({ monitorStartTime: at(0), pods: [podRunning('p', false)] }), { active: { startTime: at(0), ready: false } });
  assert.deepEqual(state({ monitorStartTime: at(0), pods: [{ name: 'p', namespace: 'default', phase: 'Pending', status: 'ContainerCreating' }] }), {
    waiting: { waitReason: 'ContainerCreating' },
  });
  assert.deepEqual(state({ monitorStartTime: at(0), pods: [{ name: 'p', namespace: 'default', phase: 'Failed', createdAt: '2024-01-01T00:00:00Z' }] }), {
    terminated: { startTime: at(0), finishTime: at(0), error: 'Pod "p" failed' },
  });
  const crashing = {
    monitorStartTime: at(0),
    pods: [{ name: 'p', namespace: 'default', phase: 'Running', status: 'CrashLoopBackOff', createdAt: '2024-01-01T00:00:00Z', containers: [{ name: 'main', state: { waiting: { reason: 'CrashLoopBackOff' } } }] }],
  };
  const err = 'Pod p in error state due to container main: CrashLoopBackOff';
  assert.deepEqual(state(crashing), { terminated: { startTime: at(0), finishTime: at(0), error: err } });
  assert.deepEqual(state(crashing, 10, 30_000), { terminated: { startTime: at(0), finishTime: at(0), error: err, graceStatus: 'Tolerated' } });
  assert.deepEqual(state(crashing, 30, 30_000), { terminated: { startTime: at(0), finishTime: at(0), error: err, graceStatus: 'Exceeded' } });
  // The most recent pod counts.
  assert.deepEqual(state({ monitorStartTime: at(0), pods: [podRunning('old', false, 0), podRunning('new', true, 5)] }), { active: { startTime: at(0), ready: true } });
});

test('update target from a KubernetesApply: waiting, applying, failed, applied', () => {
  const state = (s: KubernetesApply['status'], imageMaps: ImageMap[] = []) => targetsOf({ kubernetesApplies: [ka('web', s)], imageMaps })['web:update'];
  assert.equal(state(undefined).type, 'job');
  // Not reconciled yet: what it waits for.
  assert.deepEqual(state(undefined).state, { waiting: { waitReason: 'waiting-for-dependency' } });
  const built: ImageMap = { kind: 'ImageMap', metadata: { name: 'web-image' }, spec: { selector: 'web' }, status: { image: 'web:tilt-1' } };
  assert.deepEqual(state(undefined, [built]).state, { waiting: { waitReason: 'waiting-for-apply' } });
  // Waiting for an image or the cluster, as the controller says with ReadyToApply=False.
  const waitingFor = (reason: string) => ({ conditions: [{ type: 'ReadyToApply', status: 'False', reason, message: '...', lastTransitionTime: '2024-01-01T00:00:00Z' }] });
  assert.deepEqual(state(waitingFor('WaitingForImageMap')).state, { waiting: { waitReason: 'waiting-for-dependency' } });
  assert.deepEqual(state(waitingFor('WaitingForCluster')).state, { waiting: { waitReason: 'waiting-for-cluster' } });
  // Applying: the start is newer than the last finish (or there is no finish yet).
  assert.deepEqual(state({ lastApplyStartTime: at(1) }).state, { active: { startTime: at(1), ready: false } });
  assert.deepEqual(state({ lastApplyStartTime: at(5), lastApplyTime: at(2), resultYAML: deploymentYAML }).state, { active: { startTime: at(5), ready: false } });
  // Finished: with its error, or clean.
  assert.deepEqual(state({ lastApplyStartTime: at(1), lastApplyTime: at(2), error: 'Docker image missing from yaml: web' }).state, {
    terminated: { startTime: at(1), finishTime: at(2), error: 'Docker image missing from yaml: web' },
  });
  assert.deepEqual(state({ lastApplyStartTime: at(1), lastApplyTime: at(2), resultYAML: deploymentYAML }).state, { terminated: { startTime: at(1), finishTime: at(2) } });
  // A build of the resource's image in progress makes the whole update active.
  const building = targetsOf({
    kubernetesApplies: [ka('web', waitingFor('WaitingForImageMap'))],
    cmdImages: [cmdImage('web-image', { building: { startedAt: at(3) } }, {}, 'web')],
  })['web:update'].state;
  assert.deepEqual(building, { active: { startTime: at(3), ready: false } });
});

test("runtime target from a KubernetesApply's pods: ready, ErrImagePull after the grace period", () => {
  const applied = { lastApplyStartTime: at(1), lastApplyTime: at(2), resultYAML: deploymentYAML };
  const target = (s: KubernetesApply['status'], discovery?: KubernetesDiscovery, nowSec = 0, graceMs = 0) =>
    targetsOf({ kubernetesApplies: [ka('web', s)], kubernetesDiscoveries: discovery ? [discovery] : [] }, nowSec, graceMs)['web:runtime'];
  // Before an apply, and before the discovery sees a pod.
  assert.deepEqual(target(undefined).state, { waiting: { waitReason: 'waiting-for-pod' } });
  assert.equal(target(undefined).type, 'server');
  assert.deepEqual(target(applied, ownedKd('web', { monitorStartTime: at(2) })).state, { waiting: { waitReason: 'waiting-for-pod' } });
  // A ready pod is ok; its start is the apply's.
  assert.deepEqual(target(applied, ownedKd('web', { monitorStartTime: at(3), pods: [podRunning('web-1', true)] })).state, { active: { startTime: at(2), ready: true } });
  // ErrImagePull fails, tolerated within the grace period counted from the apply.
  const pulling = ownedKd('web', {
    monitorStartTime: at(3),
    pods: [{ name: 'web-1', namespace: 'default', phase: 'Pending', status: 'ErrImagePull', createdAt: '2024-01-01T00:00:04Z',
      containers: [{ name: 'web', state: { waiting: { reason: 'ErrImagePull' } } }] }],
  });
  const err = 'Pod web-1 in error state due to container web: ErrImagePull';
  assert.deepEqual(target(applied, pulling).state, { terminated: { startTime: at(2), finishTime: at(4), error: err } });
  assert.deepEqual(target(applied, pulling, 10, 30_000).state, { terminated: { startTime: at(2), finishTime: at(4), error: err, graceStatus: 'Tolerated' } });
  assert.deepEqual(target(applied, pulling, 32, 30_000).state, { terminated: { startTime: at(2), finishTime: at(4), error: err, graceStatus: 'Exceeded' } });
  const s = session('ci', { k8sGracePeriod: '30s' });
  const inputs = { kubernetesApplies: [ka('web', applied)], kubernetesDiscoveries: [pulling] };
  assert.deepEqual([status(s, inputs, 10).status.done, status(s, inputs, 10).requeueAfterMs], [false, 22_000]);
  assert.deepEqual([status(s, inputs, 32).status.done, status(s, inputs, 32).status.error], [true, `exceeded grace period: ${err}`]);
  // The owned discovery is read through its apply only: one runtime target, and the cluster is watched.
  const all = computeTargets(inputs, t0);
  assert.deepEqual(all.targets.map((t) => t.name), ['web:runtime', 'web:update']);
  assert.deepEqual([...all.k8sClusters], ['default']);
  // A later failed apply keeps the pods of the earlier one in view.
  const failedAgain = { lastApplyStartTime: at(5), lastApplyTime: at(6), error: 'boom' };
  assert.deepEqual(target(failedAgain, ownedKd('web', { monitorStartTime: at(3), pods: [podRunning('web-1', true)] })).state.active?.ready, true);
});

test("runtime target from a KubernetesApply of a Job: a job, done when its pod succeeds", () => {
  const applied = { lastApplyStartTime: at(1), lastApplyTime: at(2), resultYAML: jobYAML };
  const target = (s: KubernetesApply['status'], discovery?: KubernetesDiscovery) =>
    targetsOf({ kubernetesApplies: [ka('migrate', s, jobYAML)], kubernetesDiscoveries: discovery ? [discovery] : [] })['migrate:runtime'];
  assert.equal(target(applied).type, 'job');
  // Running, even with every container ready, is not done.
  assert.deepEqual(target(applied, ownedKd('migrate', { pods: [podRunning('migrate-1', true)] })).state, { active: { startTime: at(2), ready: false } });
  const succeeded = ownedKd('migrate', { pods: [{ name: 'migrate-1', namespace: 'default', phase: 'Succeeded', status: 'Completed', createdAt: '2024-01-01T00:00:03Z',
    containers: [{ name: 'migrate', state: { terminated: { exitCode: 0 } } }] }] });
  assert.deepEqual(target(applied, succeeded).state, { terminated: { startTime: at(2), finishTime: at(3) } });
  // A Job that had already completed before the apply, its pod gone, is done too.
  const complete = { ...applied, conditions: [{ type: 'JobComplete', status: 'True' }] };
  assert.deepEqual(target(complete, ownedKd('migrate', {})).state, { terminated: { startTime: at(2), finishTime: at(2) } });
  const done = status(session('ci'), { kubernetesApplies: [ka('migrate', applied, jobYAML)], kubernetesDiscoveries: [succeeded] }, 5);
  assert.deepEqual([done.status.done, done.status.error], [true, undefined]);
  // A discovery of the same name that the apply does not own is a discovery of its own.
  const stray = targetsOf({ kubernetesApplies: [ka('migrate', applied, jobYAML)], kubernetesDiscoveries: [kd('migrate', { pods: [podRunning('other', true)] })] })['migrate:runtime'];
  assert.deepEqual([stray.type, stray.state], ['server', { waiting: { waitReason: 'waiting-for-pod' } }]);
});

test('runtime target from a KubernetesApply without workloads: none once applied', () => {
  const applied = { lastApplyStartTime: at(1), lastApplyTime: at(2), resultYAML: serviceYAML };
  const targets = targetsOf({ kubernetesApplies: [ka('svc', applied, serviceYAML)], kubernetesDiscoveries: [ownedKd('svc', {})] });
  assert.deepEqual(Object.keys(targets), ['svc:update']);
  assert.deepEqual(Object.keys(targetsOf({ kubernetesApplies: [ka('svc', undefined, serviceYAML)] })), ['svc:runtime', 'svc:update']);
  const done = status(session('ci'), { kubernetesApplies: [ka('svc', applied, serviceYAML)] }, 3);
  assert.deepEqual([done.status.done, done.status.error], [true, undefined]);
});

test('a KubernetesApply resource is named by its annotation and disabled by its disable source', () => {
  const grouped = targetsOf({ kubernetesApplies: [ka('web-apply', undefined, deploymentYAML, 'web')] });
  assert.deepEqual(Object.keys(grouped), ['web:runtime', 'web:update']);
  const off = ka('web', { disableStatus: { state: 'Disabled', disabled: true, reason: 'off', lastUpdateTime: '2024-01-01T00:00:00Z' } });
  off.spec = { ...off.spec!, disableSource: { configMap: { name: 'web-disable', key: 'isDisabled' } } };
  const t = computeTargets({ kubernetesApplies: [off] }, t0);
  assert.deepEqual(t.targets.map((x) => [x.name, x.state]), [['web:runtime', { disabled: {} }], ['web:update', { disabled: {} }]]);
  assert.equal(t.k8sClusters.size, 0);
});

test('serve target from a server Cmd, and a failing job Cmd', () => {
  const inputs: SessionInputs = {
    cmds: [
      cmd('srv', { terminated: { pid: 3, exitCode: 0, startedAt: at(1), finishedAt: at(2) } }, { server: true }),
      cmd('job', { terminated: { pid: 4, exitCode: 1, startedAt: at(1), finishedAt: at(2), reason: 'exit status 1' } }),
      cmd('missing', { terminated: { pid: 0, exitCode: -1, startedAt: at(1), finishedAt: at(1), reason: 'exec: "nope": executable file not found in $PATH' } }, { server: true }),
      cmd('later', { waiting: { reason: 'WaitingForStartTrigger' } }),
    ],
  };
  const ts = targetsOf(inputs);
  assert.equal(ts['srv:serve'].state.terminated?.error, 'exit status 0');
  assert.equal(ts['job:update'].state.terminated?.error, 'exit status 1');
  assert.equal(ts['missing:serve'].state.terminated?.error, 'exec: "nope": executable file not found in $PATH');
  assert.deepEqual(ts['later:update'].state, {});
  const probed: Cmd = { kind: 'Cmd', metadata: meta('p'), spec: { args: ['x'], readinessProbe: { handler: { tcpSocket: { port: 1 } } } }, status: { running: { pid: 5, startedAt: at(1) }, ready: false } };
  assert.deepEqual(targetsOf({ cmds: [probed] })['p:serve'], { name: 'p:serve', resources: ['p'], type: 'server', state: { active: { startTime: at(1), ready: false } } });
});

test('disabled resources report disabled, by ConfigMap or by every disable source', () => {
  const cm: ConfigMap = { kind: 'ConfigMap', metadata: { name: 'web-disable' }, data: { isDisabled: 'true' } };
  const ts = targetsOf({ cmdImages: [cmdImage('web', { building: {} })], dockerComposeServices: [dcs('web', undefined)], configMaps: [cm] });
  assert.deepEqual(ts['web:update'].state, { disabled: {} });
  assert.deepEqual(ts['web:runtime'].state, { disabled: {} });
  const c = cmd('srv', { waiting: { reason: 'Disabled' }, disableStatus: { disabled: true, state: 'Disabled', reason: 'x', lastUpdateTime: '2024-01-01T00:00:00Z' } }, { server: true, disable: true });
  assert.deepEqual(targetsOf({ cmds: [c] })['srv:serve'].state, { disabled: {} });
});

test('ci: done when every target is healthy; disabled targets count as healthy', () => {
  const cm: ConfigMap = { kind: 'ConfigMap', metadata: { name: 'off-disable' }, data: { isDisabled: 'True' } };
  const inputs: SessionInputs = {
    cmdImages: [cmdImage('web', { completed: { startedAt: at(1), finishedAt: at(2) } }), cmdImage('off', undefined)],
    dockerComposeServices: [dcs('web', { containerState: { status: 'running', running: true } })],
    configMaps: [cm],
  };
  const r = status(session('ci'), inputs, 10);
  assert.equal(r.status.done, true);
  assert.equal(r.status.error, undefined);
  assert.equal(r.status.pid, 42);
  assert.equal(r.status.startTime, at(0));
  assert.equal(r.requeueAfterMs, undefined);
});

test('ci: the first failure in name order wins', () => {
  const inputs: SessionInputs = {
    cmdImages: [cmdImage('b', { completed: { startedAt: at(1), finishedAt: at(2), error: 'b broke' } }), cmdImage('a', { completed: { startedAt: at(3), finishedAt: at(4), error: 'a broke' } })],
    dockerComposeServices: [dcs('a', undefined)],
  };
  const r = status(session('ci'), inputs, 5);
  assert.deepEqual([r.status.done, r.status.error], [true, 'a broke']);
});

test('ci: a pod failure within the grace period is retried, then fails once it is exceeded', () => {
  const crashing: KubernetesDiscovery = kd('app', {
    monitorStartTime: at(0),
    pods: [{ name: 'p', namespace: 'default', phase: 'Failed', errors: ['OOMKilled'], createdAt: '2024-01-01T00:00:00Z' }],
  });
  const s = session('ci', { k8sGracePeriod: '30s', timeout: '10m' });
  const early = status(s, { kubernetesDiscoveries: [crashing] }, 10);
  assert.equal(early.status.done, false);
  assert.equal(early.requeueAfterMs, 20_000);
  assert.equal(early.status.targets[0].state.terminated?.graceStatus, 'Tolerated');
  const late = status(s, { kubernetesDiscoveries: [crashing] }, 30);
  assert.deepEqual([late.status.done, late.status.error], [true, 'exceeded grace period: OOMKilled']);
  // At the timeout, retrying targets are listed.
  const timedOut = status(session('ci', { k8sGracePeriod: '1h', timeout: '1m' }), { kubernetesDiscoveries: [crashing] }, 60);
  assert.equal(timedOut.status.error, 'Timeout after 1m0s: 1 resources retrying (app:runtime)');
});

test('ci: the global timeout lists what is waiting, in Tilt words', () => {
  const base: ImageMap = { kind: 'ImageMap', metadata: { name: 'base' }, spec: { selector: 'base' } };
  const inputs: SessionInputs = {
    kubernetesDiscoveries: [kd('a', { monitorStartTime: at(0) })],
    cmdImages: [cmdImage('b', undefined, { imageMaps: ['base'] })],
    imageMaps: [base],
  };
  const s = session('ci', { timeout: '1m' });
  const before = status(s, inputs, 59);
  assert.equal(before.status.done, false);
  assert.equal(before.requeueAfterMs, 1_000);
  const after = status(s, inputs, 60);
  assert.deepEqual([after.status.done, after.status.error], [true, 'Timeout after 1m0s: 2 resources waiting (a:runtime waiting-for-pod,b:update waiting-for-dependency)']);
});

test('ci: timeout summary joins waiting, not ready and retrying', () => {
  const inputs: SessionInputs = {
    kubernetesDiscoveries: [kd('a', { monitorStartTime: at(0) }), kd('c', { monitorStartTime: at(0), pods: [podRunning('p', false)] })],
    cmdImages: [cmdImage('b', { building: { startedAt: at(1) } })],
  };
  const r = status(session('ci', { timeout: '90s', readinessTimeout: '0' }), inputs, 90);
  assert.equal(r.status.error, 'Timeout after 1m30s: 1 resources waiting (a:runtime waiting-for-pod), 2 resources not ready (b:update,c:runtime)');
});

test('ci: a server that never gets ready hits the readiness timeout; jobs are exempt', () => {
  const notReady = kd('srv', { monitorStartTime: at(0), pods: [podRunning('p', false)] });
  const s = session('ci', { readinessTimeout: '2m', timeout: '30m' });
  const before = status(s, { kubernetesDiscoveries: [notReady] }, 100);
  assert.equal(before.status.done, false);
  assert.equal(before.requeueAfterMs, 20_000);
  const after = status(s, { kubernetesDiscoveries: [notReady] }, 120);
  assert.deepEqual([after.status.done, after.status.error], [true, 'Readiness timeout after 2m0s: target srv:runtime not ready']);

  // A job that runs for a long time is not a readiness failure.
  const longBuild = cmdImage('slow', { building: { startedAt: at(0) } });
  const job = status(s, { cmdImages: [longBuild] }, 600);
  assert.equal(job.status.done, false);
  assert.equal(job.requeueAfterMs, 30 * 60_000 - 600_000);
});

test('ci: default timeout is 30m, and a session with no resources waits for it', () => {
  const r = status(session('ci'), {}, 30 * 60 - 1);
  assert.equal(r.status.done, false);
  assert.equal(r.requeueAfterMs, 1000);
  assert.deepEqual(r.status.targets, []);
  const end = status(session('ci'), {}, 30 * 60);
  assert.deepEqual([end.status.done, end.status.error], [true, 'Timeout after 30m0s: no resources']);
});

test('ci: a cluster connection error fails runs that watch Kubernetes pods', () => {
  const cluster: Cluster = { kind: 'Cluster', metadata: { name: 'default' }, spec: {}, status: { error: 'connection refused' } };
  const r = status(session('ci'), { kubernetesDiscoveries: [kd('a', undefined)], clusters: [cluster] }, 1);
  assert.deepEqual([r.status.done, r.status.error], [true, 'cluster connection failed']);
  const noK8s = status(session('ci'), { cmdImages: [cmdImage('x', undefined)], clusters: [cluster] }, 1);
  assert.equal(noK8s.status.done, false);
});

test('manual: never done, never requeued for time', () => {
  const failing = { cmdImages: [cmdImage('a', { completed: { startedAt: at(1), finishedAt: at(2), error: 'boom' } })] };
  const r = status(session('manual'), failing, 365 * 24 * 3600);
  assert.equal(r.status.done, false);
  assert.equal(r.status.error, undefined);
  assert.equal(r.requeueAfterMs, undefined);
  assert.equal(r.status.targets[0].state.terminated?.error, 'boom');
});

test('a ci session stays done with its verdict during its run', () => {
  const s = session('ci', undefined, { pid: 42, startTime: at(0), targets: [], done: true, error: 'a broke' });
  const r = status(s, { cmdImages: [cmdImage('a', { completed: { startedAt: at(1), finishedAt: at(2) } })] }, 5);
  assert.deepEqual([r.status.done, r.status.error], [true, 'a broke']);
  // A new run starts over.
  const again = computeSessionStatus(s, { cmdImages: [cmdImage('a', { completed: { startedAt: at(1), finishedAt: at(2) } })] }, { pid: 43, startTime: at(3) }, t0 + 5000);
  assert.deepEqual([again.status.done, again.status.error], [true, undefined]);
});

test('steady state: the same inputs give the same status', () => {
  const inputs: SessionInputs = { kubernetesDiscoveries: [kd('a', { monitorStartTime: at(0), pods: [podRunning('p', true)] })], cmdImages: [cmdImage('a', { building: { startedAt: at(1) } })] };
  assert.deepEqual(status(session('ci'), inputs, 5).status, status(session('ci'), inputs, 5).status);
});
