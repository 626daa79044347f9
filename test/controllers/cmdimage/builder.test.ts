import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CmdImageSpec } from '../../../src/apis/cmdimage.ts';
import type { Cluster } from '../../../src/apis/cluster.ts';
import { FakeImageClient, type Registry } from '../../../src/adapters/images/index.ts';
import { FakeProcessRunner } from '../../../src/adapters/process/index.ts';
import { planBuild, runBuild } from '../../../controllers/cmdimage/index.ts';

const id = 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const now = new Date('2024-01-01T00:00:10Z');

interface Fixture {
  runner: FakeProcessRunner;
  images: FakeImageClient;
  lines: string[];
  build(spec: Partial<CmdImageSpec>, opts?: { registry?: Registry; cluster?: Cluster; cwd?: string }): ReturnType<typeof runBuild>;
}

function newFixture(): Fixture {
  const runner = new FakeProcessRunner();
  const images = new FakeImageClient();
  const lines: string[] = [];
  return {
    runner,
    images,
    lines,
    build(spec, opts = {}) {
      const plan = planBuild({
        spec: { ref: 'foo', args: ['sh', '-c', 'build.sh'], ...spec },
        registry: opts.registry,
        cluster: opts.cluster,
        dependencies: [],
        now,
        baseEnv: {},
        cwd: opts.cwd ?? '/work',
      });
      return runBuild(plan, opts.registry, { runner, images }, (l) => lines.push(l));
    },
  };
}

/** tagsExpected makes the fake command tag $EXPECTED_REF, as a build script would. */
function tagsExpected(f: Fixture, lines: string[] = ['building']) {
  f.runner.enqueue({ lines, run: (spec) => f.images.add(spec.env!.EXPECTED_REF!, id) });
}

describe('runBuild', () => {
  it('runs the command, checks the image and applies the content tag', async () => {
    const f = newFixture();
    tagsExpected(f);
    const out = await f.build({});
    assert.equal(f.runner.calls.length, 1);
    assert.equal(f.runner.calls[0]!.dir, '/work');
    assert.equal(out.localRef.familiarString(), 'foo:tilt-0123456789abcdef');
    assert.deepEqual(out.imageMap, { image: 'foo:tilt-0123456789abcdef', imageFromLocal: 'foo:tilt-0123456789abcdef', imageFromCluster: 'foo:tilt-0123456789abcdef' });
    assert.deepEqual(f.images.tags, [{ source: id, target: 'foo:tilt-0123456789abcdef' }]);
    assert.ok(f.lines.includes('building'));
    assert.ok(f.lines.includes('Custom Build: Injecting Environment Variables'));
    assert.deepEqual(f.images.pushes, []);
  });

  it('tags the full refs, registry included, even with outputTag, and pushes', async () => {
    const f = newFixture();
    tagsExpected(f);
    const out = await f.build({ ref: 'gcr.io/foo/bar', outputTag: 'dev' }, { registry: { host: 'localhost:1234', hostFromContainerRuntime: 'registry:5000' } });
    assert.equal(f.runner.calls[0]!.env!.EXPECTED_REF, 'gcr.io/foo/bar:dev');
    assert.equal(out.localRef.familiarString(), 'localhost:1234/gcr.io_foo_bar:tilt-0123456789abcdef');
    assert.equal(out.clusterRef.familiarString(), 'registry:5000/gcr.io_foo_bar:tilt-0123456789abcdef');
    assert.deepEqual(out.imageMap, {
      image: 'registry:5000/gcr.io_foo_bar:tilt-0123456789abcdef',
      imageFromLocal: 'localhost:1234/gcr.io_foo_bar:tilt-0123456789abcdef',
      imageFromCluster: 'registry:5000/gcr.io_foo_bar:tilt-0123456789abcdef',
    });
    assert.deepEqual(f.images.pushes, ['localhost:1234/gcr.io_foo_bar:tilt-0123456789abcdef']);
  });

  it('fails with the exit status and the output of a failing command', async () => {
    const f = newFixture();
    f.runner.enqueue({ lines: ['step 1', 'error: no such file'], exitCode: 2 });
    await assert.rejects(f.build({}), { name: 'BuildError', message: 'Custom build "build.sh" failed: exit status 2\nstep 1\nerror: no such file' });
  });

  it('fails when the command cannot start', async () => {
    const f = newFixture();
    f.runner.enqueue({ error: new Error('exec: "nope": executable file not found in $PATH') });
    await assert.rejects(f.build({ args: ['nope', 'x'] }), { message: 'Custom build "nope x" failed: exec: "nope": executable file not found in $PATH' });
  });

  it('fails when the command tagged nothing', async () => {
    const f = newFixture();
    f.runner.enqueue({});
    await assert.rejects(f.build({}), (err: Error) => {
      assert.equal(
        err.message,
        'Could not find image in Docker\nDid your custom_build script properly tag the image?\n' +
          "If your custom_build doesn't use Docker, you might need to use skips_local_docker=True, see https://docs.tilt.dev/custom_build.html\n" +
          ': No such image: foo:tilt-build-1704067210',
      );
      return true;
    });
  });

  it('reports a push failure as docker push', async () => {
    const f = newFixture();
    tagsExpected(f);
    f.images.pushError = new Error('connection refused');
    await assert.rejects(f.build({}, { registry: { host: 'localhost:1234' } }), { message: 'docker push: connection refused' });
  });

  it('skips the push for base images and logs why', async () => {
    const f = newFixture();
    tagsExpected(f);
    await f.build({ clusterNeeds: 'base-image' }, { registry: { host: 'localhost:1234' } });
    assert.deepEqual(f.images.pushes, []);
    assert.ok(f.lines.includes('Skipping push: base image does not need deploy'));
  });

  it('remote mode trusts the expected ref without Docker', async () => {
    const f = newFixture();
    f.runner.enqueue({});
    const out = await f.build({ outputMode: 'remote', outputTag: 'v1' }, { registry: { host: 'localhost:1234' } });
    assert.equal(out.localRef.familiarString(), 'foo:v1');
    assert.deepEqual(f.images.tags, []);
    assert.deepEqual(f.images.pushes, []);
  });

  it('remote mode without outputTag keeps the registry', async () => {
    const f = newFixture();
    f.runner.enqueue({});
    const out = await f.build({ outputMode: 'remote' }, { registry: { host: 'localhost:1234', hostFromContainerRuntime: 'r:5' } });
    assert.equal(out.localRef.familiarString(), 'localhost:1234/foo:tilt-build-1704067210');
    assert.equal(out.clusterRef.familiarString(), 'r:5/foo:tilt-build-1704067210');
  });

  describe('outputsImageRefTo', () => {
    async function tmp(t: { after: (fn: () => Promise<void>) => void }) {
      const dir = await mkdtemp(join(tmpdir(), 'ferry-ref-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      return dir;
    }

    it('deletes the file first, then reads the ref the command wrote; no content tag', async (t) => {
      const dir = await tmp(t);
      const file = join(dir, 'ref.txt');
      await writeFile(file, 'stale:1');
      const f = newFixture();
      f.runner.enqueue({
        run: async () => {
          await assert.rejects(access(file), 'the file was deleted before the run');
          await writeFile(file, '  localhost:1234/foo:built-7\n');
          f.images.add('localhost:1234/foo:built-7', id);
        },
      });
      const out = await f.build({ outputsImageRefTo: file }, { registry: { host: 'localhost:1234', hostFromContainerRuntime: 'registry:5000' } });
      assert.equal(f.runner.calls[0]!.env!.EXPECTED_REF, undefined);
      assert.equal(out.localRef.familiarString(), 'localhost:1234/foo:built-7');
      assert.equal(out.clusterRef.familiarString(), 'registry:5000/foo:built-7');
      assert.deepEqual(f.images.tags, []);
      assert.deepEqual(f.images.pushes, ['localhost:1234/foo:built-7']);
      assert.equal(await readFile(file, 'utf8'), '  localhost:1234/foo:built-7\n');
    });

    it('fails when the file is missing', async (t) => {
      const dir = await tmp(t);
      const file = join(dir, 'ref.txt');
      const f = newFixture();
      f.runner.enqueue({});
      await assert.rejects(f.build({ outputsImageRefTo: file }), {
        message: `Could not find image ref in output. Your custom_build script should have written to ${file}: open ${file}: no such file or directory`,
      });
    });

    it('fails when the ref has no tag', async (t) => {
      const dir = await tmp(t);
      const file = join(dir, 'ref.txt');
      const f = newFixture();
      f.runner.enqueue({ run: () => writeFile(file, '999') });
      await assert.rejects(f.build({ outputsImageRefTo: file }), {
        message: `Output image ref in file ${file} was invalid: Expected reference "999" to contain a tag`,
      });
    });

    it('checks that the image exists in Docker', async (t) => {
      const dir = await tmp(t);
      const file = join(dir, 'ref.txt');
      const f = newFixture();
      f.runner.enqueue({ run: () => writeFile(file, 'foo:1') });
      await assert.rejects(f.build({ outputsImageRefTo: file }), { message: /^Could not find image in Docker\n[\s\S]*: No such image: foo:1$/ });
    });
  });

  it('for Docker Compose also tags the configured ref (or latest); the ImageMap gets the content tag', async () => {
    const compose: Cluster = { kind: 'Cluster', metadata: { name: 'docker' }, spec: { connection: { docker: {} } } };
    const f = newFixture();
    tagsExpected(f);
    const out = await f.build({ ref: 'app' }, { cluster: compose, registry: { host: 'localhost:1234' } });
    assert.equal(out.localRef.familiarString(), 'app:tilt-0123456789abcdef');
    assert.deepEqual(out.imageMap, { image: 'app:tilt-0123456789abcdef', imageFromLocal: 'app:tilt-0123456789abcdef', imageFromCluster: 'app:tilt-0123456789abcdef' });
    assert.deepEqual(f.images.pushes, []);
    assert.equal(f.images.has('app:latest'), true);

    const g = newFixture();
    tagsExpected(g);
    await g.build({ ref: 'app:dev' }, { cluster: compose });
    assert.equal(g.images.has('app:dev'), true);
  });
});
