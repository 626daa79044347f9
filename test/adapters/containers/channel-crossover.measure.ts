// Measures the channel (tar frames, and one frame per file) against the per-call path, for the
// crossover (channelMaxEntries, tarMinEntries) and the per-file latency. Run by hand, never by
// the suite (timings are not test assertions):
//   node --import tsx test/adapters/containers/channel-crossover.measure.ts [docker|kubernetes] [sizes] [tarMinEntries]
// (sizes a comma-separated list of file counts; tarMinEntries lowers the tar frame's threshold
// for the 'tar frame' figures, to find where it pays)
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { realClock } from '../../../src/util/clock.ts';
import { planArchive } from '../../../src/adapters/tar/archive.ts';
import { DockerContainerUpdater } from '../../../src/adapters/containers/docker.ts';
import { ExecContainerUpdater } from '../../../src/adapters/containers/kubernetes-exec.ts';
import type { ContainerTarget, ContainerUpdater } from '../../../src/adapters/containers/updater.ts';
import { KubeCluster } from '../../fixtures/kube-cluster/index.ts';
import { cleanupContainers, requireDocker, runContainer, testImages } from '../../support/docker.ts';

const mode = process.argv[2] ?? 'docker';
const sizes = (process.argv[3] ?? '1,2,4,8,10,30,100,1000,10000').split(',').map(Number);
/** perFileUpTo: one frame per file is measured up to this many files (it takes 1-2 ms a file). */
const perFileUpTo = 1000;
const tarMinEntries = process.argv[4] ? Number(process.argv[4]) : undefined;
const docker = await requireDocker();
let cluster: KubeCluster | undefined;
let target: ContainerTarget;
let channel: ContainerUpdater & { close(): Promise<void> };
let perFile: ContainerUpdater & { close(): Promise<void> };
let perCall: ContainerUpdater;
if (mode === 'kubernetes') {
  cluster = await KubeCluster.start({ docker });
  await cluster.createPod({ name: 'measure', containers: [{ name: 'main', image: testImages.busybox, command: ['sleep', '3600'] }] });
  await cluster.waitForPod('default', 'measure', (p) => p?.status?.phase === 'Running');
  target = { containerId: cluster.containerId('default', 'measure', 'main')!, containerName: 'main', podName: 'measure', namespace: 'default' };
  channel = new ExecContainerUpdater({ kubeConfig: cluster.kubeConfig(), clock: realClock, channel: { maxEntries: Infinity, tarMinEntries } });
  perFile = new ExecContainerUpdater({ kubeConfig: cluster.kubeConfig(), clock: realClock, channel: { maxEntries: Infinity, tarMinEntries: Infinity } });
  perCall = new ExecContainerUpdater({ kubeConfig: cluster.kubeConfig(), clock: realClock, channel: false });
} else {
  const c = await runContainer(docker, { image: testImages.busybox });
  target = { containerId: c.id, containerName: c.name, podName: '', namespace: '' };
  channel = new DockerContainerUpdater({ docker, clock: realClock, channel: { maxEntries: Infinity, tarMinEntries } });
  perFile = new DockerContainerUpdater({ docker, clock: realClock, channel: { maxEntries: Infinity, tarMinEntries: Infinity } });
  perCall = new DockerContainerUpdater({ docker, clock: realClock, channel: false });
}
channel.retain!('measure/x', [target]);
perFile.retain!('measure/x', [target]);
const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-measure-'));
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  for (const n of sizes) {
    const mappings = [];
    for (let i = 0; i < n; i++) {
      const p = path.join(dir, `n${n}`, `f${i}.txt`);
      await fsp.mkdir(path.dirname(p), { recursive: true });
      await fsp.writeFile(p, 'x'.repeat(100));
      mappings.push({ localPath: p, containerPath: `/app/n${n}/f${i}.txt`, root: dir });
    }
    const plan = await planArchive(mappings);
    const u = { target, deletePaths: [], execs: [], restart: false, archive: plan.stream, entries: plan.entries };
    const reps = n <= 10 ? 20 : n <= 100 ? 7 : 3;
    const variants = [['tar frame', channel], ['per file', perFile], ['per call', perCall]] as const;
    const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
    await channel.update(u); // warm: the channel is open and the directory exists
    if (n <= perFileUpTo) await perFile.update(u);
    for (let r = 0; r < reps; r++) {
      for (const [name, up] of variants) {
        if (name === 'per file' && n > perFileUpTo) continue;
        const t0 = performance.now();
        await up.update(u);
        times.get(name)!.push(performance.now() - t0);
      }
    }
    const shown = [...times].filter(([, xs]) => xs.length > 0).map(([name, xs]) => `${name} ${median(xs).toFixed(1)} ms`);
    console.log(`${mode} ${n} files: ${shown.join(', ')}`);
  }
} finally {
  await channel.close();
  await perFile.close();
  await cluster?.stop();
  await cleanupContainers();
  await fsp.rm(dir, { recursive: true, force: true });
}
