// ExecContainerUpdater through client-node's Exec against the test cluster fixture, whose
// pods are real Docker containers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { realClock } from '../../../src/util/clock.ts';
import { planArchive } from '../../../src/adapters/tar/archive.ts';
import { ExecContainerUpdater, restartUnsupported } from '../../../src/adapters/containers/kubernetes-exec.ts';
import { RunStepFailure, type ContainerUpdate } from '../../../src/adapters/containers/updater.ts';
import { KubeCluster } from '../../fixtures/kube-cluster/index.ts';
import { cleanupContainers, execIn, readFileIn, requireDocker, testImages } from '../../support/docker.ts';

let cluster: KubeCluster;
let docker: Docker;
let updater: ExecContainerUpdater;

before(async () => {
  docker = await requireDocker();
  cluster = await KubeCluster.start({ docker });
  updater = new ExecContainerUpdater({ kubeConfig: cluster.kubeConfig(), clock: realClock, stepTimeoutMs: 20_000 });
});
after(async () => {
  await cluster?.stop();
  await cleanupContainers();
});

async function pod(name: string, image: string): Promise<string> {
  await cluster.createPod({ name, containers: [{ name: 'main', image, command: ['sleep', '3600'] }] });
  await cluster.waitForPod('default', name, (p) => p?.status?.phase === 'Running');
  return cluster.containerId('default', name, 'main')!;
}

function update(podName: string, u: Partial<ContainerUpdate>): ContainerUpdate {
  return { target: { containerId: '', containerName: 'main', podName, namespace: 'default' }, deletePaths: [], execs: [], restart: false, ...u };
}

test('kubernetes exec: rm, tar on stdin and execs in order, with exit codes', async (t) => {
  const id = await pod('web', testImages.busybox);
  await execIn(docker, id, ['sh', '-c', 'mkdir -p /app/old && echo o > /app/old/f']);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-kx-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  await fsp.writeFile(path.join(dir, 'a.txt'), 'A');
  const plan = await planArchive([{ localPath: path.join(dir, 'a.txt'), containerPath: '/app/a.txt' }]);
  const out: string[] = [];
  await updater.update(
    update('web', {
      deletePaths: ['/app/old'],
      archive: plan.stream,
      execs: [{ args: ['sh', '-c', 'cat /app/a.txt; echo !'], timeoutMs: 10_000 }],
      onOutput: (s) => out.push(s),
    }),
  );
  assert.equal(await readFileIn(docker, id, '/app/a.txt'), 'A');
  assert.notEqual((await execIn(docker, id, ['ls', '/app/old'])).exitCode, 0);
  assert.equal(out.join(''), 'A!\n');

  await assert.rejects(updater.update(update('web', { execs: [{ args: ['sh', '-c', 'exit 5'], timeoutMs: 10_000 }] })), (err: unknown) => {
    assert.ok(err instanceof RunStepFailure);
    assert.equal(err.message, 'command "exit 5" failed with exit code: 5');
    return true;
  });
  await assert.rejects(updater.update(update('web', { execs: [{ args: ['sleep', '30'], timeoutMs: 300 }] })), (err: unknown) => {
    assert.ok(!(err instanceof RunStepFailure));
    assert.match((err as Error).message, /command "sleep 30" timed out after 300ms/);
    return true;
  });
  await assert.rejects(updater.update(update('web', { restart: true })), { message: restartUnsupported });
});

test('kubernetes exec: an image without tar gets the tar help text', async (t) => {
  await pod('notar', testImages.notar);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-kx-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  await fsp.writeFile(path.join(dir, 'a.txt'), 'A');
  const plan = await planArchive([{ localPath: path.join(dir, 'a.txt'), containerPath: '/app/a.txt' }]);
  await assert.rejects(updater.update(update('notar', { archive: plan.stream })), (err: unknown) => {
    assert.match((err as Error).message, /Please check that the container image includes `tar` in \$PATH/);
    return true;
  });
});

