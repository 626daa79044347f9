/**
 * The Kubernetes dev loop, on the test cluster fixture (Deployments run as ReplicaSets of real
 * Docker containers; its local-registry-hosting ConfigMap names the test registry 127.0.0.1:5000): the example of deploy/examples/kubernetes
 * applied to a daemon started in this process (embedded API server, in-memory storage, every
 * controller, FileWatch quiet period 100 ms). Each round saves the LiveUpdate's stop path (the
 * Dockerfile), then, as soon as the new pod runs, saves a file of the sync, and ends when that
 * content is read from inside the new pod's container. Phases, from the objects' statuses and
 * the build log:
 * - watch: stop-path save to the CmdImage build start (file watch, quiet period, trigger);
 * - build: the build command and tagging, to the "Pushing" line of the build log;
 * - push: from that line to the build's finish (docker push to the registry);
 * - apply: from the build's finish to the KubernetesApply's lastApplyTime (ImageMap, apply);
 * - pod running: from the apply to the new pod seen running by its KubernetesDiscovery;
 * - first sync: from the next save to its content read in the new pod (quiet period included).
 * Runnable alone: `node --import tsx bench/kubernetes-loop.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import type { CmdImage, ImageMap, KubernetesApply, KubernetesDiscovery, LiveUpdate } from '../src/apis/index.ts';
import { microTimeValue } from '../src/apis/index.ts';
import { applyOne } from '../src/cli/apply.ts';
import { readManifests } from '../src/cli/manifests.ts';
import { FerryClient } from '../src/client/client.ts';
import { startDaemon } from '../src/daemon.ts';
import { silentLogger } from '../src/log.ts';
import { LogBuffer } from '../src/util/log-buffer.ts';
import { KubeCluster } from '../test/fixtures/kube-cluster/index.ts';
import { readFileIn, testImages } from '../test/support/docker.ts';

/** Phases are the milliseconds of one round, per phase and in total. */
export interface Phases {
  watch: number;
  build: number;
  push: number;
  apply: number;
  podRunning: number;
  firstSync: number;
  total: number;
}

export interface KubernetesLoopBench {
  runs: number;
  /** median of each phase over the rounds. */
  median: Phases;
  /** min and max of each phase over the rounds. */
  min: Phases;
  max: Phases;
  rounds: Phases[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (t: string | undefined) => microTimeValue(t) / 1000;

async function poll<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** runKubernetesLoopBench measures `runs` rounds (default 3) after the first deploy. */
export async function runKubernetesLoopBench(opts: { runs?: number } = {}): Promise<KubernetesLoopBench> {
  const runs = opts.runs ?? 3;
  const docker = new Docker();
  process.env.EXAMPLE_BASE_IMAGE = testImages.busybox;
  const cluster = await KubeCluster.start({ docker, localRegistryHosting: { host: '127.0.0.1:5000' } });
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-k8s-')));
  fs.cpSync(path.resolve(import.meta.dirname, '../deploy/examples/kubernetes'), dir, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-k8s-data-'));
  const prev = process.cwd();
  process.chdir(dir);
  const logs = new LogBuffer();
  const images = new Set<string>();
  const daemon = await startDaemon({
    dataDir,
    storage: 'memory',
    log: silentLogger(),
    cwd: dir,
    filewatchQuietMs: 100,
    logs,
    clusterKubeconfig: await cluster.writeKubeconfig(undefined, { context: 'fixture' }),
  });
  const client = new FerryClient(daemon.kubeConfig);
  const manifests = readManifests([path.join(dir, 'ferry.yaml')]);
  const pod = (not?: string) =>
    poll(async () => {
      const kd = await client.get<KubernetesDiscovery>('KubernetesDiscovery', 'k8s-web');
      const pods = (kd?.status?.pods ?? []).filter((p) => !p.deleting && p.name !== not && p.containers?.some((c) => c.name === 'web' && c.state?.running && c.id));
      return pods.length === 1 ? pods[0]! : undefined;
    }, 'a running pod of the Deployment');
  const visible = (podName: string, text: string) =>
    poll(async () => {
      const id = cluster.containerId('default', podName, 'web');
      return id && (await readFileIn(docker, id, '/app/src/index.html')) === text ? true : undefined;
    }, `"${text}" in pod ${podName}`, 30_000);
  try {
    for (const m of manifests) await applyOne(client, m);
    let current = await pod();
    await poll(async () => ((await client.get<LiveUpdate>('LiveUpdate', 'k8s-web'))?.status?.containers?.length ? true : undefined), 'the LiveUpdate');
    const rounds: Phases[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = Date.now();
      fs.appendFileSync(path.join(dir, 'app/Dockerfile'), `\nLABEL bench.round="${process.pid}-${i}"\n`);
      const next = await pod(current.name);
      const running = Date.now();
      const text = `<h1>round ${i}</h1>\n`;
      const saved = Date.now();
      fs.writeFileSync(path.join(dir, 'app/src/index.html'), text);
      await visible(next.name, text);
      const seen = Date.now();

      const c = (await client.get<CmdImage>('CmdImage', 'ferry-example-k8s'))!;
      const ka = (await client.get<KubernetesApply>('KubernetesApply', 'k8s-web'))!;
      const im = (await client.get<ImageMap>('ImageMap', 'ferry-example-k8s'))!;
      for (const ref of [im.status?.imageFromLocal, im.status?.imageFromCluster]) if (ref) images.add(ref);
      const started = ms(c.status?.completed?.startedAt);
      const finished = ms(c.status?.completed?.finishedAt);
      if (!(started >= t0 - 5)) throw new Error('the CmdImage did not build again');
      const pushing = logs.lines({ sinceMs: started }).find((l) => l.line.startsWith('Pushing '));
      if (!pushing) throw new Error(`no push in the build log:\n${logs.lines({ sinceMs: started - 1000 }).map((l) => `${l.time} ${l.line}`).join('\n')}`);
      const pushAt = Date.parse(pushing.time);
      const applied = ms(ka.status?.lastApplyTime);
      rounds.push({
        watch: started - t0,
        build: pushAt - started,
        push: finished - pushAt,
        apply: applied - finished,
        podRunning: running - applied,
        firstSync: seen - saved,
        total: seen - t0,
      });
      current = next;
      process.stderr.write(`kubernetes-loop round ${i}: ${JSON.stringify(rounds.at(-1))}\n`);
    }
    const keys = Object.keys(rounds[0]!) as (keyof Phases)[];
    const agg = (f: (xs: number[]) => number) => Object.fromEntries(keys.map((k) => [k, Math.round(f(rounds.map((r) => r[k])))])) as unknown as Phases;
    return { runs, median: agg(median), min: agg((xs) => Math.min(...xs)), max: agg((xs) => Math.max(...xs)), rounds: rounds.map((r) => Object.fromEntries(keys.map((k) => [k, Math.round(r[k])])) as unknown as Phases) };
  } finally {
    for (const m of [...manifests].reverse()) await client.delete(m.object.kind!, m.object.metadata.name!).catch(() => undefined);
    client.close();
    await daemon.stop();
    await cluster.stop();
    process.chdir(prev);
    delete process.env.EXAMPLE_BASE_IMAGE;
    // The build command's own tags (EXPECTED_REF, one per build) and the content tags of this run.
    for (const l of logs.lines()) {
      const m = /^\s*EXPECTED_REF=(\S+)$/.exec(l.line);
      if (m) for (const ref of [m[1]!, `127.0.0.1:5000/${m[1]!}`]) images.add(ref);
    }
    for (const ref of images) await docker.getImage(ref).remove().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  console.log(JSON.stringify(await runKubernetesLoopBench(), null, 2));
  process.exit(0);
}
