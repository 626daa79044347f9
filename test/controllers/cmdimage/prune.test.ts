// Pruning old builds against the real Docker Engine: after a build, a ref keeps the tags of its
// newest images only, never loses an image a container runs, and keeps tags ferry did not make.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { CmdImage } from '../../../src/apis/index.ts';
import { setup } from '../../../controllers/cmdimage/index.ts';
import { DockerodeImageClient } from '../../../src/adapters/images/index.ts';
import { requireDocker, testImages, testLabel } from '../../support/docker.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { sharedServer, closeSharedServer } from './fixture.ts';

const repo = `ferry-prune-${randomBytes(3).toString('hex')}`;

/** build makes a distinct image of repo (LABEL n) tagged as a ferry build of `stamp` seconds. */
function build(n: string, stamp: number): string {
  const dockerfile = `FROM ${testImages.busybox}\nLABEL n=${n}\n`;
  const id = execFileSync('docker', ['build', '-q', '-t', `${repo}:tilt-build-${stamp}`, '-'], { input: dockerfile, env: { ...process.env, DOCKER_BUILDKIT: '0' } }).toString().trim();
  execFileSync('docker', ['tag', id, `${repo}:tilt-${id.replace('sha256:', '').slice(0, 16)}`]);
  return id;
}

function tagsOf(): Map<string, string[]> {
  const out = execFileSync('docker', ['images', '--no-trunc', '--format', '{{.ID}} {{.Tag}}', repo]).toString();
  const m = new Map<string, string[]>();
  for (const line of out.split('\n').filter(Boolean)) {
    const [id, tag] = line.split(' ');
    m.set(id, [...(m.get(id) ?? []), tag]);
  }
  return m;
}

describe('CmdImage prunes old builds', () => {
  let docker: Docker;
  let container: string | undefined;
  before(async () => {
    docker = await requireDocker();
  });
  after(async () => {
    if (container) execFileSync('docker', ['rm', '-f', container]);
    const refs = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', repo]).toString().split('\n').filter(Boolean);
    if (refs.length) execFileSync('docker', ['rmi', '-f', ...refs]);
    await closeSharedServer();
  });

  it('keeps the newest builds, the image a container runs, and tags it did not make', async (t) => {
    const now = Math.floor(Date.now() / 1000);
    const ids = [0, 1, 2, 3].map((i) => build(`old${i}`, now - 1000 + i));
    execFileSync('docker', ['tag', ids[0], `${repo}:mine`]);
    container = execFileSync('docker', ['run', '-d', '--label', `${testLabel}=1`, `${repo}:tilt-build-${now - 1000 + 1}`, 'sleep', '600']).toString().trim();

    const h = await ControllerHarness.start(t, {
      api: await sharedServer(),
      dirPrefix: 'ferry-cmdimage-prune-',
      setup: (mgr, env) => setup(mgr, { images: new DockerodeImageClient(docker), cwd: env.dir, keepImages: 2 }),
    });
    await h.create<CmdImage>({
      kind: 'CmdImage',
      metadata: { name: 'pruned' },
      spec: { ref: repo, args: ['sh', '-c', `printf 'FROM ${testImages.busybox}\\nLABEL n=new\\n' | DOCKER_BUILDKIT=0 docker build -q -t "$EXPECTED_REF" -`] },
    });
    const done = await h.waitStatus<CmdImage>('CmdImage', 'pruned', (s) => !!s.completed, 'completed', 60_000);
    assert.ok(!done.status?.completed?.error, done.status?.completed?.error);
    await h.mgr.getController('cmdimage')?.idle();

    const tags = tagsOf();
    const newId = [...tags.keys()].find((id) => !ids.includes(id));
    assert.ok(newId, 'the new build is there');
    assert.ok(tags.has(ids[3]), 'the newest old build is kept (keep 2)');
    assert.ok(!tags.has(ids[2]), 'an older build is removed');
    assert.ok(tags.has(ids[1]), 'the image a container runs is kept');
    assert.deepEqual(tags.get(ids[0]), ['mine'], 'only ferry\'s tags are removed from an old image');
    assert.equal((await docker.getContainer(container).inspect()).State.Running, true);
  });

  it('keeps one build stamp on an image built again unchanged', async (t) => {
    const h = await ControllerHarness.start(t, {
      api: await sharedServer(),
      dirPrefix: 'ferry-cmdimage-prune-',
      setup: (mgr, env) => setup(mgr, { images: new DockerodeImageClient(docker), cwd: env.dir, keepImages: 2 }),
    });
    // The same Dockerfile each time: every build gives the same image a new tilt-build- tag.
    const now = Math.floor(Date.now() / 1000);
    const id = build('same', now - 100);
    execFileSync('docker', ['tag', id, `${repo}:tilt-build-${now - 90}`]);
    await h.create<CmdImage>({
      kind: 'CmdImage',
      metadata: { name: 'same' },
      spec: { ref: repo, args: ['sh', '-c', `printf 'FROM ${testImages.busybox}\\nLABEL n=same\\n' | DOCKER_BUILDKIT=0 docker build -q -t "$EXPECTED_REF" -`] },
    });
    const done = await h.waitStatus<CmdImage>('CmdImage', 'same', (s) => !!s.completed, 'completed', 60_000);
    assert.ok(!done.status?.completed?.error, done.status?.completed?.error);
    await h.mgr.getController('cmdimage')?.idle();
    const stamps = (tagsOf().get(id) ?? []).filter((tag) => tag.startsWith('tilt-build-'));
    assert.equal(stamps.length, 1, `one build stamp left: ${stamps.join(' ')}`);
    assert.ok(Number(stamps[0].slice('tilt-build-'.length)) >= now, 'the newest one');
  });
});
