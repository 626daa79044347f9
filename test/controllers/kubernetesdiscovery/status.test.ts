import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { containerId, labelSelectorMatches, podSummary, podToStatus, sortPods } from '../../../controllers/kubernetesdiscovery/status.ts';
import { kubeErrorMessage as errorMessage } from '../../../src/adapters/kubernetes/index.ts';

function pod(over: Partial<V1Pod> = {}): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u1', creationTimestamp: new Date('2024-01-01T00:00:00.123Z'), labels: { app: 'a', 'pod-template-hash': 'h1' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'rs1', controller: true }] },
    spec: { containers: [{ name: 'app', image: 'img:1', ports: [{ containerPort: 8080 }] }] },
    status: {
      phase: 'Running',
      containerStatuses: [{ name: 'app', image: 'img:1', imageID: '', ready: true, restartCount: 2, containerID: 'containerd://abc', state: { running: { startedAt: '2024-01-01T00:00:05Z' as unknown as Date } } }],
    },
    ...over,
  };
}

describe('KubernetesDiscovery status', () => {
  test('container ids lose their runtime prefix', () => {
    assert.equal(containerId('docker://0123abc'), '0123abc');
    assert.equal(containerId('containerd://x'), 'x');
    assert.equal(containerId('abc'), 'abc');
    assert.equal(containerId(''), undefined);
  });

  test('label selectors: matchLabels and every matchExpressions operator', () => {
    const labels = { app: 'web', tier: 'front' };
    assert.equal(labelSelectorMatches({}, labels), true);
    assert.equal(labelSelectorMatches({ matchLabels: { app: 'web' } }, labels), true);
    assert.equal(labelSelectorMatches({ matchLabels: { app: 'api' } }, labels), false);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, labels), true);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels), false);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels), true);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels), true);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels), false);
    assert.equal(labelSelectorMatches({ matchExpressions: [{ key: 'app', operator: 'Bogus' }] }, labels), false);
    assert.equal(labelSelectorMatches({ matchLabels: { app: 'web' } }, undefined), false);
  });

  test('a pod converts with its owner, hash, containers and times (Dates or strings alike)', () => {
    const p = podToStatus(pod(), 2);
    assert.deepEqual(p, {
      name: 'p',
      namespace: 'ns',
      uid: 'u1',
      createdAt: '2024-01-01T00:00:00Z',
      phase: 'Running',
      deleting: false,
      containers: [{ name: 'app', id: 'abc', ready: true, image: 'img:1', restarts: 2, state: { running: { startedAt: '2024-01-01T00:00:05Z' } }, ports: [8080] }],
      baselineRestartCount: 2,
      podTemplateSpecHash: 'h1',
      status: 'Running',
      ownerName: 'rs',
      labels: { app: 'a', 'pod-template-hash': 'h1' },
    });
  });

  test('waiting with trouble is an error; terminating pods say so', () => {
    const crashing = pod({
      status: {
        phase: 'Running',
        containerStatuses: [{ name: 'app', image: 'img:1', imageID: '', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container' } } }],
      },
    });
    const p = podToStatus(crashing, 0);
    assert.equal(p.status, 'CrashLoopBackOff');
    assert.deepEqual(p.errors, ['CrashLoopBackOff: back-off 10s restarting failed container']);
    assert.deepEqual(p.containers![0].state, { waiting: { reason: 'CrashLoopBackOff' } });

    const creating = pod({ status: { phase: 'Pending', containerStatuses: [{ name: 'app', image: 'img:1', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] } });
    assert.equal(podToStatus(creating, 0).errors, undefined);

    const deleting = pod();
    deleting.metadata!.deletionTimestamp = new Date();
    assert.equal(podSummary(deleting), 'Terminating');
    assert.equal(podToStatus(deleting, 0).deleting, true);
  });

  test('init containers show progress in the summary', () => {
    const p = pod({
      spec: { initContainers: [{ name: 'init', image: 'i' }], containers: [{ name: 'app', image: 'img:1' }] },
      status: { phase: 'Pending', initContainerStatuses: [{ name: 'init', image: 'i', imageID: '', ready: false, restartCount: 0, state: { running: {} } }] },
    });
    assert.equal(podSummary(p), 'Init:0/1');
    const failed = pod({
      spec: { initContainers: [{ name: 'init', image: 'i' }], containers: [{ name: 'app', image: 'img:1' }] },
      status: { phase: 'Pending', initContainerStatuses: [{ name: 'init', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error' } } }] },
    });
    assert.equal(podSummary(failed), 'Init:Error');
    assert.equal(podToStatus(failed, 0).initContainers![0].state!.terminated!.exitCode, 1);
  });

  test('pods sort oldest first, then by name', () => {
    const sorted = sortPods([
      { name: 'b', namespace: 'n', createdAt: '2024-01-02T00:00:00Z' },
      { name: 'c', namespace: 'n', createdAt: '2024-01-01T00:00:00Z' },
      { name: 'a', namespace: 'n', createdAt: '2024-01-02T00:00:00Z' },
    ]);
    assert.deepEqual(sorted.map((p) => p.name), ['c', 'a', 'b']);
  });

  test('client errors render in one line', () => {
    assert.equal(errorMessage({ code: 403, body: '{"kind":"Status","message":"pods is forbidden"}', message: 'HTTP-Code: 403\nMessage: x' }), 'pods is forbidden');
    assert.equal(errorMessage({ code: 401, message: 'HTTP-Code: 401\nMessage: Unauthorized\nBody: undefined' }), 'Unauthorized (HTTP 401)');
    assert.equal(errorMessage(new Error('connect ECONNREFUSED 127.0.0.1:1')), 'connect ECONNREFUSED 127.0.0.1:1');
  });
});
