/**
 * A deleted DockerComposeService is torn down (container and network) even when ferry stops
 * right after the deletion, or was not running when it happened: the object carries a
 * finalizer until its service is gone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DockerComposeService } from '../../../src/apis/dockercomposeservice.ts';
import { teardownFinalizer } from '../../../controllers/dockercomposeservice/reconciler.ts';
import { requireDocker, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';
import { Fixture, run } from './fixture.ts';

function oneService(): string {
  return [
    'services:',
    '  web:',
    `    image: ${testImages.busybox}`,
    `    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`,
    '    labels: {ferry-test: "1"}',
    '',
  ].join('\n');
}

async function containerExists(id: string): Promise<boolean> {
  return run('docker', ['inspect', id]).then(() => true, () => false);
}

async function networks(project: string): Promise<string[]> {
  const { stdout } = await run('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]);
  return stdout.split('\n').filter(Boolean);
}

/** bringUp creates a DockerComposeService and waits for its container; returns the container id. */
async function bringUp(f: Fixture, name: string, project: string): Promise<string> {
  await f.client.create<DockerComposeService>({
    apiVersion: 'tilt.dev/v1alpha1',
    kind: 'DockerComposeService',
    metadata: { name },
    spec: { service: 'web', project: { yaml: oneService(), name: project } },
  });
  const s = await f.waitDCS(name, (o) => o.status?.containerState?.running === true, 'running');
  assert.deepEqual(s.metadata.finalizers, [teardownFinalizer], 'the finalizer is on once the service is up');
  assert.equal((await networks(project)).length, 1, 'Compose made the project network');
  return s.status!.containerID!;
}

/** waitGone waits until the object, its container and its project network are gone. */
async function waitGone(f: Fixture, name: string, id: string, project: string): Promise<void> {
  await waitFor(async () => !(await f.client.get('DockerComposeService', name)), { timeoutMs: 60_000, message: `${name} deleted` });
  assert.equal(await containerExists(id), false, 'container removed');
  assert.deepEqual(await networks(project), [], 'network removed');
}

describe('DockerComposeService teardown across restarts', () => {
  test('deleting tears down the container and the network, then lets the object go', async (t) => {
    if (!(await requireDocker(t))) return;
    const f = await Fixture.start();
    t.after(() => f.close());
    const project = f.projectName('del');
    const id = await bringUp(f, 'del', project);
    await f.client.delete('DockerComposeService', 'del');
    await waitGone(f, 'del', id, project);
  });

  test('a service deleted while the controller is stopped is torn down at the next start', async (t) => {
    if (!(await requireDocker(t))) return;
    const f = await Fixture.start();
    t.after(() => f.close());
    const project = f.projectName('down');
    const id = await bringUp(f, 'while-down', project);

    await f.stopController();
    await f.client.delete('DockerComposeService', 'while-down');
    const pending = await f.client.get<DockerComposeService>('DockerComposeService', 'while-down');
    assert.ok(pending?.metadata.deletionTimestamp, 'the deletion waits on the finalizer');
    assert.equal(await containerExists(id), true);

    await f.startController();
    await waitGone(f, 'while-down', id, project);
  });

  test('a stop right after a deletion leaves nothing behind after the next start', async (t) => {
    if (!(await requireDocker(t))) return;
    const f = await Fixture.start();
    t.after(() => f.close());
    const project = f.projectName('stop');
    const id = await bringUp(f, 'stop-now', project);

    await f.client.delete('DockerComposeService', 'stop-now');
    await f.stopController();
    await f.startController();
    await waitGone(f, 'stop-now', id, project);
  });
});
