/**
 * A KubernetesApply's apply reports itself to the activity registry while it runs, and how it ended.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster, KubernetesApply } from '../../../src/apis/index.ts';
import { setup } from '../../../controllers/kubernetesapply/index.ts';
import { LocalProcessRunner } from '../../../src/adapters/process/index.ts';
import { ActivityRegistry } from '../../../src/runtime/activity.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { waitFor } from '../../support/wait.ts';
import { deploymentYaml, FakeObjects, fakeConnector, kubernetesApply } from './fixture.ts';

test('an apply is reported while it runs, then as ok or failed', async (t) => {
  const cluster = new FakeObjects();
  const activity = new ActivityRegistry();
  const seen: string[] = [];
  activity.subscribe((e) => seen.push(`${e.type} ${e.activity.resource} ${e.activity.object} ${e.activity.action}${e.type === 'ended' ? `: ${e.result}` : ''}`));
  const f = await ControllerHarness.start(t, {
    dirPrefix: 'ferry-ka-activity-',
    setup: (mgr, env) => setup(mgr, { log: env.log, cwd: env.dir, connect: fakeConnector(cluster), runner: new LocalProcessRunner(), activity }),
  });
  await f.create<Cluster>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'default' }, spec: { connection: { kubernetes: {} } } });

  // The apply hangs until its timeout aborts it: it is listed meanwhile, then ends failed.
  cluster.hang = true;
  const ka = kubernetesApply('web', { yaml: deploymentYaml('web', 'busybox'), timeout: '2s' });
  ka.metadata.annotations = { 'tilt.dev/resource': 'frontend' };
  await f.create(ka);
  await waitFor(() => cluster.applies.length === 1);
  assert.deepEqual(activity.list().map((a) => [a.resource, a.object, a.action]), [['frontend', 'KubernetesApply/web', 'applying']]);
  await f.waitStatus<KubernetesApply>('KubernetesApply', 'web', (s) => !!s.error, 'failed');
  await waitFor(() => seen.length === 2);
  assert.deepEqual(seen, ['started frontend KubernetesApply/web applying', 'ended frontend KubernetesApply/web applying: failed']);

  cluster.hang = false;
  seen.length = 0;
  await f.update({ ...(await f.mustGet<KubernetesApply>('KubernetesApply', 'web')), spec: { ...ka.spec!, timeout: '3s' } });
  await f.waitStatus<KubernetesApply>('KubernetesApply', 'web', (s) => !s.error && !!s.resultYAML, 'applied');
  await waitFor(() => seen.length === 2);
  assert.deepEqual(seen, ['started frontend KubernetesApply/web applying', 'ended frontend KubernetesApply/web applying: ok']);
  assert.deepEqual(activity.list(), []);
});
