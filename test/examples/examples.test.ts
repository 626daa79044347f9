/**
 * The examples in deploy/examples work end to end: applied to a daemon started in their
 * folder, a saved change reaches the running container (Docker), or the pod (Kubernetes,
 * against the test cluster fixture).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { startDaemon, type Daemon } from '../../src/daemon.ts';
import { FerryClient } from '../../src/client/client.ts';
import { applyOne } from '../../src/cli/apply.ts';
import { readManifests } from '../../src/cli/manifests.ts';
import { silentLogger } from '../../src/log.ts';
import type { DockerComposeService } from '../../src/apis/dockercomposeservice.ts';
import type { LiveUpdate } from '../../src/apis/liveupdate.ts';
import type { FileWatch, ImageMap, KubernetesDiscovery } from '../../src/apis/index.ts';
import { execIn, requireDocker, testImages, readFileIn } from '../support/docker.ts';
import { waitFor } from '../support/wait.ts';
import { KubeCluster } from '../fixtures/kube-cluster/index.ts';

const examples = path.resolve(import.meta.dirname, '../../deploy/examples');

/** copyExample copies an example to a temp folder, so the test edits a copy, never the repo. */
function copyExample(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ferry-example-${name}-`));
  fs.cpSync(path.join(examples, name), dir, { recursive: true });
  return dir;
}

async function startIn(dir: string, extra: { clusterKubeconfig?: string } = {}) {
  const prev = process.cwd();
  process.chdir(dir);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-example-data-'));
  const daemon = await startDaemon({ dataDir, storage: 'memory', log: silentLogger(), cwd: dir, filewatchQuietMs: 100, ...extra });
  const client = new FerryClient(daemon.kubeConfig);
  for (const m of readManifests([path.join(dir, 'ferry.yaml')])) await applyOne(client, m);
  return {
    daemon,
    client,
    async stop(objectsFirst = true) {
      if (objectsFirst) for (const m of readManifests([path.join(dir, 'ferry.yaml')]).reverse()) await client.delete(m.object.kind!, m.object.metadata.name!).catch(() => undefined);
      await daemon.manager.getController('dockercomposeservice')?.idle();
      client.close();
      await daemon.stop();
      process.chdir(prev);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe('the Docker example', () => {
  let docker: Docker;
  let dir: string;
  let run: Awaited<ReturnType<typeof startIn>>;
  before(async () => {
    docker = await requireDocker();
    process.env.EXAMPLE_BASE_IMAGE = testImages.busybox;
    dir = copyExample('docker');
    run = await startIn(dir);
  });
  after(async () => {
    await run?.stop();
    delete process.env.EXAMPLE_BASE_IMAGE;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const container = async () => {
    const dcs = await run.client.get<DockerComposeService>('DockerComposeService', 'web');
    return dcs?.status?.containerState?.status === 'running' ? dcs.status.containerID : undefined;
  };

  it('builds the image and runs the service', async () => {
    const id = await waitFor(container, { timeoutMs: 120_000 });
    assert.match(await readFileIn(docker, id!, '/app/src/index.html'), /Hello from ferry/);
  });

  it('copies a saved change into the container and runs the exec', async () => {
    const id = (await container())!;
    fs.writeFileSync(path.join(dir, 'app/src/index.html'), '<h1>edited</h1>\n');
    await waitFor(async () => (await readFileIn(docker, id, '/app/src/index.html').catch(() => '')).includes('edited'), { timeoutMs: 30_000 });
    await waitFor(async () => (await readFileIn(docker, id, '/app/src/updated-at.txt').catch(() => '')).length > 0, { timeoutMs: 30_000 });
  });

  it('copies only the files of a change too large for the FileWatch status to list', async () => {
    const id = (await container())!;
    fs.mkdirSync(path.join(dir, 'app/src/many'));
    fs.writeFileSync(path.join(dir, 'app/src/many/keep.txt'), 'host\n');
    await waitFor(async () => (await readFileIn(docker, id, '/app/src/many/keep.txt').catch(() => '')) === 'host\n', { timeoutMs: 30_000 });
    // Changed in the container only: a copy of the whole folder would overwrite it.
    await execIn(docker, id, ['sh', '-c', 'echo container-side > /app/src/many/keep.txt']);
    const names = Array.from({ length: 600 }, (_, i) => `${String(i).padStart(3, '0')}-${'x'.repeat(96)}.txt`);
    for (const n of names) fs.writeFileSync(path.join(dir, 'app/src/many', n), n);
    const last = `/app/src/many/${names.at(-1)}`;
    await waitFor(async () => (await readFileIn(docker, id, last).catch(() => '')) === names.at(-1), { timeoutMs: 60_000 });
    const fw = await run.client.get<FileWatch>('FileWatch', 'web-src');
    const seen = (fw?.status?.fileEvents ?? []).flatMap((e) => e.seenFiles);
    assert.ok(seen.includes(path.join(dir, 'app/src/many')) || seen.includes(path.join(dir, 'app/src')) || seen.includes(path.join(dir, 'app')), 'the status lists a folder for the batch');
    const listed = await execIn(docker, id, ['sh', '-c', 'ls /app/src/many | wc -l']);
    assert.equal(listed.stdout.trim(), String(names.length + 1));
    assert.equal((await readFileIn(docker, id, '/app/src/many/keep.txt')).trim(), 'container-side', 'a file of that folder that did not change was not copied again');
  });

  it('rebuilds when the Dockerfile changes, and live-updates the new container', async () => {
    const before = (await container())!;
    fs.appendFileSync(path.join(dir, 'app/Dockerfile'), '\nLABEL example.rebuilt="yes"\n');
    const after = await waitFor(async () => {
      const id = await container();
      return id && id !== before ? id : undefined;
    }, { timeoutMs: 120_000 });
    const info = await docker.getContainer(after!).inspect();
    assert.equal(info.Config.Labels['example.rebuilt'], 'yes');
    await waitFor(async () => !(await run.client.get<LiveUpdate>('LiveUpdate', 'web'))?.status?.failed, { timeoutMs: 30_000 });
    fs.writeFileSync(path.join(dir, 'app/src/index.html'), '<h1>after rebuild</h1>\n');
    await waitFor(async () => (await readFileIn(docker, after!, '/app/src/index.html').catch(() => '')).includes('after rebuild'), { timeoutMs: 30_000 });
  });
});

describe('the Kubernetes example', () => {
  let docker: Docker;
  let cluster: KubeCluster;
  let dir: string;
  let run: Awaited<ReturnType<typeof startIn>>;
  before(async () => {
    docker = await requireDocker();
    process.env.EXAMPLE_BASE_IMAGE = testImages.busybox;
    cluster = await KubeCluster.start({ docker });
    const kubeconfig = await cluster.writeKubeconfig(undefined, { context: 'fixture' });
    dir = copyExample('kubernetes');
    run = await startIn(dir, { clusterKubeconfig: kubeconfig });
  });
  after(async () => {
    await run?.stop();
    await cluster?.stop();
    delete process.env.EXAMPLE_BASE_IMAGE;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** pod is the running pod of the Deployment, as the KubernetesApply's discovery sees it. */
  const pod = () =>
    waitFor(
      async () => {
        const kd = await run.client.get<KubernetesDiscovery>('KubernetesDiscovery', 'k8s-web');
        const pods = (kd?.status?.pods ?? []).filter((p) => !p.deleting && p.containers?.some((c) => c.name === 'web' && c.state?.running && c.id));
        return pods.length === 1 ? pods[0]! : undefined;
      },
      { timeoutMs: 120_000, message: 'the running pod of Deployment ferry-example-k8s' },
    );

  it('deploys the Deployment with the built image and the command override', async () => {
    const found = await pod();
    const im = await run.client.get<ImageMap>('ImageMap', 'ferry-example-k8s');
    const web = cluster.getPod('default', found.name)!.spec.containers.find((c) => c.name === 'web')!;
    assert.equal(web.image, im?.status?.imageFromCluster, 'the image injected from the ImageMap');
    assert.notEqual(web.image, 'ferry-example-k8s');
    assert.deepEqual(web.command, ['httpd', '-f', '-vv', '-p', '8000', '-h', '/app/src']);
    const id = cluster.containerId('default', found.name, 'web')!;
    const ps = await execIn(docker, id, ['ps', '-o', 'args']);
    assert.match(ps.stdout, /httpd -f -vv -p 8000 -h \/app\/src/, 'the overridden command runs in the container');
    const env = await execIn(docker, id, ['env']);
    assert.match(env.stdout, new RegExp(`^APP_IMAGE=${im!.status!.imageFromCluster!.replace(/[.]/g, '\\.')}$`, 'm'), 'matchInEnvVars: the env value naming the image is injected');
    assert.match(await readFileIn(docker, id, '/app/src/index.html'), /Hello from ferry/);
  });

  it('copies a saved change into the pod by exec', async () => {
    const found = await pod();
    const id = cluster.containerId('default', found.name, 'web')!;
    fs.writeFileSync(path.join(dir, 'app/src/index.html'), '<h1>edited in k8s</h1>\n');
    await waitFor(async () => (await readFileIn(docker, id, '/app/src/index.html').catch(() => '')).includes('edited in k8s'), { timeoutMs: 30_000 });
    await waitFor(async () => (await readFileIn(docker, id, '/app/src/updated-at.txt').catch(() => '')).length > 0, { timeoutMs: 30_000 });
  });
  it('rebuilds when the Dockerfile changes, deploys the new image, and live-updates the new pod', async () => {
    const before = await pod();
    const oldImage = cluster.getPod('default', before.name)!.spec.containers[0]!.image;
    fs.appendFileSync(path.join(dir, 'app/Dockerfile'), '\nLABEL example.rebuilt="yes"\n');
    const after = await waitFor(async () => {
      const p = await pod();
      return p.name !== before.name ? p : undefined;
    }, { timeoutMs: 120_000, message: 'a new pod of the rebuilt image' });
    const web = cluster.getPod('default', after.name)!.spec.containers[0]!;
    assert.notEqual(web.image, oldImage);
    assert.equal(web.image, (await run.client.get<ImageMap>('ImageMap', 'ferry-example-k8s'))?.status?.imageFromCluster);
    const id = cluster.containerId('default', after.name, 'web')!;
    assert.equal((await docker.getContainer(id).inspect()).Config.Labels['example.rebuilt'], 'yes');
    await waitFor(async () => !(await run.client.get<LiveUpdate>('LiveUpdate', 'k8s-web'))?.status?.failed, { timeoutMs: 30_000 });
    fs.writeFileSync(path.join(dir, 'app/src/index.html'), '<h1>after rebuild in k8s</h1>\n');
    await waitFor(async () => (await readFileIn(docker, id, '/app/src/index.html').catch(() => '')).includes('after rebuild in k8s'), { timeoutMs: 30_000 });
  });
});
