/**
 * LiveUpdate benchmark: save-to-visible latency into a running Docker container, measured from
 * inside the container (busybox `inotifyd` reports each file as its write completes).
 *
 * - raw floor, in the same run: one `docker exec -i tar -C / -x -f -` of the same archive, and
 *   one Engine archive-API copy (`putArchive`), each timed from the start of the call until
 *   every file has been reported in the container;
 * - ferry: the LiveUpdate controller under a Manager against the embedded API server, timed from
 *   the local file write until the file is reported in the container. The FileWatch batch is
 *   written by the benchmark at once (as the FileWatch controller would after its quiet
 *   period), so the figure is the DESIGN.md "latency minus the quiet period";
 * - for 1 file and for 100 files, and a 10,000-file change (a branch switch) as one FileEvent,
 *   timed from the FileEvent write until the last file is reported, with the number of
 *   container updates it took.
 *
 * Run alone: `node --import tsx bench/liveupdate.ts`; or call runLiveUpdateBench().
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';
import { startApiServer } from '../src/apiserver/server.ts';
import { toMicroTime, type DockerComposeService, type FileWatch, type LiveUpdate } from '../src/apis/index.ts';
import { FerryClient } from '../src/client/index.ts';
import { Manager, realClock } from '../src/runtime/index.ts';
import { silentLogger } from '../src/log.ts';
import { planArchive } from '../src/adapters/tar/archive.ts';
import { DockerContainerUpdater, type ContainerUpdate, type ContainerUpdater } from '../src/adapters/containers/index.ts';
import { setup } from '../controllers/liveupdate/index.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { Visibility } from './visibility.ts';

/** Budget of DESIGN.md. */
export const liveUpdateBudget = { latencyVsFloor: 1.5, tenThousandFilesMs: 3000 } as const;

export interface LatencyFigures {
  files: number;
  runs: number;
  /** medians in ms */
  execTarMs: number;
  putArchiveMs: number;
  ferryMs: number;
  /** ferryFromFileEventMs leaves out the local writes: from the FileEvent write to visible. */
  ferryFromFileEventMs: number;
  /** ferryMs / execTarMs (budget 1.5) */
  ratioToExecTar: number;
  ratioToPutArchive: number;
}

export interface LiveUpdateBenchResult {
  image: string;
  latency: LatencyFigures[];
  tenThousand: { files: number; ms: number; rawPutArchiveMs: number; containerUpdates: number; withinBudget: boolean };
}

const image = process.env.FERRY_TEST_BUSYBOX_IMAGE ?? 'ferry-test/busybox:latest';
const inContainerDir = '/app/bench';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round = (n: number) => Math.round(n * 10) / 10;

async function writeFiles(dir: string, names: string[], content: string): Promise<void> {
  await Promise.all(names.map((n) => fsp.writeFile(path.join(dir, n), content)));
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

/** runLiveUpdateBench measures ferry's live update latency against the raw floor in one run. */
export async function runLiveUpdateBench(opts: { runs1?: number; runs100?: number; bigFiles?: number } = {}): Promise<LiveUpdateBenchResult> {
  const runs1 = opts.runs1 ?? 15;
  const runs100 = opts.runs100 ?? 6;
  const bigFiles = opts.bigFiles ?? 10_000;
  const docker = new Docker();
  await docker.ping();
  const container = await docker.createContainer({ Image: image, Cmd: ['sh', '-c', `mkdir -p ${inContainerDir} && exec sleep 3600`], Labels: { 'ferry-bench': '1' } });
  await container.start();
  const id = container.id;
  const dir = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-bench-lu-')));
  const src = path.join(dir, 'src');
  await fsp.mkdir(src);
  const log = silentLogger();
  const api = await startApiServer({ storage: 'memory', log, dataDir: dir + '-api' });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(api.kubeconfig);
  const client = new FerryClient(kubeConfig);
  const mgr = new Manager({ kubeConfig, log });
  let containerUpdates = 0;
  const real = new DockerContainerUpdater({ docker, clock: realClock });
  const counting: ContainerUpdater = {
    update: (u: ContainerUpdate, signal?: AbortSignal) => {
      containerUpdates++;
      return real.update(u, signal);
    },
  };
  setup(mgr, { log, clock: realClock, updaters: { docker: counting } });
  await mgr.start();
  let stopWatch = () => {};
  try {
    const { v, stop } = await Visibility.start(docker, id, inContainerDir);
    stopWatch = stop;

    // ferry's objects: a FileWatch whose events the bench writes, the service, the LiveUpdate.
    await client.create<FileWatch>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'fw' }, spec: { watchedPaths: [src] } });
    await client.create<DockerComposeService>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'DockerComposeService', metadata: { name: 'svc' }, spec: { service: 'svc', project: { yaml: 'services: {svc: {image: bench}}' } } });
    const dcs = (await client.get<DockerComposeService>('DockerComposeService', 'svc'))!;
    await client.updateStatus<DockerComposeService>({ ...dcs, status: { containerID: id, containerName: 'bench', containerState: { status: 'running', running: true } } });
    await client.create<LiveUpdate>({
      apiVersion: 'tilt.dev/v1alpha1',
      kind: 'LiveUpdate',
      metadata: { name: 'lu' },
      spec: { basePath: dir, selector: { dockerCompose: { service: 'svc' } }, sources: [{ fileWatch: 'fw' }], syncs: [{ localPath: 'src', containerPath: inContainerDir }] },
    });
    for (let i = 0; i < 200; i++) {
      if ((await client.get<LiveUpdate>('LiveUpdate', 'lu'))?.status?.containers?.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const fileEvent = async (names: string[]) => {
      const fw = (await client.get<FileWatch>('FileWatch', 'fw'))!;
      const time = toMicroTime(new Date());
      const fileEvents = [...(fw.status?.fileEvents ?? []), { time, seenFiles: names.map((n) => path.join(src, n)) }].slice(-20);
      await client.updateStatus<FileWatch>({ ...fw, status: { ...fw.status, fileEvents, lastEventTime: time } });
    };

    const latency: LatencyFigures[] = [];
    for (const [files, runs] of [[1, runs1], [100, runs100]] as const) {
      const execMs: number[] = [];
      const putMs: number[] = [];
      const ferryMs: number[] = [];
      const fromEventMs: number[] = [];
      const content = 'x'.repeat(1024);
      for (let r = 0; r < runs; r++) {
        const names = (kind: string) => Array.from({ length: files }, (_, k) => `${kind}-${files}-${r}-${k}`);

        const rawNames = names('exec');
        await writeFiles(src, rawNames, content);
        let plan = await planArchive(rawNames.map((n) => ({ localPath: path.join(src, n), containerPath: `${inContainerDir}/${n}` })));
        let t0 = performance.now();
        await execTar(docker, id, plan.stream() as unknown as NodeJS.ReadableStream);
        execMs.push((await v.allSeen(rawNames)) - t0);

        const putNames = names('put');
        await writeFiles(src, putNames, content);
        plan = await planArchive(putNames.map((n) => ({ localPath: path.join(src, n), containerPath: `${inContainerDir}/${n}` })));
        t0 = performance.now();
        await container.putArchive(plan.stream() as unknown as NodeJS.ReadableStream, { path: '/', copyUIDGID: true });
        putMs.push((await v.allSeen(putNames)) - t0);

        const ferryNames = names('ferry');
        t0 = performance.now();
        await writeFiles(src, ferryNames, content);
        const tEvent = performance.now();
        await fileEvent(ferryNames);
        const seen = await v.allSeen(ferryNames);
        ferryMs.push(seen - t0);
        fromEventMs.push(seen - tEvent);
      }
      const e = median(execMs);
      const p = median(putMs);
      const f = median(ferryMs);
      latency.push({ files, runs, execTarMs: round(e), putArchiveMs: round(p), ferryMs: round(f), ferryFromFileEventMs: round(median(fromEventMs)), ratioToExecTar: Math.round((f / e) * 100) / 100, ratioToPutArchive: Math.round((f / p) * 100) / 100 });
    }

    // A branch switch: 10,000 files in one FileEvent, after the same number by one raw putArchive.
    const rawBig = Array.from({ length: bigFiles }, (_, k) => `raw-big-${k}`);
    for (let k = 0; k < rawBig.length; k += 500) await writeFiles(src, rawBig.slice(k, k + 500), 'y'.repeat(512));
    const rawPlan = await planArchive(rawBig.map((n) => ({ localPath: path.join(src, n), containerPath: `${inContainerDir}/${n}` })));
    const r0 = performance.now();
    await container.putArchive(rawPlan.stream() as unknown as NodeJS.ReadableStream, { path: '/', copyUIDGID: true });
    const rawMs = (await v.allSeen(rawBig, 120_000)) - r0;

    const bigNames = Array.from({ length: bigFiles }, (_, k) => `big-${k}`);
    for (let k = 0; k < bigNames.length; k += 500) await writeFiles(src, bigNames.slice(k, k + 500), 'y'.repeat(512));
    const before = containerUpdates;
    const t0 = performance.now();
    await fileEvent(bigNames);
    const ms = (await v.allSeen(bigNames, 120_000)) - t0;
    // Let a second update show up if there would be one.
    await new Promise((r) => setTimeout(r, 500));
    return {
      image,
      latency,
      tenThousand: { files: bigFiles, ms: Math.round(ms), rawPutArchiveMs: Math.round(rawMs), containerUpdates: containerUpdates - before, withinBudget: ms <= liveUpdateBudget.tenThousandFilesMs },
    };
  } finally {
    stopWatch();
    await mgr.stop();
    client.close();
    await api.close();
    await container.remove({ force: true });
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.rm(dir + '-api', { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await runLiveUpdateBench();
  console.log(JSON.stringify(result, null, 2));
}
