import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CmdImage, FileWatch, ImageMap, LiveUpdate, LiveUpdateStateFailed } from '../../../src/apis/index.ts';
import { buildReasonsFor, type BuildInputs, type BuildMemory } from '../../../controllers/cmdimage/index.ts';

const t = (s: number) => `2024-01-01T00:00:${String(s).padStart(2, '0')}.000000Z`;

function inputs(failed: LiveUpdateStateFailed): BuildInputs {
  const cmdImage: CmdImage = { kind: 'CmdImage', metadata: { name: 'app', uid: 'u1', generation: 1 }, spec: { ref: 'app', args: ['x'] } };
  const target: ImageMap = { kind: 'ImageMap', metadata: { name: 'app' }, spec: { selector: 'app' }, status: { image: 'app:1', imageFromLocal: 'app:1', buildStartTime: t(5) } };
  const fw: FileWatch = { kind: 'FileWatch', metadata: { name: 'fw' }, spec: { watchedPaths: ['/x'] }, status: { lastEventTime: t(9) } };
  const lu: LiveUpdate = { kind: 'LiveUpdate', metadata: { name: 'lu' }, spec: { basePath: '/x', selector: {}, sources: [{ fileWatch: 'nope', imageMap: 'app' }] }, status: { failed } };
  return { cmdImage, target, dependencies: [], fileWatches: [fw], liveUpdates: [lu], triggered: false };
}
const memory: BuildMemory = { generation: 1, depImages: {}, startedAt: t(5) };

describe('a LiveUpdate that only waits never asks for a rebuild', () => {
  it('a missing FileWatch (ObjectNotFound) does not rebuild on file changes', () => {
    const failed = { reason: 'ObjectNotFound', message: 'filewatches.tilt.dev "nope" not found', lastTransitionTime: t(7) };
    assert.deepEqual(buildReasonsFor(inputs(failed), memory), []);
  });

  it('a Docker Compose service not up yet does not rebuild', () => {
    assert.deepEqual(buildReasonsFor(inputs({ reason: 'Invalid', message: 'no docker compose status', lastTransitionTime: t(7) }), memory), []);
  });

  it('a change the LiveUpdate cannot apply still rebuilds', () => {
    assert.deepEqual(buildReasonsFor(inputs({ reason: 'UpdateStopped', message: 'Detected change to stop file "/x/Dockerfile"', lastTransitionTime: t(7) }), memory), ['LiveUpdateStopped']);
    assert.deepEqual(buildReasonsFor(inputs({ reason: 'UpdateFailed', message: 'exec failed', lastTransitionTime: t(7) }), memory), ['LiveUpdateFailed']);
  });
});
