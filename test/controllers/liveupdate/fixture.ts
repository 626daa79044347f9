import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import type Docker from 'dockerode';
import tarStream from 'tar-stream';
import winston, { type Logger } from 'winston';
import type { FerryClient } from '../../../src/client/index.ts';
import { FakeClock, realClock, type Manager } from '../../../src/runtime/index.ts';
import {
  toMicroTime,
  type ConfigMap,
  type DockerComposeService,
  type FileWatch,
  type IgnoreDef,
  type ImageMap,
  type KubeObject,
  type KubernetesDiscovery,
  type LiveUpdate,
  type LiveUpdateSpec,
} from '../../../src/apis/index.ts';
import { FakeContainerUpdater } from '../../../src/adapters/containers/index.ts';
import { LiveUpdateReconciler } from '../../../controllers/liveupdate/reconciler.ts';
import { setup as setupLiveUpdate } from '../../../controllers/liveupdate/index.ts';
import type { FileBatches } from '../../../src/tilt/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { DockerContainerUpdater } from '../../../src/adapters/containers/index.ts';
import { requireDocker, runContainer, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';

/** LogLine is one captured log entry. */
export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

/** Fixture is a LiveUpdate reconciler against the real embedded API server, with fake containers. */
export interface Fixture {
  client: FerryClient;
  /** mgr is the manager the controller runs under (its metrics registry). */
  mgr: Manager;
  clock: FakeClock;
  updater: FakeContainerUpdater;
  reconciler: LiveUpdateReconciler;
  /** dir is a fresh directory: the LiveUpdates' basePath. */
  dir: string;
  logs: LogLine[];
  reconcile(name?: string): Promise<void>;
  get(name?: string): Promise<LiveUpdate>;
  create<T extends KubeObject>(obj: T): Promise<T>;
  setStatus<T extends KubeObject>(kind: string, name: string, status: T['status']): Promise<void>;
  /** liveUpdate creates LiveUpdate `lu` (Docker Compose service `svc`, FileWatch `fw`) with spec overrides. */
  liveUpdate(spec?: Partial<LiveUpdateSpec>, meta?: Partial<LiveUpdate['metadata']>): Promise<LiveUpdate>;
  /** dockerCompose creates DockerComposeService `svc` running container `id`. */
  dockerCompose(id?: string, state?: string): Promise<void>;
  fileWatch(name?: string, ignores?: IgnoreDef[]): Promise<void>;
  /** write writes files under dir (relative names). */
  write(files: Record<string, string>): Promise<void>;
  /** event advances the clock by 1 s and appends a FileEvent of these files (relative to dir) to FileWatch `fw`. */
  event(files: string[], fw?: string): Promise<string>;
  imageMapBuilt(name: string, buildStart: Date): Promise<void>;
  /** steadyState reconciles again and asserts nothing changed: no write, no update. */
  steadyState(name?: string): Promise<void>;
}

export async function newFixture(t: TestContext, opts: { batches?: FileBatches } = {}): Promise<Fixture> {
  const clock = new FakeClock(new Date('2024-01-01T00:00:00Z'));
  const updater = new FakeContainerUpdater();
  const logs: LogLine[] = [];
  const log = winston.createLogger({
    level: 'debug',
    format: winston.format.json(),
    transports: [
      new winston.transports.Stream({
        stream: new Writable({
          write(chunk, _enc, cb) {
            for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line) as LogLine);
            cb();
          },
        }),
      }),
    ],
  });
  const h = await ControllerHarness.start(t, {
    clock,
    log,
    dirPrefix: 'ferry-lu-',
    setup: (mgr, env) => setupLiveUpdate(mgr, { log, clock, updaters: { docker: updater, kubernetes: () => updater }, cwd: env.dir, batches: opts.batches }),
  });
  const { client, dir } = h;

  const f: Fixture = {
    client,
    mgr: h.mgr,
    clock,
    updater,
    reconciler: h.wired.reconciler,
    dir,
    logs,
    reconcile: (name = 'lu') => h.reconcile('liveupdate', name),
    get: (name = 'lu') => h.mustGet<LiveUpdate>('LiveUpdate', name),
    create: (obj) => h.create(obj),
    async setStatus(kind, name, status) {
      await h.setStatus(kind, name, status);
    },
    async liveUpdate(spec = {}, meta = {}) {
      return h.create<LiveUpdate>({
        apiVersion: 'tilt.dev/v1alpha1',
        kind: 'LiveUpdate',
        metadata: { name: 'lu', ...meta },
        spec: {
          basePath: dir,
          selector: { dockerCompose: { service: 'svc' } },
          sources: [{ fileWatch: 'fw' }],
          syncs: [{ localPath: 'src', containerPath: '/app' }],
          ...spec,
        },
      });
    },
    async dockerCompose(id = 'c1', state = 'running') {
      const existing = await client.get<DockerComposeService>('DockerComposeService', 'svc');
      if (!existing) {
        await h.create<DockerComposeService>({
          apiVersion: 'tilt.dev/v1alpha1',
          kind: 'DockerComposeService',
          metadata: { name: 'svc' },
          spec: { service: 'svc', project: { yaml: 'services: {svc: {image: busybox}}' } },
        });
      }
      await f.setStatus<DockerComposeService>('DockerComposeService', 'svc', {
        containerID: id,
        containerName: `svc-${id}`,
        containerState: { status: state, running: state === 'running' },
      });
    },
    async fileWatch(name = 'fw', ignores) {
      await h.create<FileWatch>({
        apiVersion: 'tilt.dev/v1alpha1',
        kind: 'FileWatch',
        metadata: { name },
        spec: { watchedPaths: [dir], ...(ignores ? { ignores } : {}) },
      });
    },
    async write(files) {
      for (const [name, data] of Object.entries(files)) {
        const p = path.join(dir, name);
        await fsp.mkdir(path.dirname(p), { recursive: true });
        await fsp.writeFile(p, data);
      }
    },
    async event(files, fw = 'fw') {
      await clock.advance(1000);
      const time = toMicroTime(clock.now());
      const obj = await client.get<FileWatch>('FileWatch', fw);
      if (!obj) throw new Error(`no FileWatch ${fw}`);
      const events = [...(obj.status?.fileEvents ?? []), { time, seenFiles: files.map((x) => path.join(dir, x)) }].slice(-20);
      await h.setStatus<FileWatch>('FileWatch', fw, { ...obj.status, fileEvents: events, lastEventTime: time });
      return time;
    },
    async imageMapBuilt(name, buildStart) {
      const existing = await client.get<ImageMap>('ImageMap', name);
      if (!existing) {
        await h.create<ImageMap>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name }, spec: { selector: name } });
      }
      await f.setStatus<ImageMap>('ImageMap', name, {
        image: `${name}:1`,
        imageFromLocal: `${name}:1`,
        imageFromCluster: `${name}:1`,
        buildStartTime: toMicroTime(buildStart),
      });
    },
    steadyState: (name = 'lu') =>
      h.steadyState('liveupdate', 'LiveUpdate', name, { snapshot: () => updater.calls.length, what: 'the container was updated again' }),
  };
  return f;
}

/** tarEntries lists an archive's entries as `name` (directories end in /) with file contents. */
export async function tarEntries(bytes: Buffer): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (bytes.length === 0) return out;
  const extract = tarStream.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header;
      out[h.type === 'directory' ? `${h.name}/` : h.name] = h.type === 'symlink' ? `-> ${h.linkname}` : Buffer.concat(chunks).toString();
    }
  })();
  Readable.from([bytes]).pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

export type { ConfigMap, KubernetesDiscovery };

/** writeFiles writes files (relative name → content) under dir, making their folders. */
export async function writeFiles(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, data] of Object.entries(files)) {
    await fsp.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fsp.writeFile(path.join(dir, name), data);
  }
}

/**
 * recordFileEvent appends a batch to FileWatch `fwName`'s status as the FileWatch controller
 * would (absolute paths, the last 20 batches kept) and returns the batch's time.
 */
export async function recordFileEvent(client: FerryClient, fwName: string, dir: string, files: string[]): Promise<string> {
  const fw = (await client.get<FileWatch>('FileWatch', fwName))!;
  const time = toMicroTime(new Date());
  const fileEvents = [...(fw.status?.fileEvents ?? []), { time, seenFiles: files.map((f) => path.join(dir, f)) }].slice(-20);
  await client.updateStatus<FileWatch>({ ...fw, status: { ...fw.status, fileEvents, lastEventTime: time } });
  return time;
}

/** waitLiveUpdate waits until LiveUpdate `name`'s status satisfies pred, and returns it. */
export function waitLiveUpdate(
  client: FerryClient,
  name: string,
  pred: (s: NonNullable<LiveUpdate['status']>) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<NonNullable<LiveUpdate['status']>> {
  return waitFor(async () => {
    const s = (await client.get<LiveUpdate>('LiveUpdate', name))?.status;
    return s && pred(s) ? s : undefined;
  }, { timeoutMs, message: what });
}

/**
 * startControllers runs the controllers `setup` registers on the controller test harness and
 * gives its client and scratch directory; `cleanup` runs after the test.
 */
export async function startControllers(
  t: TestContext,
  dirPrefix: string,
  setup: (mgr: Manager, log: Logger) => void,
  cleanup?: () => Promise<void>,
): Promise<{ client: FerryClient; dir: string }> {
  const h = await ControllerHarness.start(t, { dirPrefix, setup: (mgr, env) => setup(mgr, env.log), cleanup });
  return { client: h.client, dir: h.dir };
}

type LiveUpdateStatus = NonNullable<LiveUpdate['status']>;

/** DockerE2E is a LiveUpdate on Docker under the real controller, as startDockerLiveUpdate makes it. */
export interface DockerE2E {
  docker: Docker;
  client: FerryClient;
  dir: string;
  /** id is the container the LiveUpdate starts with. */
  id: string;
  write(files: Record<string, string>): Promise<void>;
  /** event appends a FileEvent of these files (relative to dir) and returns its time. */
  event(files: string[]): Promise<string>;
  /** container points DockerComposeService `svc` at a container, with its current state. */
  container(id: string): Promise<void>;
  status(): Promise<LiveUpdate['status']>;
  waitStatus(pred: (s: LiveUpdateStatus) => boolean, what: string, timeoutMs?: number): Promise<LiveUpdateStatus>;
  imageBuilt(at: Date): Promise<void>;
}

/**
 * startDockerLiveUpdate runs the LiveUpdate controller on the real Docker Engine, with FileWatch
 * `fw` (with `ignores`), ImageMap `img` (built a minute ago, so every change the test makes is
 * newer than the build), DockerComposeService `svc` and LiveUpdate `lu` syncing src to
 * /app/src, with a first container from `first` (default: a busybox one). Undefined when the
 * test was skipped for want of Docker.
 */
export async function startDockerLiveUpdate(
  t: TestContext,
  opts: { dirPrefix: string; spec?: Partial<LiveUpdateSpec>; ignores?: IgnoreDef[]; first?: (docker: Docker) => Promise<string> },
): Promise<DockerE2E | undefined> {
  const docker = await requireDocker(t);
  if (!docker) return undefined;
  const { client, dir } = await startControllers(t, opts.dirPrefix, (mgr, log) => setupLiveUpdate(mgr, { log, clock: realClock, updaters: { docker: new DockerContainerUpdater({ docker, clock: realClock, stepTimeoutMs: 20_000 }) }, execTimeoutMs: 20_000 }));
  const id = opts.first ? await opts.first(docker) : (await runContainer(docker, { image: testImages.busybox })).id;

  const e: DockerE2E = {
    docker,
    client,
    dir,
    id,
    write: (files) => writeFiles(dir, files),
    event: (files) => recordFileEvent(client, 'fw', dir, files),
    async container(cid) {
      const info = await docker.getContainer(cid).inspect();
      const dcs = (await client.get<DockerComposeService>('DockerComposeService', 'svc'))!;
      await client.updateStatus<DockerComposeService>({
        ...dcs,
        status: { containerID: cid, containerName: info.Name.replace(/^\//, ''), containerState: { status: info.State.Status, running: info.State.Running } },
      });
    },
    status: async () => (await client.get<LiveUpdate>('LiveUpdate', 'lu'))?.status,
    waitStatus: (pred, what, timeoutMs) => waitLiveUpdate(client, 'lu', pred, what, timeoutMs),
    async imageBuilt(at) {
      const im = (await client.get<ImageMap>('ImageMap', 'img'))!;
      await client.updateStatus<ImageMap>({ ...im, status: { image: 'app:2', imageFromLocal: 'app:2', imageFromCluster: 'app:2', buildStartTime: toMicroTime(at) } });
    },
  };

  await client.create<FileWatch>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'fw' }, spec: { watchedPaths: [dir], ...(opts.ignores ? { ignores: opts.ignores } : {}) } });
  await client.create<ImageMap>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name: 'img' }, spec: { selector: 'app' } });
  await e.imageBuilt(new Date(Date.now() - 60_000));
  await client.create<DockerComposeService>({
    apiVersion: 'tilt.dev/v1alpha1',
    kind: 'DockerComposeService',
    metadata: { name: 'svc' },
    spec: { service: 'svc', project: { yaml: 'services: {svc: {image: app}}' } },
  });
  await e.container(id);
  await client.create<LiveUpdate>({
    apiVersion: 'tilt.dev/v1alpha1',
    kind: 'LiveUpdate',
    metadata: { name: 'lu' },
    spec: {
      basePath: dir,
      selector: { dockerCompose: { service: 'svc' } },
      sources: [{ fileWatch: 'fw', imageMap: 'img' }],
      syncs: [{ localPath: 'src', containerPath: '/app/src' }],
      ...opts.spec,
    },
  });
  await e.waitStatus((s) => (s.containers?.length ?? 0) > 0 || !!s.failed, 'the LiveUpdate to see its container');
  return e;
}
