/**
 * Sync benchmark: save-to-visible through the whole daemon, measured from inside the container.
 *
 * `startDaemon` runs in this process with the embedded API server (memory storage), every
 * controller and the default FileWatch quiet window (adaptive, 10 ms base). A Docker Compose
 * service (busybox, brought up by the DockerComposeService controller), a FileWatch on a local
 * folder and a LiveUpdate syncing it into the container are applied. busybox `inotifyd`, exec'd
 * into the container, reports every file as its write completes (close-write or rename-into);
 * each file's time is when its line reaches this process.
 *
 * For each size (1, 10 and 100 small files, one 1 MiB file, 10,000 small files), in the same run:
 * - ferry: the files are written locally; timed from the end of the writes (the save is done)
 *   until the last file is seen in the container: watcher, quiet window, FileWatch status,
 *   LiveUpdate, copy;
 * - one per-call copy of the same files, timed from the call: `docker exec -i tar -x` and the
 *   Engine's archive API (`putArchive`), archives planned beforehand;
 * - a Tilt-like pipeline: 200 ms quiet after the writes, then the archive, then `exec tar`;
 * - a Compose-Watch-like pipeline: 500 ms quiet, then the archive API.
 * The pipelines are ideal ones (no watcher or API cost of their own): the floor of their design.
 *
 * Also: the daemon's CPU time over 10 s with nothing changing, and the last latency the
 * LiveUpdate reports (status.lastSyncLatency). Then the Kubernetes path: a second daemon whose
 * dev cluster is the test cluster fixture (pods are real Docker containers, exec over
 * WebSocket), a pod found by a KubernetesDiscovery, the same sizes, beside one exec of `tar`
 * through client-node and a Tilt-like pipeline (200 ms, then that exec).
 *
 * Run alone: `node --import tsx bench/sync.ts`; or `npm run bench -- sync`.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';
import { Exec } from '@kubernetes/client-node';
import { KubeCluster } from '../test/fixtures/kube-cluster/index.ts';
import type { DockerComposeService, FileWatch, KubernetesDiscovery, LiveUpdate } from '../src/apis/index.ts';
import { FerryClient } from '../src/client/index.ts';
import { startDaemon } from '../src/daemon.ts';
import { silentLogger } from '../src/log.ts';
import { planArchive } from '../src/adapters/tar/archive.ts';
import { Visibility } from './visibility.ts';

const image = process.env.FERRY_TEST_BUSYBOX_IMAGE ?? 'ferry-test/busybox:latest';
const inContainerDir = '/app/bench';
const project = `ferry-bench-sync-${process.pid}`;

/** Figures of one size, medians in ms. */
export interface SyncFigures {
  case: string;
  files: number;
  bytesPerFile: number;
  runs: number;
  ferryMs: number;
  ferryP90Ms: number;
  execTarMs: number;
  putArchiveMs: number;
  tiltLikeMs: number;
  composeWatchLikeMs: number;
  /** ferryMs divided by the faster per-call copy. */
  ratioToPerCall: number;
}

export interface SyncBenchResult {
  image: string;
  quietWindow: string;
  figures: SyncFigures[];
  /** idleCpuMs is the daemon process's CPU time (user + system) over 10 s with nothing changing. */
  idleCpuMs: number;
  lastSyncLatency?: string;
  /** kubernetes are the figures of a pod of the test cluster fixture (exec + tar over WebSocket). */
  kubernetes?: KubernetesSyncFigures[];
}

/** KubernetesSyncFigures are the Kubernetes path's figures of one size, medians in ms. */
export interface KubernetesSyncFigures {
  case: string;
  files: number;
  runs: number;
  ferryMs: number;
  ferryP90Ms: number;
  /** execTarMs is one `tar -x` exec through client-node, timed from the call. */
  execTarMs: number;
  tiltLikeMs: number;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}
const round = (n: number) => Math.round(n * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SaveWriter writes the measured saves from another process (bench/writer.mjs), as an editor or
 * git would: written from this process, the files would wait behind the daemon's own disk work in
 * the same thread pool, and a save would reach the watcher with gaps it does not have.
 */
class SaveWriter {
  private readonly child: ChildProcess = fork(fileURLToPath(new URL('./writer.mjs', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  private next = 0;
  private readonly waiting = new Map<number, () => void>();
  constructor() {
    this.child.unref();
    this.child.channel?.unref();
    this.child.on('message', (m: { id: number }) => {
      this.waiting.get(m.id)?.();
      this.waiting.delete(m.id);
    });
  }
  /** write resolves once the other process has written every file (about 0.1 ms of IPC after). */
  write(dir: string, names: string[], bytes: number): Promise<void> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send({ id, dir, names, bytes });
    });
  }
}

/** saves writes the measured saves; its process never keeps the bench running. */
const saves = {
  writer: undefined as SaveWriter | undefined,
  write(dir: string, names: string[], bytes: number): Promise<void> {
    this.writer ??= new SaveWriter();
    return this.writer.write(dir, names, bytes);
  },
};

async function writeFiles(dir: string, names: string[], content: Buffer): Promise<void> {
  for (let k = 0; k < names.length; k += 256) await Promise.all(names.slice(k, k + 256).map((n) => fsp.writeFile(path.join(dir, n), content)));
}

async function execTar(docker: Docker, id: string, archive: NodeJS.ReadableStream): Promise<void> {
  const exec = await docker.getContainer(id).exec({ Cmd: ['tar', '-C', '/', '-x', '-f', '-'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: true });
  docker.modem.demuxStream(stream, new PassThrough(), new PassThrough());
  archive.pipe(stream);
  await new Promise<void>((resolve) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
  });
}

/** Run is what the measured copies of one run of a case share. */
interface Run {
  /** names lists the files a variant writes, by its kind: never the same twice. */
  names: (kind: string) => string[];
  /** settle waits for a calm machine: the previous copy's process is gone. */
  settle: () => Promise<unknown>;
  v: Visibility;
  /** rawDir is where the per-call copies' files are written: a folder ferry does not watch. */
  rawDir: string;
  content: Buffer;
  timeoutMs: number;
}

/** ferryVariant writes a save from the writer process and times it until the container has every file. */
function ferryVariant(run: Run, src: string, out: number[]): () => Promise<void> {
  return async () => {
    await run.settle();
    const names = run.names('ferry');
    await saves.write(src, names, run.content.length);
    const saved = performance.now();
    out.push((await run.v.allSeen(names, run.timeoutMs)) - saved);
  };
}

/**
 * perCallVariant times one copy by `copy` of new files: from the call, the archive planned
 * beforehand; or, given a quiet window (the Tilt-like and Compose-Watch-like pipelines), from the
 * calm after the save, the window and the planning included.
 */
function perCallVariant(run: Run, kind: string, out: number[], copy: (archive: NodeJS.ReadableStream) => Promise<void>, windowMs = 0): () => Promise<void> {
  return async () => {
    const names = run.names(kind);
    await writeFiles(run.rawDir, names, run.content);
    const mappings = names.map((n) => ({ localPath: path.join(run.rawDir, n), containerPath: `${inContainerDir}/${n}` }));
    let plan = windowMs ? undefined : await planArchive(mappings);
    await run.settle();
    const t0 = performance.now();
    if (!plan) {
      await sleep(windowMs);
      plan = await planArchive(mappings);
    }
    await copy(plan.stream() as unknown as NodeJS.ReadableStream);
    out.push((await run.v.allSeen(names, run.timeoutMs)) - t0);
  };
}

const allCases = [
  { name: '1 file', files: 1, bytes: 1024, runs: 15 },
  { name: '10 files', files: 10, bytes: 1024, runs: 10 },
  { name: '100 files', files: 100, bytes: 1024, runs: 8 },
  { name: '1 MiB file', files: 1, bytes: 1024 * 1024, runs: 6 },
  { name: '10,000 files', files: 10_000, bytes: 512, runs: 3 },
];
/** SYNC_BENCH_CASES (case names separated by `;`, e.g. `100 files;10,000 files`) runs only those cases. */
const only = process.env.SYNC_BENCH_CASES?.split(';').map((s) => s.trim());
const cases = only ? allCases.filter((c) => only.includes(c.name)) : allCases;

/** runKubernetesSync measures ferry's sync into a pod of the test cluster fixture, beside one exec of tar. */
async function runKubernetesSync(docker: Docker, scale: number): Promise<KubernetesSyncFigures[]> {
  const cluster = await KubeCluster.start({ docker });
  const dir = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-bench-sync-k8s-')));
  const src = path.join(dir, 'src');
  const rawDir = path.join(dir, 'raw');
  await fsp.mkdir(src);
  await fsp.mkdir(rawDir);
  const daemon = await startDaemon({
    dataDir: path.join(dir, 'data'),
    storage: 'memory',
    log: silentLogger(),
    cwd: dir,
    clusterKubeconfig: await cluster.writeKubeconfig(path.join(dir, 'kubeconfig'), { context: 'fixture' }),
  });
  const client = new FerryClient(daemon.kubeConfig);
  let stopWatch = () => {};
  try {
    await cluster.createPod({
      name: 'bench',
      labels: { app: 'bench' },
      containers: [{ name: 'app', image, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', `mkdir -p ${inContainerDir} && exec sleep 36000`] }],
    });
    await client.create<FileWatch>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'pod' }, spec: { watchedPaths: [src] } });
    await client.create<KubernetesDiscovery>({
      apiVersion: 'tilt.dev/v1alpha1',
      kind: 'KubernetesDiscovery',
      metadata: { name: 'pod' },
      spec: { watches: [{ namespace: 'default' }], extraSelectors: [{ matchLabels: { app: 'bench' } }] },
    });
    await client.create<LiveUpdate>({
      apiVersion: 'tilt.dev/v1alpha1',
      kind: 'LiveUpdate',
      metadata: { name: 'pod' },
      spec: { basePath: dir, selector: { kubernetes: { discoveryName: 'pod', containerName: 'app' } }, sources: [{ fileWatch: 'pod' }], syncs: [{ localPath: 'src', containerPath: inContainerDir }] },
    });
    for (let i = 0; i < 600; i++) {
      if ((await client.get<LiveUpdate>('LiveUpdate', 'pod'))?.status?.containers?.[0]?.containerID) break;
      await sleep(100);
    }
    const id = cluster.containerId('default', 'bench', 'app');
    if (!id) {
      const lu = await client.get<LiveUpdate>('LiveUpdate', 'pod');
      const kd = await client.get<KubernetesDiscovery>('KubernetesDiscovery', 'pod');
      throw new Error(`no container for the pod: LiveUpdate ${JSON.stringify(lu?.status)}, discovery ${JSON.stringify(kd?.status)}`);
    }
    const { v, stop } = await Visibility.start(docker, id, inContainerDir);
    stopWatch = stop;
    const exec = new Exec(cluster.kubeConfig({ context: 'fixture' }));
    const execTar = (archive: NodeJS.ReadableStream) =>
      new Promise<void>((resolve, reject) => {
        exec
          .exec('default', 'bench', 'app', ['tar', '-C', '/', '-x', '-f', '-'], new PassThrough(), new PassThrough(), archive as never, false, () => resolve())
          .catch(reject);
      });
    await writeFiles(src, ['warm-0'], Buffer.from('w'));
    await v.allSeen(['warm-0']);

    const out: KubernetesSyncFigures[] = [];
    for (const c of cases) {
      const runs = Math.max(1, Math.round(c.runs * scale));
      const content = Buffer.alloc(c.bytes, 'x');
      const settle = () => sleep(c.files > 1000 ? 2000 : 300);
      const ferry: number[] = [];
      const raw: number[] = [];
      const tilt: number[] = [];
      for (let r = 0; r < runs; r++) {
        const names = (kind: string) => Array.from({ length: c.files }, (_, k) => `k8s-${kind}-${c.files}-${c.bytes}-${r}-${k}`);
        const run: Run = { names, settle, v, rawDir, content, timeoutMs: 180_000 };
        const variants = [ferryVariant(run, src, ferry), perCallVariant(run, 'exec', raw, execTar), perCallVariant(run, 'tilt', tilt, execTar, 200)];
        // Each run starts with another variant (see the Docker path).
        for (let k = 0; k < variants.length; k++) await variants[(r + k) % variants.length]!();
      }
      out.push({
        case: c.name,
        files: c.files,
        runs,
        ferryMs: round(quantile(ferry, 0.5)),
        ferryP90Ms: round(quantile(ferry, 0.9)),
        execTarMs: round(quantile(raw, 0.5)),
        tiltLikeMs: round(quantile(tilt, 0.5)),
      });
      process.stderr.write(`sync kubernetes ${c.name}: ${JSON.stringify(out.at(-1))}\n`);
    }
    return out;
  } finally {
    stopWatch();
    client.close();
    await daemon.stop();
    await cluster.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** runSyncBench measures save-to-visible through the daemon against per-call copies and Tilt-like and Compose-Watch-like pipelines. */
export async function runSyncBench(opts: { runsScale?: number; kubernetes?: boolean } = {}): Promise<SyncBenchResult> {
  const scale = opts.runsScale ?? 1;
  const docker = new Docker();
  await docker.ping();
  const dir = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-bench-sync-')));
  const src = path.join(dir, 'src');
  await fsp.mkdir(src);
  const daemon = await startDaemon({ dataDir: path.join(dir, 'data'), storage: 'memory', log: silentLogger(), cwd: dir });
  const client = new FerryClient(daemon.kubeConfig);
  let stopWatch = () => {};
  let result: SyncBenchResult;
  try {
    try {
      await client.create<FileWatch>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'app' }, spec: { watchedPaths: [src] } });
      const yaml = [
        'services:',
        '  app:',
        `    image: ${image}`,
        '    init: true',
        `    command: ["sh", "-c", "mkdir -p ${inContainerDir} && exec sleep 36000"]`,
      ].join('\n');
      await client.create<DockerComposeService>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'DockerComposeService', metadata: { name: 'app' }, spec: { service: 'app', project: { name: project, yaml } } });
      await client.create<LiveUpdate>({
        apiVersion: 'tilt.dev/v1alpha1',
        kind: 'LiveUpdate',
        metadata: { name: 'app' },
        spec: { basePath: dir, selector: { dockerCompose: { service: 'app' } }, sources: [{ fileWatch: 'app' }], syncs: [{ localPath: 'src', containerPath: inContainerDir }] },
      });
      let id = '';
      for (let i = 0; i < 600 && !id; i++) {
        const lu = await client.get<LiveUpdate>('LiveUpdate', 'app');
        id = lu?.status?.containers?.[0]?.containerID ?? '';
        if (!id) await sleep(100);
      }
      if (!id) throw new Error('the LiveUpdate never selected the Compose container');
      const container = docker.getContainer(id);
      for (let i = 0; i < 100; i++) {
        const r = await container.inspect();
        if (r.State.Running) break;
        await sleep(100);
      }
      const { v, stop } = await Visibility.start(docker, id, inContainerDir);
      stopWatch = stop;

      // Warm up: the first sync pays for connections and code being compiled.
      await writeFiles(src, ['warm-0', 'warm-1'], Buffer.from('w'));
      await v.allSeen(['warm-0', 'warm-1']);

      const figures: SyncFigures[] = [];
      for (const c of cases) {
        const runs = Math.max(1, Math.round(c.runs * scale));
        const content = Buffer.alloc(c.bytes, 'x');
        const ferry: number[] = [];
        const exec: number[] = [];
        const put: number[] = [];
        const tilt: number[] = [];
        const compose: number[] = [];
        for (let r = 0; r < runs; r++) {
          const names = (kind: string) => Array.from({ length: c.files }, (_, k) => `${kind}-${c.files}-${c.bytes}-${r}-${k}`);

          // Every measurement starts from a settled Engine: the previous copy's process is gone.
          const settle = () => sleep(c.files > 1000 ? 2000 : 300);
          const rawDir = path.join(dir, 'raw');
          await fsp.mkdir(rawDir, { recursive: true });
          const run: Run = { names, settle, v, rawDir, content, timeoutMs: 120_000 };
          const toExec = (archive: NodeJS.ReadableStream) => execTar(docker, id, archive);
          const toPut = async (archive: NodeJS.ReadableStream) => void (await container.putArchive(archive, { path: '/', copyUIDGID: true }));
          const variants = [
            ferryVariant(run, src, ferry),
            perCallVariant(run, 'exec', exec, toExec),
            perCallVariant(run, 'put', put, toPut),
            perCallVariant(run, 'tilt', tilt, toExec, 200),
            perCallVariant(run, 'compose', compose, toPut, 500),
          ];
          // Each run starts with another variant: what the first copy into the container pays
          // (a growing directory, the host writing back earlier files) is shared by all of them.
          for (let k = 0; k < variants.length; k++) await variants[(r + k) % variants.length]!();
        }
        const f = quantile(ferry, 0.5);
        figures.push({
          case: c.name,
          files: c.files,
          bytesPerFile: c.bytes,
          runs,
          ferryMs: round(f),
          ferryP90Ms: round(quantile(ferry, 0.9)),
          execTarMs: round(quantile(exec, 0.5)),
          putArchiveMs: round(quantile(put, 0.5)),
          tiltLikeMs: round(quantile(tilt, 0.5)),
          composeWatchLikeMs: round(quantile(compose, 0.5)),
          ratioToPerCall: Math.round((f / Math.min(quantile(exec, 0.5), quantile(put, 0.5))) * 100) / 100,
        });
        process.stderr.write(`sync ${c.name}: ${JSON.stringify(figures.at(-1))}\n`);
      }

      const lastSyncLatency = (await client.get<LiveUpdate>('LiveUpdate', 'app'))?.status?.lastSyncLatency;
      await sleep(2000);
      const before = process.cpuUsage();
      await sleep(10_000);
      const idle = process.cpuUsage(before);
      result = {
        image,
        quietWindow: '10 ms base, adaptive (the default)',
        figures,
        idleCpuMs: Math.round((idle.user + idle.system) / 1000),
        lastSyncLatency,
      };
    } finally {
      stopWatch();
      client.close();
      await daemon.stop();
    }
    // The Kubernetes path after the Docker daemon has stopped (one daemon at a time), and before
    // the Docker path's files are deleted: on a filesystem without a journal, ext4 keeps deleted
    // inodes out of use for one to six minutes and scans past them on every file created, so a
    // mass deletion would slow down every copy measured after it (BENCHMARKS.md).
    if (opts.kubernetes !== false) result.kubernetes = await runKubernetesSync(docker, scale);
  } finally {
    await removeComposeProject(docker, project);
    await fsp.rm(dir, { recursive: true, force: true });
  }
  return result;
}

/** removeComposeProject removes the containers and networks of a Compose project the daemon left up. */
async function removeComposeProject(docker: Docker, name: string): Promise<void> {
  const label = `com.docker.compose.project=${name}`;
  for (const c of await docker.listContainers({ all: true, filters: { label: [label] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  for (const n of await docker.listNetworks({ filters: { label: [label] } })) await docker.getNetwork(n.Id).remove().catch(() => undefined);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const scale = Number(process.env.SYNC_BENCH_RUNS_SCALE ?? 1);
  const result =
    process.env.SYNC_BENCH_ONLY_KUBERNETES === '1'
      ? { kubernetes: await runKubernetesSync(new Docker(), scale) }
      : await runSyncBench({ runsScale: scale, kubernetes: process.env.SYNC_BENCH_KUBERNETES !== '0' });
  console.log(JSON.stringify(result, null, 2));
}
