// The Kubernetes dev loop on the test cluster fixture: KubernetesApply deploys the image,
// its KubernetesDiscovery finds the pod, a LiveUpdate (applyName) syncs into it; a new image
// is applied again, the Deployment rolls out a new pod, and the next change reaches that pod.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Cluster, FileWatch, ImageMap, KubernetesApply, KubernetesDiscovery, LiveUpdate } from '../../../src/apis/index.ts';
import { toMicroTime } from '../../../src/apis/index.ts';
import { KubeconfigClusters, kubeconfigResolver } from '../../../src/adapters/kubernetes/index.ts';
import { kubernetesUpdaters } from '../../../src/adapters/containers/index.ts';
import { LocalProcessRunner } from '../../../src/adapters/process/index.ts';
import { realClock } from '../../../src/runtime/index.ts';
import { kubernetesTargets } from '../../../src/edges.ts';
import * as kubernetesapply from '../../../controllers/kubernetesapply/index.ts';
import * as kubernetesdiscovery from '../../../controllers/kubernetesdiscovery/index.ts';
import * as liveupdate from '../../../controllers/liveupdate/index.ts';
import { KubeCluster } from '../../fixtures/kube-cluster/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { cleanupContainers, readFileIn, requireDocker, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';
import { deploymentYaml, imageMap, kubernetesApply } from './fixture.ts';

after(cleanupContainers);

test('a new image is applied again, and the LiveUpdate follows the new pod, never the old one', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const repo = testImages.busybox.split(':')[0]!;
  for (const tag of ['ka1', 'ka2']) await docker.getImage(testImages.busybox).tag({ repo, tag });
  const kube = await KubeCluster.start({ docker });
  t.after(() => kube.stop());
  const kubeconfig = await kube.writeKubeconfig();

  const f = await ControllerHarness.start(t, {
    dirPrefix: 'ferry-ka-loop-',
    setup: (mgr, env) => {
      kubernetesapply.setup(mgr, { log: env.log, cwd: env.dir, runner: new LocalProcessRunner(), connect: kubernetesTargets(new KubeconfigClusters({ kubeconfigPath: kubeconfig })) });
      kubernetesdiscovery.setup(mgr, { log: env.log, resolve: kubeconfigResolver({ kubeconfigPath: kubeconfig }) });
      liveupdate.setup(mgr, {
        log: env.log,
        cwd: env.dir,
        updaters: { kubernetes: kubernetesUpdaters({ connectionFor: () => ({ key: 'fixture', kubeConfig: kube.kubeConfig() }), clock: realClock, stepTimeoutMs: 20_000 }) },
      });
    },
  });
  await f.create<Cluster>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'default' }, spec: { connection: { kubernetes: {} } } });
  const built = (tag: string) => ({ image: `${repo}:${tag}`, imageFromCluster: `${repo}:${tag}`, imageFromLocal: `${repo}:${tag}`, buildStartTime: toMicroTime(new Date()) });
  await f.create(imageMap('web', repo));
  await f.setStatus<ImageMap>('ImageMap', 'web', built('ka1'));
  await f.create<FileWatch>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'fw' }, spec: { watchedPaths: [f.dir] } });
  await f.create(kubernetesApply('web', { yaml: deploymentYaml('web', repo), imageMaps: ['web'] }));
  await f.create<LiveUpdate>({
    apiVersion: 'tilt.dev/v1alpha1',
    kind: 'LiveUpdate',
    metadata: { name: 'web' },
    spec: {
      basePath: f.dir,
      selector: { kubernetes: { discoveryName: 'web', applyName: 'web', imageMapName: 'web' } },
      sources: [{ fileWatch: 'fw', imageMap: 'web' }],
      syncs: [{ localPath: 'src', containerPath: '/app' }],
    },
  });

  const running = async (tag: string) =>
    waitFor(
      async () => {
        const kd = await f.get<KubernetesDiscovery>('KubernetesDiscovery', 'web');
        const pods = (kd?.status?.pods ?? []).filter((p) => !p.deleting && p.containers?.[0]?.image?.endsWith(`:${tag}`) && p.containers[0].state?.running && p.containers[0].id);
        return pods.length === 1 ? pods[0]! : undefined;
      },
      { message: `a running pod of ${tag}`, timeoutMs: 30_000 },
    );
  const change = async (file: string, text: string) => {
    await fsp.mkdir(path.join(f.dir, 'src'), { recursive: true });
    await fsp.writeFile(path.join(f.dir, 'src', file), text);
    const time = toMicroTime(new Date());
    const fw = await f.mustGet<FileWatch>('FileWatch', 'fw');
    await f.setStatus<FileWatch>('FileWatch', 'fw', { ...fw.status, lastEventTime: time, fileEvents: [...(fw.status?.fileEvents ?? []), { time, seenFiles: [path.join(f.dir, 'src', file)] }] });
  };
  const synced = (pod: string) =>
    f.waitStatus<LiveUpdate>('LiveUpdate', 'web', (s) => !!s.containers?.some((c) => c.podName === pod && c.lastFileTimeSynced), `synced into ${pod}`, 30_000);

  const first = await running('ka1');
  const firstId = first.containers![0]!.id!.replace(/^[a-z]+:\/\//, '');
  await change('a.txt', 'one');
  await synced(first.name);
  assert.equal(await readFileIn(docker, firstId, '/app/a.txt'), 'one');

  const before = (await f.mustGet<KubernetesApply>('KubernetesApply', 'web')).status!;
  await f.setStatus<ImageMap>('ImageMap', 'web', built('ka2'));
  const second = await running('ka2');
  assert.notEqual(second.name, first.name);
  const after2 = (await f.mustGet<KubernetesApply>('KubernetesApply', 'web')).status!;
  assert.ok(after2.lastApplyStartTime! > before.lastApplyStartTime!);

  await change('b.txt', 'two');
  const lu = await synced(second.name);
  assert.deepEqual(lu.status!.containers!.map((c) => c.podName), [second.name], 'only the pod of the current apply');
  const secondId = second.containers![0]!.id!.replace(/^[a-z]+:\/\//, '');
  assert.equal(await readFileIn(docker, secondId, '/app/b.txt'), 'two');
});
