import type { CmdImage, Cluster, ConfigMap, FileWatch, ImageMap, KubeObject, LiveUpdate } from '../../../src/apis/index.ts';
import { toMicroTime } from '../../../src/apis/index.ts';
import type { FerryClient } from '../../../src/client/index.ts';
import { FakeClock, type Controller, type Manager } from '../../../src/runtime/index.ts';
import { FakeImageClient } from '../../../src/adapters/images/index.ts';
import { FakeProcessRunner, type FakeScript, type ProcessRunner, type ProcessSpec } from '../../../src/adapters/process/index.ts';
import { setup, type CmdImageReconciler } from '../../../controllers/cmdimage/index.ts';
import type { LogBuffer } from '../../../src/util/log-buffer.ts';
import { ActivityRegistry } from '../../../src/runtime/activity.ts';
import { startTestApiServer, type TestApiServer } from '../../support/apiserver.ts';
import { ControllerHarness } from '../../support/controllers.ts';


/** imageId is a distinct image id per n, whose content tag is `tilt-<n as 2 hex digits, 8 times>`. */
export function imageId(n: number): string {
  return 'sha256:' + (n % 256).toString(16).padStart(2, '0').repeat(32);
}

/** contentTagOf is the content tag of imageId(n). */
export function contentTagOf(n: number): string {
  return 'tilt-' + (n % 256).toString(16).padStart(2, '0').repeat(8);
}

/** FixtureOptions change how the controller is set up. */
export interface FixtureOptions {
  /** runner replaces the fake process runner (e.g. real processes). */
  runner?: ProcessRunner;
  /** buildTimeoutMs is the controller's build timeout, on the fake clock. Default the controller's. */
  buildTimeoutMs?: number;
}

/**
 * Fixture runs the CmdImage controller (its real setup) on the controller test harness, on the
 * file's shared API server, with a fake clock, a fake process runner and a fake image store. By
 * default every build "tags" $EXPECTED_REF with a new image id (imageId(1), imageId(2), ...).
 */
export class Fixture {
  readonly clock = new FakeClock(new Date('2024-01-01T00:00:00Z'));
  readonly runner = new FakeProcessRunner();
  readonly images = new FakeImageClient();
  /** activity is told of the builds while they run. */
  readonly activity = new ActivityRegistry({ now: () => this.clock.now().getTime() });
  builds = 0;
  private h!: ControllerHarness<ReturnType<typeof setup>>;

  private constructor() {
    this.runner.fallback = { run: (spec) => this.tagExpected(spec) };
  }

  /** start runs the controller for test `t`, with the default Cluster unless `cluster` is false. */
  static async start(t: { after(fn: () => Promise<void>): void }, opts: FixtureOptions & { cluster?: boolean } = {}): Promise<Fixture> {
    const f = new Fixture();
    f.h = await ControllerHarness.start(t, {
      api: await sharedServer(),
      clock: f.clock,
      pollMs: 10,
      dirPrefix: 'ferry-cmdimage-test-',
      setup: (mgr) =>
        setup(mgr, {
          runner: opts.runner ?? f.runner,
          images: f.images,
          cwd: '/work',
          baseEnv: { PATH: '/bin' },
          buildTimeoutMs: opts.buildTimeoutMs,
          activity: f.activity,
        }),
    });
    if (opts.cluster !== false) await f.create<Cluster>({ kind: 'Cluster', metadata: { name: 'default' }, spec: {} });
    return f;
  }

  get client(): FerryClient {
    return this.h.client;
  }

  /** mgr runs the controller; a new one after startManager(). */
  get mgr(): Manager {
    return this.h.mgr;
  }

  get controller(): Controller {
    return this.h.wired.controller;
  }

  get reconciler(): CmdImageReconciler {
    return this.h.wired.reconciler;
  }

  get logs(): LogBuffer {
    return this.h.wired.logs;
  }

  /** stopManager stops the controller, as a daemon's stop would. */
  async stopManager(): Promise<void> {
    await this.h.stop();
  }

  /** startManager starts the controller again on a new manager, as a restarted daemon would. */
  async startManager(): Promise<void> {
    await this.h.restart();
  }

  /** tagExpected is what a build script does: it creates the image $EXPECTED_REF. */
  tagExpected(spec: ProcessSpec): void {
    this.builds++;
    this.images.add(spec.env!.EXPECTED_REF!, imageId(this.builds));
  }

  /** gatedBuild queues a build that tags $EXPECTED_REF once `release` is called. */
  gatedBuild(): { script: FakeScript; started: Promise<void>; release: () => void } {
    let release!: () => void;
    let markStarted!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started = new Promise<void>((r) => (markStarted = r));
    const script: FakeScript = {
      run: async (spec) => {
        markStarted();
        await gate;
        this.tagExpected(spec);
      },
    };
    this.runner.enqueue(script);
    return { script, started, release };
  }

  create<T extends KubeObject>(obj: T): Promise<T> {
    return this.h.create(obj);
  }

  cmdImage(name: string, spec: Partial<CmdImage['spec']> = {}, annotations?: Record<string, string>): Promise<CmdImage> {
    return this.create<CmdImage>({
      kind: 'CmdImage',
      metadata: { name, ...(annotations ? { annotations } : {}) },
      spec: { ref: name, args: ['sh', '-c', `build-${name}.sh`], ...spec },
    });
  }

  get(name: string): Promise<CmdImage | undefined> {
    return this.h.get<CmdImage>('CmdImage', name);
  }

  imageMap(name: string): Promise<ImageMap | undefined> {
    return this.h.get<ImageMap>('ImageMap', name);
  }

  /** waitStatus waits until the CmdImage's status satisfies pred. */
  waitStatus(name: string, pred: (s: NonNullable<CmdImage['status']>) => boolean, what = 'status'): Promise<CmdImage> {
    return this.h.waitStatus<CmdImage>('CmdImage', name, pred, what, 15_000);
  }

  /** waitBuilt waits for a successful completed build of `name` that started after `after` (MicroTime). */
  waitBuilt(name: string, after = ''): Promise<CmdImage> {
    return this.waitStatus(name, (s) => !!s.completed && !s.completed.error && !!s.ref && (s.completed.startedAt ?? '') > after, 'built');
  }

  waitImageMap(name: string, pred: (im: ImageMap) => boolean, what = 'ImageMap'): Promise<ImageMap> {
    return this.h.waitObject<ImageMap>('ImageMap', name, pred, what, 15_000);
  }

  /** quiesce waits until no reconcile is queued or running and no build runs. */
  async quiesce(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      await this.controller.idle();
      await this.reconciler.idle();
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.controller.idle();
  }

  /** steadyState reconciles every CmdImage again and returns a summary that must not change. */
  async snapshot(): Promise<string> {
    await this.quiesce();
    const objs = [
      ...(await this.client.list('CmdImage')).items,
      ...(await this.client.list('ImageMap')).items,
    ].map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.resourceVersion}`);
    return JSON.stringify({ builds: this.runner.calls.length, objs: objs.sort() });
  }

  /** assertSteady reconciles every CmdImage again and checks that nothing is written or built. */
  async assertSteady(assertEqual: (a: string, b: string, msg?: string) => void): Promise<void> {
    const before = await this.snapshot();
    for (const c of (await this.client.list<CmdImage>('CmdImage')).items) this.controller.enqueue(c.metadata.name!);
    const after = await this.snapshot();
    assertEqual(after, before, 'steady state: reconciling again changes nothing');
  }

  /** fileEvent records a change on the FileWatch `name` at the fake clock's time, creating it for image `imageMap`. */
  async fileEvent(name: string, imageMap: string): Promise<string> {
    if (!(await this.h.get<FileWatch>('FileWatch', name))) {
      await this.create<FileWatch>({
        kind: 'FileWatch',
        metadata: { name, annotations: { 'tilt.dev/target-id': `image:${imageMap}` } },
        spec: { watchedPaths: ['/work/src'] },
      });
    }
    const time = toMicroTime(this.clock.now());
    await this.h.setStatus<FileWatch>('FileWatch', name, { lastEventTime: time, fileEvents: [{ time, seenFiles: ['/work/src/a.txt'] }] });
    return time;
  }

  async liveUpdate(name: string, imageMap: string, failedAt?: string): Promise<void> {
    if (!(await this.h.get<LiveUpdate>('LiveUpdate', name))) {
      await this.create<LiveUpdate>({
        kind: 'LiveUpdate',
        metadata: { name },
        spec: {
          basePath: '/work',
          selector: { dockerCompose: { service: 'app' } },
          sources: [{ fileWatch: 'fw', imageMap }],
          syncs: [{ localPath: 'src', containerPath: '/app/src' }],
        },
      });
    }
    const status = failedAt ? { failed: { reason: 'UpdateStopped', message: 'stop path', lastTransitionTime: failedAt } } : {};
    await this.h.setStatus<LiveUpdate>('LiveUpdate', name, status);
  }

  async configMap(name: string, data: Record<string, string>): Promise<void> {
    const cm = await this.h.get<ConfigMap>('ConfigMap', name);
    if (cm) await this.h.update<ConfigMap>({ ...cm, data });
    else await this.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name }, data });
  }
}

let shared: Promise<TestApiServer> | undefined;

/** sharedServer is one API server for every test of a file (starting one takes seconds); see closeSharedServer. */
export function sharedServer(): Promise<TestApiServer> {
  shared ??= startTestApiServer();
  return shared;
}

/** closeSharedServer stops the shared API server; call it in the file's after(). */
export async function closeSharedServer(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await (await s).close();
}

/** newFixture starts a Fixture on the shared server, cleaned up after the test. */
export function newFixture(t: { after(fn: () => Promise<void>): void }, opts: FixtureOptions & { cluster?: boolean } = {}): Promise<Fixture> {
  return Fixture.start(t, opts);
}
