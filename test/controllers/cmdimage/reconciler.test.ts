import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster, ConfigMap, ImageMap } from '../../../src/apis/index.ts';
import { triggerResource } from '../../../src/cli/trigger.ts';
import { waitFor } from '../../support/wait.ts';
import { closeSharedServer, contentTagOf, newFixture } from './fixture.ts';
import { imageMapRecreateDelayMs } from '../../../controllers/cmdimage/reconciler.ts';

after(closeSharedServer);

describe('CmdImageReconciler', () => {
  it('creates the ImageMap, builds, and fills status and ImageMap', async (t) => {
    const f = await newFixture(t);
    await f.cmdImage('app', {}, { 'tilt.dev/resource': 'web' });
    const c = await f.waitBuilt('app');
    const tag = contentTagOf(1);
    assert.equal(c.status!.ref, `app:${tag}`);
    assert.equal(c.status!.completed!.reason, 'Created');
    assert.equal(c.status!.completed!.error, undefined);
    assert.equal(c.status!.completed!.startedAt, '2024-01-01T00:00:00.000000Z');
    assert.equal(c.status!.building, undefined);

    const im = await f.imageMap('app');
    assert.equal(im!.spec!.selector, 'app');
    assert.deepEqual(im!.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid]), [['CmdImage', 'app', c.metadata.uid]]);
    assert.deepEqual(im!.status, {
      image: `app:${tag}`,
      imageFromLocal: `app:${tag}`,
      imageFromCluster: `app:${tag}`,
      buildStartTime: '2024-01-01T00:00:00.000000Z',
    });

    const call = f.runner.calls[0]!;
    assert.deepEqual(call.argv, ['sh', '-c', 'build-app.sh']);
    assert.equal(call.dir, '/work');
    assert.equal(call.env!.EXPECTED_REF, 'app:tilt-build-1704067200');
    assert.equal(call.env!.PATH, '/bin');
    assert.ok(f.logs.lines({ resource: 'web' }).some((l) => l.line === 'Custom Build: Injecting Environment Variables' && l.source === 'CmdImage/app'));
    await f.assertSteady(assert.equal);
  });

  it('keeps the selector of the ImageMap it created in line with spec.ref, and counts builds', async (t) => {
    const f = await newFixture(t);
    await f.cmdImage('app');
    const first = await f.waitBuilt('app');
    await f.clock.advance(1000);
    await f.client.patch('CmdImage', 'app', { spec: { ref: 'app:v2' } });
    await f.waitBuilt('app', first.status!.completed!.startedAt);
    const im = await f.waitImageMap('app', (m) => m.spec!.selector === 'app:v2', 'selector updated');
    assert.equal(im.spec!.matchExact, true);
    const metrics = await f.mgr.metricsRegistry.getSingleMetricAsString('ferry_cmdimage_build_duration_seconds');
    assert.match(metrics, /ferry_cmdimage_build_duration_seconds_count\{result="ok"\} 2/);
    await f.assertSteady(assert.equal);
  });

  it('fills the ImageMap named by its annotation, leaving its spec alone', async (t) => {
    const f = await newFixture(t);
    await f.create<ImageMap>({ kind: 'ImageMap', metadata: { name: 'app-image' }, spec: { selector: 'app', matchInEnvVars: true } });
    await f.cmdImage('app', {}, { 'tilt.dev/image-map': 'app-image' });
    await f.waitBuilt('app');
    const im = await f.imageMap('app-image');
    assert.equal(im!.status!.image, `app:${contentTagOf(1)}`);
    assert.equal(im!.spec!.matchInEnvVars, true);
    assert.equal(await f.imageMap('app'), undefined, 'no ImageMap of its own name');
    await f.assertSteady(assert.equal);
  });

  it('keeps the ImageMap unchanged when a build fails, with output and exit status in completed.error', async (t) => {
    const f = await newFixture(t);
    await f.cmdImage('app');
    await f.waitBuilt('app');
    const before = await f.imageMap('app');

    await f.clock.advance(1000);
    f.runner.enqueue({ lines: ['compiling', 'error: syntax'], exitCode: 1 });
    await triggerResource(f.client, 'app');
    const failed = await f.waitStatus('app', (s) => !!s.completed?.error, 'failed');
    assert.equal(failed.status!.completed!.error, 'Custom build "build-app.sh" failed: exit status 1\ncompiling\nerror: syntax');
    assert.equal(failed.status!.completed!.reason, 'Triggered');
    assert.equal(failed.status!.ref, undefined);
    assert.deepEqual((await f.imageMap('app'))!.status, before!.status);
    await f.assertSteady(assert.equal);
  });

  it('rebuilds on a spec change', async (t) => {
    const f = await newFixture(t);
    await f.cmdImage('app');
    const first = await f.waitBuilt('app');
    await f.clock.advance(1000);
    await f.client.patch('CmdImage', 'app', { spec: { env: ['MODE=fast'] } });
    const c = await f.waitBuilt('app', first.status!.completed!.startedAt);
    assert.equal(c.status!.completed!.reason, 'SpecChanged');
    assert.equal(f.runner.calls.length, 2);
    assert.equal(f.runner.calls[1]!.env!.MODE, 'fast');
    await f.assertSteady(assert.equal);
  });

  it('waits for a dependency image, passes it in, and rebuilds when it changes', async (t) => {
    const f = await newFixture(t);
    const gate = f.gatedBuild(); // the base build holds until released
    await f.cmdImage('base');
    await f.cmdImage('app', { imageMaps: ['base'] });
    await gate.started;
    await f.waitStatus('app', (s) => s.waiting?.reason === 'WaitingForImageMap', 'waiting for base');
    assert.equal(f.runner.calls.length, 1);
    gate.release();

    const app = await f.waitBuilt('app');
    assert.equal(app.status!.completed!.reason, 'Created');
    const call = f.runner.calls.find((c) => c.argv[2] === 'build-app.sh')!;
    assert.equal(call.env!.TILT_IMAGE_MAP_0, 'base');
    assert.equal(call.env!.TILT_IMAGE_0, `base:${contentTagOf(1)}`);

    await f.clock.advance(1000);
    await triggerResource(f.client, 'base');
    const rebuilt = await f.waitBuilt('app', app.status!.completed!.startedAt);
    assert.equal(rebuilt.status!.completed!.reason, 'DependencyChanged');
    const last = f.runner.calls.at(-1)!;
    assert.equal(last.env!.TILT_IMAGE_0, `base:${contentTagOf(3)}`);
    assert.equal(f.runner.calls.length, 4);
    await f.assertSteady(assert.equal);
  });

  it('builds on a trigger and takes the resource out of the queue', async (t) => {
    const f = await newFixture(t);
    await f.cmdImage('app', {}, { 'tilt.dev/resource': 'web' });
    const first = await f.waitBuilt('app');
    await f.clock.advance(1000);
    await f.configMap('tilt-trigger-queue', { '0-name': 'other', '0-reason-code': '32', '1-name': 'web', '1-reason-code': '32' });
    const c = await f.waitBuilt('app', first.status!.completed!.startedAt);
    assert.equal(c.status!.completed!.reason, 'Triggered');
    const cm = await waitFor(async () => {
      const q = await f.client.get<ConfigMap>('ConfigMap', 'tilt-trigger-queue');
      return q && !Object.values(q.data ?? {}).includes('web') ? q : undefined;
    });
    assert.deepEqual(cm.data, { '0-name': 'other', '0-reason-code': '32' });
    await f.assertSteady(assert.equal);
  });

  it('a burst of triggers during a build gives exactly one more build, never two at once', async (t) => {
    const f = await newFixture(t);
    await f.cmdImage('app');
    await f.waitBuilt('app');
    await f.clock.advance(1000);

    const gate = f.gatedBuild();
    await triggerResource(f.client, 'app');
    await gate.started;
    for (let i = 0; i < 5; i++) {
      await triggerResource(f.client, 'app');
      await waitFor(async () => !Object.values((await f.client.get<ConfigMap>('ConfigMap', 'tilt-trigger-queue'))?.data ?? {}).includes('app'), {
        message: 'trigger consumed',
      });
    }
    await f.clock.advance(1000);
    gate.release();
    await f.quiesce();
    assert.equal(f.runner.calls.length, 3, 'initial build, the triggered one, and one more');
    assert.equal(f.runner.maxRunning, 1);
    const c = await f.get('app');
    assert.equal(c!.status!.completed!.reason, 'Triggered');
    assert.equal(c!.status!.completed!.startedAt, '2024-01-01T00:00:02.000000Z');
    await f.assertSteady(assert.equal);
  });

  it('rebuilds on file changes when no LiveUpdate uses the image', async (t) => {
    const f = await newFixture(t);
    await f.cmdImage('app');
    const first = await f.waitBuilt('app');
    await f.clock.advance(1000);
    await f.fileEvent('app-fw', 'app');
    const c = await f.waitBuilt('app', first.status!.completed!.startedAt);
    assert.equal(c.status!.completed!.reason, 'FileChanged');
    await f.assertSteady(assert.equal);
  });

  it('leaves file changes to a healthy LiveUpdate and rebuilds once it fails', async (t) => {
    const f = await newFixture(t);
    await f.liveUpdate('app-lu', 'app');
    await f.cmdImage('app');
    const first = await f.waitBuilt('app');
    await f.clock.advance(1000);
    await f.fileEvent('app-fw', 'app');
    await f.quiesce();
    assert.equal(f.runner.calls.length, 1, 'the LiveUpdate applies the change');

    await f.clock.advance(1000);
    await f.liveUpdate('app-lu', 'app', '2024-01-01T00:00:02.000000Z');
    const c = await f.waitBuilt('app', first.status!.completed!.startedAt);
    assert.equal(c.status!.completed!.reason, 'LiveUpdateStopped');
    const im = await f.imageMap('app');
    assert.equal(im!.status!.buildStartTime, c.status!.completed!.startedAt);
    await f.assertSteady(assert.equal);
  });

  it('rebuilds on a file change after a failed build, though a LiveUpdate uses the image', async (t) => {
    // The first build fails: no container runs the image, so no LiveUpdate can apply the fix.
    const f = await newFixture(t);
    await f.liveUpdate('app-lu', 'app');
    f.runner.enqueue({ lines: ['error: syntax'], exitCode: 1 });
    await f.cmdImage('app');
    const failed = await f.waitStatus('app', (s) => !!s.completed?.error, 'failed');
    await f.clock.advance(1000);
    await f.fileEvent('app-fw', 'app');
    const c = await f.waitBuilt('app', failed.status!.completed!.startedAt);
    assert.equal(c.status!.completed!.reason, 'FileChanged');
    assert.equal(f.runner.calls.length, 2);
    await f.assertSteady(assert.equal);
  });

  it('waits while the Cluster is missing or in error, and pushes to its registry', async (t) => {
    const f = await newFixture(t, { cluster: false });
    await f.cmdImage('other', { cluster: 'nope' });
    await f.waitStatus('other', (s) => s.waiting?.reason === 'WaitingForCluster', 'waiting for the cluster');
    const cl = await f.create<Cluster>({ kind: 'Cluster', metadata: { name: 'dev' }, spec: {} });
    await f.client.updateStatus<Cluster>({ ...cl, status: { error: 'connection refused' } });
    await f.cmdImage('app', { cluster: 'dev' });
    await f.waitStatus('app', (s) => s.waiting?.reason === 'ClusterNotReady', 'cluster not ready');
    assert.equal(f.runner.calls.length, 0);

    const cur = (await f.client.get<Cluster>('Cluster', 'dev'))!;
    await f.client.updateStatus<Cluster>({ ...cur, status: { registry: { host: 'localhost:5000', hostFromContainerRuntime: 'registry:5000' } } });
    const c = await f.waitBuilt('app');
    const tag = contentTagOf(1);
    assert.equal(c.status!.ref, `localhost:5000/app:${tag}`);
    assert.equal(f.runner.calls[0]!.env!.REGISTRY_HOST, 'localhost:5000');
    assert.deepEqual(f.images.pushes, [`localhost:5000/app:${tag}`]);
    const im = await f.imageMap('app');
    assert.equal(im!.status!.imageFromLocal, `localhost:5000/app:${tag}`);
    assert.equal(im!.status!.imageFromCluster, `registry:5000/app:${tag}`);
    assert.equal(im!.status!.image, `registry:5000/app:${tag}`);
    await f.assertSteady(assert.equal);
  });

  it('builds for local Docker when spec.cluster is empty and there is no default Cluster', async (t) => {
    const f = await newFixture(t, { cluster: false });
    await f.cmdImage('app');
    const c = await f.waitBuilt('app');
    assert.equal(c.status!.ref, `app:${contentTagOf(1)}`);
    assert.deepEqual(f.images.pushes, []);
    await f.assertSteady(assert.equal);
  });

  it('does not build into a disabled ImageMap', async (t) => {
    const f = await newFixture(t);
    await f.configMap('app-disable', { isDisabled: 'true' });
    await f.create<ImageMap>({
      kind: 'ImageMap',
      metadata: { name: 'app' },
      spec: { selector: 'app', disableSource: { configMap: { name: 'app-disable', key: 'isDisabled' } } },
    });
    await f.cmdImage('app');
    await f.waitStatus('app', (s) => s.waiting?.reason === 'ImageMapDisabled', 'disabled');
    assert.equal(f.runner.calls.length, 0);
    await f.configMap('app-disable', { isDisabled: 'false' });
    const c = await f.waitBuilt('app');
    assert.equal(c.status!.completed!.reason, 'Created');
    await f.assertSteady(assert.equal);
  });

  it('fails a build whose spec.ref is not a reference, without running it', async (t) => {
    const f = await newFixture(t);
    await f.cmdImage('app', { ref: 'Not/Valid' });
    const c = await f.waitStatus('app', (s) => !!s.completed?.error, 'failed');
    assert.match(c.status!.completed!.error!, /must be lowercase/);
    assert.equal(f.runner.calls.length, 0);
    await f.assertSteady(assert.equal);
  });

  it('kills the build of a deleted CmdImage', async (t) => {
    const f = await newFixture(t);
    let killedSeen = false;
    f.runner.enqueue({
      run: async () => {
        await waitFor(() => !f.reconciler.building('app') || undefined, { message: 'forgotten', timeoutMs: 15_000, intervalMs: 5 }).catch(() => {});
        killedSeen = true;
      },
    });
    await f.cmdImage('app');
    await waitFor(() => f.reconciler.building('app'), { message: 'building' });
    await f.client.delete('CmdImage', 'app');
    await waitFor(() => killedSeen, { message: 'build stopped' });
    await f.quiesce();
    assert.equal(f.reconciler.building('app'), false);
  });

  it('makes a deleted ImageMap again only when the CmdImage stays, not while both are deleted', async (t) => {
    const f = await newFixture(t);
    await f.cmdImage('app');
    await f.waitBuilt('app');
    await f.quiesce();
    // `ferry delete -f` of a file holding both: the ImageMap, then the CmdImage.
    await f.client.delete('ImageMap', 'app');
    await f.quiesce();
    assert.equal(await f.imageMap('app'), undefined, 'not made again at once');
    await f.clock.advance(imageMapRecreateDelayMs);
    await f.quiesce();
    assert.ok(await f.imageMap('app'), 'made again once the CmdImage stays');

    await f.cmdImage('other');
    await f.waitBuilt('other');
    await f.quiesce();
    await f.client.delete('ImageMap', 'other');
    await f.quiesce();
    await f.client.delete('CmdImage', 'other');
    await f.quiesce();
    await f.clock.advance(imageMapRecreateDelayMs);
    await f.quiesce();
    assert.equal(await f.imageMap('other'), undefined, 'a deleted CmdImage makes nothing');
  });

  it('keeps a stored result across a restart of the controller', async (t) => {
    const f = await newFixture(t);
    await f.cmdImage('app');
    const first = await f.waitBuilt('app');
    await f.stopManager();

    await f.startManager();
    await f.quiesce();
    assert.equal(f.runner.calls.length, 1, 'no rebuild after a restart');
    assert.deepEqual((await f.get('app'))!.status, first.status);
    await f.assertSteady(assert.equal);
  });

  it('rebuilds after a restart when the spec changed while the controller was down', async (t) => {
    const f = await newFixture(t);
    await f.cmdImage('app');
    const first = await f.waitBuilt('app');
    await waitFor(async () => (await f.get('app'))?.metadata.annotations?.['ferry.dev/built-generation'] === '1', { message: 'built generation recorded' });
    await f.stopManager();
    const cur = (await f.get('app'))!;
    await f.client.update({ ...cur, spec: { ...cur.spec!, env: ['MODE=changed'] } });

    await f.clock.advance(1000);
    await f.startManager();
    const c = await f.waitBuilt('app', first.status!.completed!.startedAt);
    assert.equal(c.status!.completed!.reason, 'SpecChanged');
    assert.equal(f.runner.calls.length, 2);
    assert.equal(f.runner.calls[1]!.env!.MODE, 'changed');
    await waitFor(async () => (await f.get('app'))?.metadata.annotations?.['ferry.dev/built-generation'] === '2', { message: 'new built generation recorded' });
    await f.assertSteady(assert.equal);
  });

  it('rebuilds a build cut off by a restart', async (t) => {
    const f = await newFixture(t);
    const gate = f.gatedBuild();
    await f.cmdImage('app');
    await gate.started;
    await f.waitStatus('app', (s) => !!s.building, 'building');
    await f.stopManager();
    gate.release();

    await f.startManager();
    const c = await f.waitBuilt('app');
    assert.equal(c.status!.completed!.reason, 'Interrupted');
    await f.assertSteady(assert.equal);
  });
});
