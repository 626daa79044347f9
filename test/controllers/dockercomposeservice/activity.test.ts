/**
 * A DockerComposeService's `up` reports itself to the activity registry while it runs, and how
 * it ended. Compose is a fake here (the Docker Engine is real, but no container is made).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { DockerComposeService } from '../../../src/apis/dockercomposeservice.ts';
import { ComposeError, type ComposeRunner } from '../../../src/adapters/compose/index.ts';
import { DockerodeClient } from '../../../src/adapters/docker/index.ts';
import { setup } from '../../../controllers/dockercomposeservice/index.ts';
import { ActivityRegistry } from '../../../src/runtime/activity.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { requireDocker } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';

before(requireDocker);

/** gatedCompose is a Compose whose `up`s wait for release(), then succeed or fail. */
function gatedCompose() {
  const ups: Array<{ release: (error?: string) => void }> = [];
  const compose: ComposeRunner = {
    form: async () => 'standalone',
    config: async () => '',
    up: () =>
      new Promise<void>((resolve, reject) => {
        ups.push({ release: (error) => (error ? reject(new ComposeError(error, 1, error)) : resolve()) });
      }),
    rm: async () => {},
    down: async () => {},
  };
  return { compose, ups };
}

test('an up is reported while it runs, then as ok or failed', async (t) => {
  const { compose, ups } = gatedCompose();
  const activity = new ActivityRegistry();
  const seen: string[] = [];
  activity.subscribe((e) => seen.push(`${e.type} ${e.activity.resource} ${e.activity.object} ${e.activity.action} (${e.activity.phase})${e.type === 'ended' ? `: ${e.result}` : ''}`));
  const f = await ControllerHarness.start(t, {
    dirPrefix: 'ferry-dcs-activity-',
    setup: (mgr, env) => setup(mgr, { compose, docker: new DockerodeClient(), workDir: `${env.dir}/work`, cwd: env.dir, activity }),
  });
  const project = { name: `ferrytest${randomBytes(4).toString('hex')}`, yaml: 'services:\n  web:\n    image: busybox\n' };
  const dcs: DockerComposeService = {
    apiVersion: 'tilt.dev/v1alpha1',
    kind: 'DockerComposeService',
    metadata: { name: 'web', annotations: { 'tilt.dev/resource': 'frontend' } },
    spec: { service: 'web', project },
  };
  await f.create(dcs);
  await waitFor(() => ups.length === 1);
  assert.deepEqual(activity.list().map((a) => [a.resource, a.object, a.action, a.phase]), [['frontend', 'DockerComposeService/web', 'starting', 'compose up']]);
  ups[0].release('no such image: busybox');
  await f.waitStatus<DockerComposeService>('DockerComposeService', 'web', (s) => !!s.applyError, 'failed');
  assert.deepEqual(seen, ['started frontend DockerComposeService/web starting (compose up)', 'ended frontend DockerComposeService/web starting (compose up): failed']);

  seen.length = 0;
  await f.update<DockerComposeService>({ ...(await f.mustGet<DockerComposeService>('DockerComposeService', 'web')), spec: { service: 'web', project: { ...project, yaml: `${project.yaml}    init: true\n` } } });
  await waitFor(() => ups.length === 2);
  ups[1].release();
  await f.waitStatus<DockerComposeService>('DockerComposeService', 'web', (s) => !s.applyError && !!s.lastApplyFinishTime && s.lastApplyFinishTime >= s.lastApplyStartTime!, 'up');
  await waitFor(() => seen.length === 2);
  assert.deepEqual(seen, ['started frontend DockerComposeService/web starting (compose up)', 'ended frontend DockerComposeService/web starting (compose up): ok']);
  assert.deepEqual(activity.list(), []);
});
