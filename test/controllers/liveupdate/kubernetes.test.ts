// End to end through the Kubernetes path: the LiveUpdate controller under a Manager, pods of
// the test cluster fixture (real Docker containers), files delivered over pods/exec.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { toMicroTime, type FileWatch, type KubernetesDiscovery, type LiveUpdate } from '../../../src/apis/index.ts';
import { realClock } from '../../../src/runtime/index.ts';
import { setup } from '../../../controllers/liveupdate/index.ts';
import { kubernetesUpdaters } from '../../../src/adapters/containers/index.ts';
import { KubeCluster } from '../../fixtures/kube-cluster/index.ts';
import { cleanupContainers, readFileIn, requireDocker, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';
import { startControllers } from './fixture.ts';

after(cleanupContainers);

test('kubernetes: a changed file reaches the pod container over exec; an exec failure is lastExecError', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const cluster = await KubeCluster.start({ docker });
  t.after(() => cluster.stop());
  await cluster.createPod({ name: 'web-1', containers: [{ name: 'main', image: testImages.busybox, command: ['sleep', '3600'] }] });
  await cluster.waitForPod('default', 'web-1', (p) => p?.status?.phase === 'Running');
  const containerId = cluster.containerId('default', 'web-1', 'main')!;

  const { client, dir } = await startControllers(t, 'ferry-lu-k8s-', (mgr, log) =>
    setup(mgr, {
      log,
      clock: realClock,
      updaters: { kubernetes: kubernetesUpdaters({ connectionFor: () => ({ key: 'fixture', kubeConfig: cluster.kubeConfig() }), clock: realClock, stepTimeoutMs: 20_000 }) },
      execTimeoutMs: 20_000,
    }),
  );

  await client.create<FileWatch>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'fw' }, spec: { watchedPaths: [dir] } });
  await client.create<KubernetesDiscovery>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'KubernetesDiscovery', metadata: { name: 'kd' }, spec: { watches: [{ namespace: 'default' }] } });
  const kd = (await client.get<KubernetesDiscovery>('KubernetesDiscovery', 'kd'))!;
  await client.updateStatus<KubernetesDiscovery>({
    ...kd,
    status: {
      pods: [{
        name: 'web-1',
        namespace: 'default',
        phase: 'Running',
        createdAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        containers: [{ name: 'main', id: `docker://${containerId}`, image: `${testImages.busybox}`, state: { running: {} } }],
      }],
    },
  });
  await client.create<LiveUpdate>({
    apiVersion: 'tilt.dev/v1alpha1',
    kind: 'LiveUpdate',
    metadata: { name: 'lu' },
    spec: {
      basePath: dir,
      selector: { kubernetes: { discoveryName: 'kd', image: 'ferry-test/busybox' } },
      sources: [{ fileWatch: 'fw' }],
      syncs: [{ localPath: 'src', containerPath: '/app' }],
      execs: [{ args: ['sh', '-c', 'exit 3'], triggerPaths: ['src/bad'] }],
    },
  });
  await waitFor(async () => (await client.get<LiveUpdate>('LiveUpdate', 'lu'))?.status?.containers?.length, { timeoutMs: 20_000, message: 'the container in status' });

  const event = async (files: string[]) => {
    const fw = (await client.get<FileWatch>('FileWatch', 'fw'))!;
    const time = toMicroTime(new Date());
    const fileEvents = [...(fw.status?.fileEvents ?? []), { time, seenFiles: files.map((f) => path.join(dir, f)) }];
    await client.updateStatus<FileWatch>({ ...fw, status: { fileEvents, lastEventTime: time } });
  };
  await fsp.mkdir(path.join(dir, 'src'));
  await fsp.writeFile(path.join(dir, 'src/a.txt'), 'from ferry');
  await event(['src/a.txt']);
  await waitFor(() => readFileIn(docker, containerId, '/app/a.txt').then((s) => s === 'from ferry'), { timeoutMs: 20_000, message: 'a.txt in the pod' });

  await fsp.writeFile(path.join(dir, 'src/bad'), '');
  await event(['src/bad']);
  const st = await waitFor(async () => {
    const s = (await client.get<LiveUpdate>('LiveUpdate', 'lu'))?.status;
    return s?.containers?.[0]?.lastExecError ? s : undefined;
  }, { timeoutMs: 20_000, message: 'lastExecError' });
  assert.equal(st.containers![0]!.lastExecError, 'command "exit 3" failed with exit code: 3');
  assert.equal(st.containers![0]!.podName, 'web-1');
  assert.equal(st.failed, undefined);
});
