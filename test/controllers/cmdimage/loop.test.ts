// The dev loop end to end, on the real Docker Engine with docker-compose: a change LiveUpdate
// syncs; a stop-path change fails the LiveUpdate, the CmdImage rebuilds, the Compose service is
// recreated on the new image, the LiveUpdate's failure clears and later changes sync again.
// FileWatch status is written by the test, as the FileWatch controller would.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  toMicroTime,
  type CmdImage,
  type Cluster,
  type DockerComposeService,
  type FileWatch,
  type ImageMap,
  type LiveUpdate,
} from '../../../src/apis/index.ts';
import { realClock } from '../../../src/runtime/index.ts';
import { ComposeCli } from '../../../src/adapters/compose/index.ts';
import { DockerodeClient } from '../../../src/adapters/docker/index.ts';
import { DockerContainerUpdater } from '../../../src/adapters/containers/index.ts';
import { DockerodeImageClient } from '../../../src/adapters/images/index.ts';
import * as cmdimage from '../../../controllers/cmdimage/index.ts';
import * as dockercomposeservice from '../../../controllers/dockercomposeservice/index.ts';
import * as liveupdate from '../../../controllers/liveupdate/index.ts';
import { readFileIn, requireDocker, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { closeSharedServer, sharedServer } from './fixture.ts';

const run = promisify(execFile);
after(closeSharedServer);

test('loop: a stop-path change rebuilds the image, recreates the service, and live updates resume', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const id = randomBytes(3).toString('hex');
  const ref = `ferry-loop-${id}-app`;
  const project = `ferryloop${id}`;
  const h = await ControllerHarness.start(t, {
    api: await sharedServer(),
    dirPrefix: 'ferry-loop-',
    setup: (mgr, { dir, log }) => ({
      builds: cmdimage.setup(mgr, { log, images: new DockerodeImageClient(docker), cwd: dir }),
      compose: dockercomposeservice.setup(mgr, { log, compose: new ComposeCli({ form: 'standalone' }), docker: new DockerodeClient(), workDir: path.join(dir, '.compose') }),
      liveUpdates: liveupdate.setup(mgr, { log, clock: realClock, updaters: { docker: new DockerContainerUpdater({ docker, clock: realClock, stepTimeoutMs: 20_000 }) }, execTimeoutMs: 20_000 }),
    }),
    cleanup: async () => {
      const { stdout } = await run('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]).catch(() => ({ stdout: '' }));
      const ids = stdout.split('\n').filter(Boolean);
      if (ids.length) await run('docker', ['rm', '-f', ...ids]).catch(() => {});
      await run('docker', ['network', 'rm', `${project}_default`]).catch(() => {});
      const { stdout: imgs } = await run('docker', ['images', '-q', ref]).catch(() => ({ stdout: '' }));
      const imageIds = [...new Set(imgs.split('\n').filter(Boolean))];
      if (imageIds.length) await run('docker', ['rmi', '-f', ...imageIds]).catch(() => {});
    },
  });
  const { dir } = h;
  const { builds } = h.wired;

  const write = async (files: Record<string, string>) => {
    for (const [name, data] of Object.entries(files)) {
      await fsp.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await fsp.writeFile(path.join(dir, name), data);
    }
  };
  const event = async (files: string[]) => {
    const fw = await h.mustGet<FileWatch>('FileWatch', 'app-fw');
    const time = toMicroTime(new Date());
    const fileEvents = [...(fw.status?.fileEvents ?? []), { time, seenFiles: files.map((f) => path.join(dir, f)) }].slice(-20);
    await h.setStatus<FileWatch>('FileWatch', 'app-fw', { ...fw.status, fileEvents, lastEventTime: time });
  };
  const get = <T extends CmdImage | DockerComposeService | LiveUpdate | ImageMap>(kind: string, name: string) => h.get<T>(kind, name);
  const running = (name: string, pred: (d: DockerComposeService) => boolean, what: string) =>
    h.waitObject<DockerComposeService>('DockerComposeService', name, (d) => !!d.status?.containerID && !!d.status.containerState?.running && pred(d), what, 60_000);

  await write({
    Dockerfile: `FROM ${testImages.busybox}\nCOPY src /app/src\nCMD ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n`,
    'src/a.txt': 'one',
  });
  await h.create<Cluster>({ kind: 'Cluster', metadata: { name: 'docker' }, spec: { connection: { docker: {} } } });
  await h.create<FileWatch>({
    kind: 'FileWatch',
    metadata: { name: 'app-fw', annotations: { 'tilt.dev/target-id': 'image:app' } },
    spec: { watchedPaths: [dir] },
  });
  await h.create<CmdImage>({
    kind: 'CmdImage',
    metadata: { name: 'app', annotations: { 'tilt.dev/resource': 'app' } },
    spec: { ref, cluster: 'docker', args: ['sh', '-c', `DOCKER_BUILDKIT=0 docker build -q -t "$EXPECTED_REF" .`] },
  });
  await h.create<DockerComposeService>({
    kind: 'DockerComposeService',
    metadata: { name: 'app-svc', annotations: { 'tilt.dev/resource': 'app' } },
    spec: { service: 'app', project: { name: project, yaml: `services:\n  app:\n    image: ${ref}\n` }, imageMaps: ['app'] },
  });
  await h.create<LiveUpdate>({
    kind: 'LiveUpdate',
    metadata: { name: 'app-lu', annotations: { 'tilt.dev/resource': 'app' } },
    spec: {
      basePath: dir,
      selector: { dockerCompose: { service: 'app-svc' } },
      sources: [{ fileWatch: 'app-fw', imageMap: 'app' }],
      syncs: [{ localPath: 'src', containerPath: '/app/src' }],
      stopPaths: ['src/stop.txt'],
    },
  });

  // The first build, and the service running on it.
  const first = await h.waitStatus<CmdImage>('CmdImage', 'app', (s) => !!s.completed, 'the first build', 60_000);
  assert.equal(first.status!.completed!.error, undefined, first.status!.completed!.error);
  const firstImage = (await get<ImageMap>('ImageMap', 'app'))!.status!.imageFromLocal!;
  const svc1 = await running('app-svc', () => true, 'the service to run');
  const c1 = svc1.status!.containerID!;
  assert.equal((await docker.getContainer(c1).inspect()).Config.Image, firstImage);
  await waitFor(async () => ((await get<LiveUpdate>('LiveUpdate', 'app-lu'))?.status?.containers?.length ?? 0) > 0, { timeoutMs: 30_000, message: 'the LiveUpdate to see the container' });

  // A plain change is live-updated: no rebuild.
  await write({ 'src/a.txt': 'two' });
  await event(['src/a.txt']);
  await waitFor(() => readFileIn(docker, c1, '/app/src/a.txt').then((s) => s === 'two'), { timeoutMs: 30_000, message: 'the sync' });

  // A stop path fails the LiveUpdate, which rebuilds the image and recreates the container.
  await write({ 'src/stop.txt': 'stop' });
  await event(['src/stop.txt']);
  const rebuilt = await h.waitStatus<CmdImage>('CmdImage', 'app', (s) => !!s.completed && s.completed.startedAt! > first.status!.completed!.startedAt!, 'the rebuild', 60_000);
  assert.equal(rebuilt.status!.completed!.reason, 'LiveUpdateStopped');
  assert.equal(rebuilt.status!.completed!.error, undefined, rebuilt.status!.completed!.error);
  const secondImage = (await get<ImageMap>('ImageMap', 'app'))!.status!.imageFromLocal!;
  assert.notEqual(secondImage, firstImage);

  const svc2 = await running('app-svc', (d) => d.status!.containerID !== c1, 'the recreated container');
  const c2 = svc2.status!.containerID!;
  assert.equal((await docker.getContainer(c2).inspect()).Config.Image, secondImage);
  assert.equal(await readFileIn(docker, c2, '/app/src/stop.txt'), 'stop', 'the new image holds the change');
  await waitFor(async () => !(await get<LiveUpdate>('LiveUpdate', 'app-lu'))?.status?.failed, { timeoutMs: 30_000, message: 'the failure to clear' });

  // Later changes sync into the new container, without another build.
  await write({ 'src/a.txt': 'three' });
  await event(['src/a.txt']);
  await waitFor(() => readFileIn(docker, c2, '/app/src/a.txt').then((s) => s === 'three'), { timeoutMs: 30_000, message: 'the sync after the rebuild' });
  await builds.reconciler.idle();
  const last = (await get<CmdImage>('CmdImage', 'app'))!;
  assert.equal(last.status!.completed!.startedAt, rebuilt.status!.completed!.startedAt, 'no further build');
});
