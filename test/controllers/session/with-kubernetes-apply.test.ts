/**
 * A ci Session over a real KubernetesApply controller (against an in-memory cluster): the
 * statuses the apply writes become the resource's update and runtime targets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster, ImageMap, KubernetesDiscovery, Session } from '../../../src/apis/index.ts';
import { setup as setupSession } from '../../../controllers/session/index.ts';
import { setup as setupApply } from '../../../controllers/kubernetesapply/index.ts';
import { LocalProcessRunner } from '../../../src/adapters/process/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { waitFor } from '../../support/wait.ts';
import { FakeObjects, deploymentYaml, fakeConnector, imageMap, kubernetesApply } from '../kubernetesapply/fixture.ts';

test('a ci session follows a KubernetesApply from waiting for its image to a ready pod', async (t) => {
  const objects = new FakeObjects();
  const h = await ControllerHarness.start(t, {
    dirPrefix: 'ferry-session-ka-',
    setup: (mgr, env) => {
      setupApply(mgr, { log: env.log, cwd: env.dir, connect: fakeConnector(objects), runner: new LocalProcessRunner() });
      return setupSession(mgr, { pid: 4242 });
    },
  });
  await h.create<Cluster>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'default' }, spec: { connection: { kubernetes: {} } } });
  await h.create(imageMap('web-image', 'web-image'));
  await h.create(kubernetesApply('web', { yaml: deploymentYaml('web', 'web-image'), imageMaps: ['web-image'] }));
  await h.create<Session>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'Session', metadata: { name: 'ci' }, spec: { tiltfilePath: 'Tiltfile', exitCondition: 'ci' } });
  const session = (pred: (s: Session) => boolean, what: string) =>
    waitFor(async () => {
      const s = await h.client.get<Session>('Session', 'ci');
      return s && pred(s) ? s : undefined;
    }, { message: what });
  const states = (s: Session) => Object.fromEntries(s.status!.targets.map((x) => [x.name, x.state]));

  let s = await session((s) => states(s)['web:update']?.waiting?.waitReason === 'waiting-for-dependency', 'waiting for the image');
  assert.deepEqual(states(s)['web:runtime'], { waiting: { waitReason: 'waiting-for-pod' } });

  await h.setStatus<ImageMap>('ImageMap', 'web-image', { image: 'web-image:tilt-1', imageFromCluster: 'web-image:tilt-1' });
  s = await session((s) => !!states(s)['web:update']?.terminated, 'applied');
  assert.equal(states(s)['web:update']!.terminated!.error, undefined);
  assert.deepEqual(states(s)['web:runtime'], { waiting: { waitReason: 'waiting-for-pod' } });
  assert.equal(s.status!.done, false);
  assert.ok(objects.get('Deployment', 'web'), 'the Deployment was applied');

  const kd = await waitFor(() => h.client.get<KubernetesDiscovery>('KubernetesDiscovery', 'web'), { message: 'the discovery' });
  await h.client.updateStatus<KubernetesDiscovery>({
    ...kd,
    status: {
      monitorStartTime: '2024-01-01T00:00:02.000000Z',
      pods: [{ name: 'web-1', namespace: 'default', phase: 'Running', status: 'Running', createdAt: '2024-01-01T00:00:03Z', containers: [{ name: 'main', ready: true, state: { running: {} } }] }],
    },
  });
  s = await session((s) => s.status?.done === true, 'done');
  assert.equal(s.status!.error, undefined);
  assert.equal(states(s)['web:runtime']!.active?.ready, true);
});
