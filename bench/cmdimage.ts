/**
 * CmdImage benchmark:
 * - the overhead of a CmdImage build over running the same `docker build` command directly.
 *   Each run triggers the CmdImage and measures from the trigger write to the completed status
 *   (as the controller's cache sees it), against one direct run of the command; the two
 *   alternate so that Docker's build cache treats them alike. Medians of several runs.
 * - the dev loop: from saving a LiveUpdate stop path to the Compose service running a container
 *   of the rebuilt image (CmdImage, DockerComposeService and LiveUpdate controllers, real Docker
 *   and docker-compose; the FileWatch event is written directly, so its quiet period is not
 *   counted). Median of a few runs.
 * Runnable alone: `node --import tsx bench/cmdimage.ts`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { KubeConfig } from '@kubernetes/client-node';
import type { CmdImage, Cluster } from '../src/apis/index.ts';
import { microTimeValue } from '../src/apis/index.ts';
import { startApiServer } from '../src/apiserver/server.ts';
import { FerryClient } from '../src/client/client.ts';
import { silentLogger } from '../src/log.ts';
import { Manager } from '../src/runtime/index.ts';
import { setup } from '../controllers/cmdimage/index.ts';
import * as dockercomposeservice from '../controllers/dockercomposeservice/index.ts';
import * as liveupdate from '../controllers/liveupdate/index.ts';
import { ComposeCli } from '../src/adapters/compose/index.ts';
import { DockerEngine } from '../src/adapters/docker/index.ts';
import { toMicroTime, type DockerComposeService, type FileWatch, type ImageMap, type LiveUpdate } from '../src/apis/index.ts';
import { triggerResource } from '../src/cli/trigger.ts';

export interface CmdImageBench {
  runs: number;
  /** directMs is the median wall time of the command run directly. */
  directMs: number;
  /** cmdImageMs is the median time from the trigger write to the completed status. */
  cmdImageMs: number;
  /** overheadMs is cmdImageMs - directMs. */
  overheadMs: number;
  /** statusDurationMs is the median finishedAt - startedAt recorded in the status. */
  statusDurationMs: number;
  /** loop is the stop-path-to-new-container measurement, absent when skipped. */
  loop?: LoopBench;
}

export interface LoopBench {
  runs: number;
  /** stopPathToNewContainerMs is the median time from a stop-path save to the new container running the new image. */
  stopPathToNewContainerMs: number;
  /** buildMs is the median duration of the rebuild itself (finishedAt - startedAt). */
  buildMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const busybox = process.env.FERRY_TEST_BUSYBOX_IMAGE ?? 'ferry-test/busybox:latest';

function script(): string {
  return `printf 'FROM ${busybox}\\nRUN echo bench > /bench.txt\\n' | DOCKER_BUILDKIT=0 docker build -q -t "$EXPECTED_REF" -`;
}

function runDirect(env: Record<string, string>): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn('sh', ['-c', script()], { env: { ...process.env, ...env }, stdio: 'ignore' });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(performance.now() - start) : reject(new Error(`direct build exited ${code}`))));
  });
}

/**
 * runCmdImageBench measures `runs` builds each way (default 7) after one warm-up, then
 * `loopRuns` stop-path rebuilds (default 3; 0 skips the loop).
 */
export async function runCmdImageBench(opts: { runs?: number; loopRuns?: number } = {}): Promise<CmdImageBench> {
  const build = await runBuildBench(opts.runs ?? 7);
  const loopRuns = opts.loopRuns ?? 3;
  return loopRuns > 0 ? { ...build, loop: await runLoopBench(loopRuns) } : build;
}

async function runBuildBench(runs: number): Promise<CmdImageBench> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-cmdimage-'));
  const server = await startApiServer({ dataDir, storage: 'memory', log: silentLogger() });
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig);
  const client = new FerryClient(kc);
  const docker = new Docker();
  const mgr = new Manager({ kubeConfig: kc, log: silentLogger() });
  setup(mgr, { images: DockerEngine.connect().images(), cwd: dataDir });
  await mgr.start();
  const ref = `ferry-bench-${process.pid}`;
  try {
    await client.create<Cluster>({ kind: 'Cluster', metadata: { name: 'default' }, spec: {} });
    const informer = mgr.cache.inform<CmdImage>('CmdImage');
    let afterStart = '';
    let waiter: ((c: CmdImage) => void) | undefined;
    informer.onEvent((ev) => {
      const done = ev.obj.status?.completed;
      if (waiter && done && !ev.obj.status?.building && (done.startedAt ?? '') > afterStart) waiter(ev.obj);
    });
    const built = () => new Promise<CmdImage>((resolve) => (waiter = resolve));

    let next = built();
    await client.create<CmdImage>({ kind: 'CmdImage', metadata: { name: 'bench' }, spec: { ref, args: ['sh', '-c', script()] } });
    let c = await next;
    if (c.status?.completed?.error) throw new Error(`warm-up build failed: ${c.status.completed.error}`);
    await runDirect({ EXPECTED_REF: `${ref}:direct` });

    const direct: number[] = [];
    const viaCmdImage: number[] = [];
    const inStatus: number[] = [];
    for (let i = 0; i < runs; i++) {
      direct.push(await runDirect({ EXPECTED_REF: `${ref}:direct` }));
      afterStart = c.status!.completed!.startedAt!;
      next = built();
      const start = performance.now();
      await triggerResource(client, 'bench');
      c = await next;
      viaCmdImage.push(performance.now() - start);
      if (c.status?.completed?.error) throw new Error(`build failed: ${c.status.completed.error}`);
      inStatus.push((microTimeValue(c.status!.completed!.finishedAt) - microTimeValue(c.status!.completed!.startedAt)) / 1000);
    }
    const directMs = median(direct);
    const cmdImageMs = median(viaCmdImage);
    return {
      runs,
      directMs: Math.round(directMs),
      cmdImageMs: Math.round(cmdImageMs),
      overheadMs: Math.round(cmdImageMs - directMs),
      statusDurationMs: Math.round(median(inStatus)),
    };
  } finally {
    await mgr.stop();
    client.close();
    await server.close();
    const images = await docker.listImages().catch(() => []);
    for (const img of images) {
      if ((img.RepoTags ?? []).some((t) => t.startsWith(`${ref}:`))) await docker.getImage(img.Id).remove({ force: true }).catch(() => {});
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** runLoopBench measures the dev loop's rebuild path `runs` times after the first build. */
export async function runLoopBench(runs: number): Promise<LoopBench> {
  const dataDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-loop-')));
  const server = await startApiServer({ dataDir: path.join(dataDir, 'api'), storage: 'memory', log: silentLogger() });
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig);
  const client = new FerryClient(kc);
  const docker = new Docker();
  const log = silentLogger();
  const mgr = new Manager({ kubeConfig: kc, log });
  const src = path.join(dataDir, 'src');
  const engine = DockerEngine.connect();
  setup(mgr, { images: engine.images(), cwd: src, log });
  dockercomposeservice.setup(mgr, { log, compose: new ComposeCli(), docker: engine.client(), workDir: path.join(dataDir, 'compose') });
  liveupdate.setup(mgr, { log, updaters: { docker: engine.containerUpdater({ clock: mgr.clock }) } });
  await mgr.start();
  const ref = `ferry-bench-loop-${process.pid}`;
  const project = `ferrybenchloop${process.pid}`;
  const poll = async <T>(fn: () => Promise<T | undefined>, what: string): Promise<T> => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) {
        const states = await Promise.all(['CmdImage/img', 'DockerComposeService/svc', 'LiveUpdate/lu'].map(async (k) => {
          const [kind, name] = k.split('/') as [string, string];
          return `${k}: ${JSON.stringify((await client.get(kind, name))?.status)}`;
        }));
        throw new Error(`timed out waiting for ${what}\n${states.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const event = async (file: string) => {
    const fw = (await client.get<FileWatch>('FileWatch', 'fw'))!;
    const time = toMicroTime(new Date());
    await client.updateStatus<FileWatch>({ ...fw, status: { ...fw.status, lastEventTime: time, fileEvents: [{ time, seenFiles: [path.join(src, file)] }] } });
  };
  const container = (pred: (d: DockerComposeService) => boolean) =>
    poll(async () => {
      const d = await client.get<DockerComposeService>('DockerComposeService', 'svc');
      return d?.status?.containerID && d.status.containerState?.running && pred(d) ? d.status.containerID : undefined;
    }, 'the service container');
  try {
    fs.mkdirSync(path.join(src, 'app'), { recursive: true });
    fs.writeFileSync(path.join(src, 'Dockerfile'), `FROM ${busybox}\nCOPY app /app\nCMD ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n`);
    fs.writeFileSync(path.join(src, 'app', 'a.txt'), 'a');
    await client.create<Cluster>({ kind: 'Cluster', metadata: { name: 'docker' }, spec: { connection: { docker: {} } } });
    await client.create<FileWatch>({ kind: 'FileWatch', metadata: { name: 'fw', annotations: { 'tilt.dev/target-id': 'image:img' } }, spec: { watchedPaths: [src] } });
    await client.create<CmdImage>({
      kind: 'CmdImage',
      metadata: { name: 'img' },
      spec: { ref, cluster: 'docker', args: ['sh', '-c', 'DOCKER_BUILDKIT=0 docker build -q -t "$EXPECTED_REF" .'] },
    });
    await client.create<DockerComposeService>({
      kind: 'DockerComposeService',
      metadata: { name: 'svc' },
      spec: { service: 'app', project: { name: project, yaml: `services:\n  app:\n    image: ${ref}\n` }, imageMaps: ['img'] },
    });
    await client.create<LiveUpdate>({
      kind: 'LiveUpdate',
      metadata: { name: 'lu' },
      spec: { basePath: src, selector: { dockerCompose: { service: 'svc' } }, sources: [{ fileWatch: 'fw', imageMap: 'img' }], syncs: [{ localPath: 'app', containerPath: '/app' }], stopPaths: ['app/stop.txt'] },
    });
    let current = await container(() => true);
    await poll(async () => ((await client.get<LiveUpdate>('LiveUpdate', 'lu'))?.status?.containers?.length ? true : undefined), 'the LiveUpdate');

    const total: number[] = [];
    const build: number[] = [];
    for (let i = 0; i < runs; i++) {
      const before = current;
      const start = performance.now();
      // The stop path is in the build context, so the rebuild makes a new image.
      fs.writeFileSync(path.join(src, 'app', 'stop.txt'), `run ${i}`);
      await event('app/stop.txt');
      current = await container((d) => d.status!.containerID !== before);
      total.push(performance.now() - start);
      const im = (await client.get<ImageMap>('ImageMap', 'img'))!;
      const c = (await client.get<CmdImage>('CmdImage', 'img'))!;
      if ((await docker.getContainer(current).inspect()).Config.Image !== im.status?.imageFromLocal) throw new Error('the new container does not run the new image');
      build.push((microTimeValue(c.status!.completed!.finishedAt) - microTimeValue(c.status!.completed!.startedAt)) / 1000);
      await poll(async () => (!(await client.get<LiveUpdate>('LiveUpdate', 'lu'))?.status?.failed ? true : undefined), 'the LiveUpdate to recover');
    }
    return { runs, stopPathToNewContainerMs: Math.round(median(total)), buildMs: Math.round(median(build)) };
  } finally {
    await mgr.stop();
    for (const kind of ['LiveUpdate', 'DockerComposeService']) {
      for (const o of (await client.list(kind)).items) await client.delete(kind, o.metadata.name!).catch(() => {});
    }
    client.close();
    await server.close();
    const ids = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } }).catch(() => []);
    for (const c of ids) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
    await docker.getNetwork(`${project}_default`).remove().catch(() => {});
    const images = await docker.listImages().catch(() => []);
    for (const img of images) {
      if ((img.RepoTags ?? []).some((t) => t.startsWith(`${ref}:`))) await docker.getImage(img.Id).remove({ force: true }).catch(() => {});
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  console.log(JSON.stringify(await runCmdImageBench(), null, 2));
  process.exit(0);
}
