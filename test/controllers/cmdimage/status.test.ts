import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CmdImage, FileWatch, ImageMap, LiveUpdate, Cluster } from '../../../src/apis/index.ts';
import {
  buildReasonsFor,
  initialMemory,
  newImageMap,
  targetImageMapName,
  waitFor,
  liveUpdateImageMaps,
  fileWatchImageMap,
  type BuildInputs,
  type BuildMemory,
} from '../../../controllers/cmdimage/index.ts';

const t = (s: number) => `2024-01-01T00:00:${String(s).padStart(2, '0')}.000000Z`;

function ci(over: Partial<CmdImage> = {}): CmdImage {
  return { kind: 'CmdImage', metadata: { name: 'app', uid: 'u1', generation: 1 }, spec: { ref: 'app', args: ['x'] }, ...over };
}
function im(name: string, image?: string, buildStartTime?: string): ImageMap {
  return { kind: 'ImageMap', metadata: { name }, spec: { selector: name }, status: image ? { image, imageFromLocal: image, buildStartTime } : {} };
}
function fw(lastEventTime?: string): FileWatch {
  return { kind: 'FileWatch', metadata: { name: 'fw', annotations: { 'tilt.dev/target-id': 'image:app' } }, spec: { watchedPaths: ['/x'] }, status: { lastEventTime } };
}
function lu(failedAt?: string): LiveUpdate {
  return {
    kind: 'LiveUpdate',
    metadata: { name: 'lu' },
    spec: { basePath: '/x', selector: {}, sources: [{ fileWatch: 'fw', imageMap: 'app' }] },
    status: failedAt ? { failed: { reason: 'UpdateStopped', lastTransitionTime: failedAt } } : {},
  };
}
function inputs(over: Partial<BuildInputs> = {}): BuildInputs {
  return { cmdImage: ci(), target: im('app', 'app:tilt-1', t(5)), dependencies: [], fileWatches: [], liveUpdates: [], triggered: false, ...over };
}
const memory: BuildMemory = { generation: 1, depImages: {}, startedAt: t(5) };

describe('names', () => {
  it('fills the annotated ImageMap, else its own name', () => {
    assert.equal(targetImageMapName(ci()), 'app');
    assert.equal(targetImageMapName(ci({ metadata: { name: 'app', annotations: { 'tilt.dev/image-map': 'other' } } })), 'other');
  });
  it('creates an owned ImageMap whose selector is spec.ref, exact when tagged', () => {
    const m = newImageMap(ci({ spec: { ref: 'app:dev', args: ['x'] } }), 'app');
    assert.deepEqual(m.spec, { selector: 'app:dev', matchExact: true });
    assert.deepEqual(m.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid, o.controller]), [['CmdImage', 'app', 'u1', true]]);
    assert.deepEqual(newImageMap(ci(), 'app').spec, { selector: 'app' });
  });
  it('reads image targets of FileWatches and ImageMaps of LiveUpdates', () => {
    assert.equal(fileWatchImageMap(fw()), 'app');
    assert.deepEqual(liveUpdateImageMaps({ ...lu(), spec: { ...lu().spec!, selector: { kubernetes: { discoveryName: 'd', imageMapName: 'k' } } } }), ['k', 'app']);
  });
});

describe('buildReasonsFor', () => {
  it('builds a CmdImage never built, or interrupted', () => {
    assert.deepEqual(buildReasonsFor(inputs(), undefined), ['Created']);
    assert.deepEqual(buildReasonsFor(inputs({ cmdImage: ci({ status: { building: { startedAt: t(1) } } }) }), undefined), ['Interrupted']);
  });

  it('takes a stored success as the last build after a restart', () => {
    const stored = ci({ status: { ref: 'app:tilt-1', completed: { startedAt: t(5), finishedAt: t(6) } } });
    const m = initialMemory(inputs({ cmdImage: stored }));
    assert.deepEqual(m, { generation: 1, depImages: {}, startedAt: t(5) });
    assert.deepEqual(buildReasonsFor(inputs({ cmdImage: stored }), m), []);
    assert.equal(initialMemory(inputs({ cmdImage: stored, target: im('app') })), undefined, 'the ImageMap lost its image');
    assert.equal(initialMemory(inputs({ cmdImage: ci({ status: { completed: { error: 'x', startedAt: t(5) } } }) })), undefined);
  });

  it('rebuilds on a spec change', () => {
    assert.deepEqual(buildReasonsFor(inputs({ cmdImage: ci({ metadata: { name: 'app', generation: 2 } }) }), memory), ['SpecChanged']);
  });

  it('rebuilds when a dependency has a new image, not when it loses one', () => {
    const c = ci({ spec: { ref: 'app', args: ['x'], imageMaps: ['base'] } });
    const m = { ...memory, depImages: { base: 'base:1' } };
    assert.deepEqual(buildReasonsFor(inputs({ cmdImage: c, dependencies: [im('base', 'base:1')] }), m), []);
    assert.deepEqual(buildReasonsFor(inputs({ cmdImage: c, dependencies: [im('base', 'base:2')] }), m), ['DependencyChanged']);
    assert.deepEqual(buildReasonsFor(inputs({ cmdImage: c, dependencies: [im('base')] }), m), []);
  });

  it('rebuilds on a trigger', () => {
    assert.deepEqual(buildReasonsFor(inputs({ triggered: true }), memory), ['Triggered']);
  });

  it('rebuilds on file changes after the last build start when no LiveUpdate uses the image', () => {
    assert.deepEqual(buildReasonsFor(inputs({ fileWatches: [fw(t(5))] }), memory), [], 'equal times are not after');
    assert.deepEqual(buildReasonsFor(inputs({ fileWatches: [fw(t(6))] }), memory), ['FileChanged']);
  });

  it('leaves file changes to a healthy LiveUpdate, rebuilds when it failed since the image was built', () => {
    assert.deepEqual(buildReasonsFor(inputs({ fileWatches: [fw(t(6))], liveUpdates: [lu()] }), memory), []);
    assert.deepEqual(buildReasonsFor(inputs({ fileWatches: [fw(t(6))], liveUpdates: [lu(t(4))] }), memory), [], 'failed before the image');
    assert.deepEqual(buildReasonsFor(inputs({ fileWatches: [fw(t(6))], liveUpdates: [lu(t(7))] }), memory), ['LiveUpdateStopped'], 'stopped for a change it cannot apply');
    const failedExec: LiveUpdate = { ...lu(), status: { failed: { reason: 'UpdateFailed', lastTransitionTime: t(7) } } };
    assert.deepEqual(buildReasonsFor(inputs({ fileWatches: [fw(t(6))], liveUpdates: [lu(t(7)), failedExec] }), memory), ['LiveUpdateFailed'], 'failed otherwise');
    assert.deepEqual(buildReasonsFor(inputs({ fileWatches: [fw(t(4))], liveUpdates: [lu(t(7))] }), memory), [], 'no change since the last build');
  });

  it('after a failed rebuild, a new change rebuilds while the LiveUpdate stays failed', () => {
    // image built at 5, LiveUpdate failed at 7, a rebuild started at 8 and failed, then a change at 9.
    const m = { ...memory, startedAt: t(8) };
    assert.deepEqual(buildReasonsFor(inputs({ fileWatches: [fw(t(9))], liveUpdates: [lu(t(7))] }), m), ['LiveUpdateStopped']);
  });

  it('rebuilds on a change after a failed build, whatever the LiveUpdates say', () => {
    const m = { ...memory, failed: true };
    assert.deepEqual(buildReasonsFor(inputs({ fileWatches: [fw(t(6))], liveUpdates: [lu()] }), m), ['FileChanged']);
    assert.deepEqual(buildReasonsFor(inputs({ fileWatches: [fw(t(4))], liveUpdates: [lu()] }), m), [], 'no change since that build');
  });

  it('lists several reasons, most important first', () => {
    const c = ci({ metadata: { name: 'app', generation: 3 } });
    assert.deepEqual(buildReasonsFor(inputs({ cmdImage: c, triggered: true, fileWatches: [fw(t(9))] }), memory), ['SpecChanged', 'Triggered', 'FileChanged']);
  });
});

describe('waitFor', () => {
  const cluster: Cluster = { kind: 'Cluster', metadata: { name: 'default' }, spec: {} };
  it('waits for the Cluster, a Cluster error, dependencies and a disabled ImageMap', () => {
    assert.equal(waitFor({ ...inputs(), cluster }), undefined);
    assert.equal(waitFor(inputs()), undefined, 'no default Cluster: build for local Docker');
    assert.equal(waitFor(inputs({ cmdImage: ci({ spec: { ref: 'app', args: ['x'], cluster: 'dev' } }) }))?.reason, 'WaitingForCluster');
    assert.deepEqual(waitFor({ ...inputs(), cluster: { ...cluster, status: { error: 'down' } } }), { reason: 'ClusterNotReady', message: 'cluster not ready: down' });
    const c = ci({ spec: { ref: 'app', args: ['x'], imageMaps: ['base'] } });
    assert.deepEqual(waitFor({ ...inputs({ cmdImage: c, dependencies: [undefined] }), cluster }), { reason: 'WaitingForImageMap', message: 'ImageMap base does not exist' });
    assert.deepEqual(waitFor({ ...inputs({ cmdImage: c, dependencies: [im('base')] }), cluster }), { reason: 'WaitingForImageMap', message: 'ImageMap base has no image yet' });
    assert.equal(waitFor({ ...inputs(), cluster, targetDisabled: 'ConfigMap/key "a"/"b" is true' })?.reason, 'ImageMapDisabled');
  });
});
