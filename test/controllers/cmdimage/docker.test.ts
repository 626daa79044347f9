// End to end against the real Docker Engine and the local registry: real build commands run
// `docker build` FROM the local busybox image.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { CmdImage, Cluster, ImageMap, KubeObject } from '../../../src/apis/index.ts';
import type { FerryClient } from '../../../src/client/index.ts';
import type { Manager } from '../../../src/runtime/index.ts';
import { setup, type CmdImageReconciler } from '../../../controllers/cmdimage/index.ts';
import { triggerResource } from '../../../src/cli/trigger.ts';
import { DockerodeImageClient } from '../../../src/adapters/images/index.ts';
import type { LogBuffer } from '../../../src/util/log-buffer.ts';
import { requireDocker, testImages, testRegistry } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { sharedServer, closeSharedServer } from './fixture.ts';

const run = randomBytes(3).toString('hex');
const refs: string[] = [];

/** dockerBuild is a build script: a Dockerfile (FROM the busybox image) on stdin, tagged $EXPECTED_REF. */
function dockerBuild(dockerfileLines: string[], tag = '"$EXPECTED_REF"'): string[] {
  const dockerfile = dockerfileLines.join('\\n');
  return ['sh', '-c', `printf '${dockerfile}\\n' | DOCKER_BUILDKIT=0 docker build -q -t ${tag} -`];
}

interface E2E {
  client: FerryClient;
  mgr: Manager;
  reconciler: CmdImageReconciler;
  logs: LogBuffer;
  dir: string;
  docker: Docker;
  create<T extends KubeObject>(obj: T): Promise<T>;
  waitDone(name: string, after?: string): Promise<CmdImage>;
}

async function start(t: { after(fn: () => Promise<void>): void }, docker: Docker): Promise<E2E> {
  const h = await ControllerHarness.start(t, {
    api: await sharedServer(),
    dirPrefix: 'ferry-cmdimage-e2e-',
    setup: (mgr, env) => setup(mgr, { images: new DockerodeImageClient(docker), cwd: env.dir }),
  });
  return {
    client: h.client,
    mgr: h.mgr,
    reconciler: h.wired.reconciler,
    logs: h.wired.logs,
    dir: h.dir,
    docker,
    create: (obj) => h.create(obj),
    waitDone: (name, afterTime = '') =>
      h.waitStatus<CmdImage>('CmdImage', name, (s) => !!s.completed && (s.completed.startedAt ?? '') > afterTime, 'completed', 60_000),
  };
}

function ref(name: string): string {
  const r = `ferry-e2e-${run}-${name}`;
  refs.push(r);
  return r;
}

async function cmdImage(e: E2E, name: string, spec: Partial<CmdImage['spec']>, annotations?: Record<string, string>): Promise<CmdImage> {
  return e.create<CmdImage>({
    kind: 'CmdImage',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { ref: ref(name), args: ['true'], ...spec },
  });
}

async function cluster(e: E2E, registry?: string): Promise<void> {
  await e.create<Cluster>({ kind: 'Cluster', metadata: { name: 'default' }, spec: registry ? { defaultRegistry: { host: registry } } : {} });
}

describe('CmdImage builds with Docker', () => {
  let docker: Docker;
  before(async () => {
    docker = await requireDocker();
  });
  after(async () => {
    await closeSharedServer();
    if (!docker) return;
    const images = await docker.listImages();
    for (const img of images) {
      if ((img.RepoTags ?? []).some((t) => refs.some((r) => t.includes(r)))) {
        await docker.getImage(img.Id).remove({ force: true }).catch(() => {});
      }
    }
  });

  it('builds FROM busybox, applies the content tag and pushes it to the registry', async (t) => {
    const e = await start(t, docker);
    await cluster(e, testRegistry);
    await cmdImage(e, 'pushed', { args: dockerBuild([`FROM ${testImages.busybox}`, 'RUN echo built > /built.txt']) });
    const c = await e.waitDone('pushed');
    assert.equal(c.status!.completed!.error, undefined, c.status!.completed!.error);
    const local = c.status!.ref!;
    const m = /^(.*):(tilt-[0-9a-f]{16})$/.exec(local);
    assert.ok(m, local);
    const [, repo, tag] = m;
    assert.equal(repo, `${testRegistry}/${refs.at(-1)}`);

    const info = await docker.getImage(local).inspect();
    assert.equal(tag, `tilt-${info.Id.slice('sha256:'.length, 'sha256:'.length + 16)}`, 'the tag is the content id');

    const name = repo!.slice(testRegistry.length + 1);
    const res = await fetch(`http://${testRegistry}/v2/${name}/tags/list`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { tags: string[] };
    assert.ok(body.tags.includes(tag!), JSON.stringify(body));

    const im = (await e.client.get<ImageMap>('ImageMap', 'pushed'))!;
    assert.equal(im.status!.imageFromLocal, local);
    assert.equal(im.status!.image, local);
    assert.equal(im.status!.buildStartTime, c.status!.completed!.startedAt);
    const lines = e.logs.lines({ resource: 'pushed' }).map((l) => l.line);
    assert.ok(lines.includes(`Pushing ${local}`), lines.join('\n'));
  });

  it('reads the ref a script writes to outputsImageRefTo', async (t) => {
    const e = await start(t, docker);
    await cluster(e);
    const r = `${ref('fromfile')}:custom-1`;
    const script = dockerBuild([`FROM ${testImages.busybox}`, 'RUN echo x > /x.txt'], r);
    await cmdImage(e, 'fromfile', {
      args: ['sh', '-c', `test -z "$EXPECTED_REF" && ${script[2]} && echo "${r}" > out/ref.txt`],
      dir: 'work',
      outputsImageRefTo: 'out/ref.txt',
    });
    fs.mkdirSync(path.join(e.dir, 'work', 'out'), { recursive: true });
    fs.writeFileSync(path.join(e.dir, 'work', 'out', 'ref.txt'), 'stale:0');
    const c = await e.waitDone('fromfile');
    assert.equal(c.status!.completed!.error, undefined, c.status!.completed!.error);
    assert.equal(c.status!.ref, r);
    assert.equal((await e.client.get<ImageMap>('ImageMap', 'fromfile'))!.status!.image, r);
  });

  it('reports a failing script with its output and exit status', async (t) => {
    const e = await start(t, docker);
    await cluster(e);
    await cmdImage(e, 'failing', { args: ['sh', '-c', 'echo compiling; echo "error: it broke" >&2; exit 3'] });
    const c = await e.waitDone('failing');
    assert.equal(c.status!.completed!.error, 'Custom build "echo compiling; echo \\"error: it broke\\" >&2; exit 3" failed: exit status 3\ncompiling\nerror: it broke');
    assert.equal(c.status!.ref, undefined);
    assert.equal((await e.client.get<ImageMap>('ImageMap', 'failing'))!.status?.image, undefined);
  });

  it('reports a script that tags nothing', async (t) => {
    const e = await start(t, docker);
    await cluster(e);
    await cmdImage(e, 'untagged', { args: ['sh', '-c', 'echo did nothing'] });
    const c = await e.waitDone('untagged');
    assert.match(c.status!.completed!.error!, /^Could not find image in Docker\nDid your custom_build script properly tag the image\?\n/);
    assert.match(c.status!.completed!.error!, /No such image: ferry-e2e-[0-9a-f]+-untagged:tilt-build-\d+$/);
  });

  it('builds a chain of two images, the second FROM the first', async (t) => {
    const e = await start(t, docker);
    await cluster(e);
    await cmdImage(e, 'app', {
      imageMaps: ['base'],
      args: ['sh', '-c', `printf 'FROM %s\\nRUN cat /base.txt > /app.txt\\n' "$TILT_IMAGE_0" | DOCKER_BUILDKIT=0 docker build -q -t "$EXPECTED_REF" -`],
    });
    await cmdImage(e, 'base', { args: dockerBuild([`FROM ${testImages.busybox}`, 'RUN echo base > /base.txt']) });
    const app = await e.waitDone('app');
    assert.equal(app.status!.completed!.error, undefined, app.status!.completed!.error);
    const base = (await e.client.get<ImageMap>('ImageMap', 'base'))!;
    const appInfo = await docker.getImage(app.status!.ref!).inspect();
    const baseInfo = await docker.getImage(base.status!.imageFromLocal!).inspect();
    assert.ok(appInfo.RootFS.Layers!.includes(baseInfo.RootFS.Layers!.at(-1)!), 'app is built on base');
  });

  it('a burst of triggers during a build gives one more build', async (t) => {
    const e = await start(t, docker);
    await cluster(e);
    const counter = path.join(e.dir, 'builds.txt');
    const gate = path.join(e.dir, 'gate');
    // Each build records itself, then waits for the gate file before tagging.
    const script = `echo build >> ${counter}; while [ ! -e ${gate} ]; do sleep 0.05; done; ` + dockerBuild([`FROM ${testImages.busybox}`])[2];
    fs.writeFileSync(gate, '');
    await cmdImage(e, 'burst', { args: ['sh', '-c', script] });
    const first = await e.waitDone('burst');
    assert.equal(first.status!.completed!.error, undefined);
    fs.rmSync(gate);

    await triggerResource(e.client, 'burst');
    await waitFor(() => fs.readFileSync(counter, 'utf8').split('\n').filter(Boolean).length === 2, { message: 'second build started', timeoutMs: 30_000 });
    for (let i = 0; i < 5; i++) {
      await triggerResource(e.client, 'burst');
      await waitFor(async () => !Object.values((await e.client.get('ConfigMap', 'tilt-trigger-queue') as { data?: Record<string, string> })?.data ?? {}).includes('burst'), {
        message: 'trigger taken',
      });
    }
    fs.writeFileSync(gate, '');
    const count = () => fs.readFileSync(counter, 'utf8').split('\n').filter(Boolean).length;
    await waitFor(() => count() === 3, { message: 'the one more build', timeoutMs: 30_000 });
    const last = await waitFor(
      async () => {
        const c = await e.client.get<CmdImage>('CmdImage', 'burst');
        return c?.status?.completed && !c.status.building ? c : undefined;
      },
      { message: 'last build done', timeoutMs: 30_000 },
    );
    assert.equal(last.status!.completed!.error, undefined);
    assert.equal(last.status!.completed!.reason, 'Triggered');
    await e.reconciler.idle();
    e.mgr.getController('cmdimage')!.enqueue('burst');
    await e.mgr.getController('cmdimage')!.idle();
    await e.reconciler.idle();
    assert.equal(fs.readFileSync(counter, 'utf8').split('\n').filter(Boolean).length, 3);
  });
});
