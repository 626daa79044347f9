// Measures what a tar frame costs for a batch spread over few or many directories (each
// directory of a frame costs one `mv` in the container, agent.ts). Run by hand, never by the
// suite (timings are not test assertions):
//   node --import tsx test/adapters/containers/channel-staging.measure.ts [image] [files:dirs[:spread],...]
// (files of a directory are listed together, as a walk lists them; `spread` lists them round
// robin, so that every frame holds files of every directory: the worst case)
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { realClock } from '../../../src/util/clock.ts';
import { planArchive } from '../../../src/adapters/tar/archive.ts';
import { DockerContainerUpdater } from '../../../src/adapters/containers/docker.ts';
import { cleanupContainers, requireDocker, runContainer, testImages } from '../../support/docker.ts';

const image = process.argv[2] || testImages.busybox;
const shapes = (process.argv[3] ?? '10:1,100:1,500:1,500:50,2000:200,2000:200:spread').split(',').map((s) => s.split(':'));
const docker = await requireDocker();
const c = await runContainer(docker, { image });
const target = { containerId: c.id, containerName: c.name, podName: '', namespace: '' };
const channel = new DockerContainerUpdater({ docker, clock: realClock, channel: {} });
channel.retain!('measure/x', [target]);
const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-measure-'));
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  for (const [files, dirCount, how] of shapes) {
    const n = Number(files);
    const dirs = Number(dirCount);
    const d = (i: number) => (how === 'spread' ? i % dirs : Math.floor((i * dirs) / n));
    const mappings = [];
    for (let i = 0; i < n; i++) {
      const p = path.join(dir, `n${n}-${dirs}${how ?? ''}`, `d${d(i)}`, `f${i}.txt`);
      await fsp.mkdir(path.dirname(p), { recursive: true });
      await fsp.writeFile(p, 'x'.repeat(100));
      mappings.push({ localPath: p, containerPath: `/app/n${n}-${dirs}${how ?? ''}/d${d(i)}/f${i}.txt`, root: dir });
    }
    const plan = await planArchive(mappings);
    const u = { target, deletePaths: [], execs: [], restart: false, archive: plan.stream, entries: plan.entries };
    await channel.update(u); // warm: the channel is open and the directories exist
    const times: number[] = [];
    for (let r = 0; r < 9; r++) {
      const t0 = performance.now();
      await channel.update(u);
      times.push(performance.now() - t0);
    }
    console.log(`${n} files in ${dirs} dir(s)${how ? ` (${how})` : ''}: median ${median(times).toFixed(1)} ms (min ${Math.min(...times).toFixed(1)})`);
  }
} finally {
  await channel.close();
  await cleanupContainers();
  await fsp.rm(dir, { recursive: true, force: true });
}
