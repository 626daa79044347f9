import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBuildTag, planPrune, type TaggedImage } from '../../../src/adapters/images/index.ts';

const img = (id: string, stamp: number, extra: string[] = []): TaggedImage => ({
  id,
  created: 1,
  tags: [`tilt-build-${stamp}`, `tilt-${id.padEnd(16, '0')}`, ...extra],
});

describe('planPrune', () => {
  const images = [img('a', 100), img('b', 400), img('c', 300), img('d', 200)];

  it('keeps the newest images by build stamp and names the tags of the others', () => {
    assert.deepEqual(planPrune(images, { keep: 2, inUse: new Set() }).sort(), ['tilt-build-100', 'tilt-build-200', `tilt-a${'0'.repeat(15)}`, `tilt-d${'0'.repeat(15)}`].sort());
  });

  it('never names the tags of an image a container uses, or the protected one', () => {
    const remove = planPrune(images, { keep: 1, inUse: new Set(['a']), protect: new Set(['c']) });
    assert.deepEqual(remove.sort(), ['tilt-build-200', `tilt-d${'0'.repeat(15)}`].sort());
  });

  it('leaves tags ferry did not make', () => {
    const remove = planPrune([img('a', 100, ['latest', 'v1']), img('b', 200)], { keep: 1, inUse: new Set() });
    assert.ok(!remove.includes('latest') && !remove.includes('v1'));
    assert.equal(remove.length, 2);
  });

  it('removes only what mayRemove allows', () => {
    const remove = planPrune(images, { keep: 1, inUse: new Set(), mayRemove: (t) => t === 'tilt-build-100' });
    assert.deepEqual(remove, ['tilt-build-100']);
  });

  it('keeps at least one image, and everything when there are few', () => {
    assert.equal(planPrune(images, { keep: 0, inUse: new Set() }).length, 6);
    assert.deepEqual(planPrune(images, { keep: 4, inUse: new Set() }), []);
  });

  it('leaves an image it keeps one build stamp, its newest, and every tag a container names', () => {
    // One image built five times unchanged, and an older one a container runs.
    const rebuilt: TaggedImage = { id: 'r', created: 1, tags: ['tilt-build-10', 'tilt-build-50', 'tilt-build-30', `tilt-r${'0'.repeat(15)}`, 'latest'] };
    const running: TaggedImage = { id: 'u', created: 1, tags: ['tilt-build-3', 'tilt-build-5', 'tilt-build-4'] };
    const remove = planPrune([rebuilt, running], { keep: 1, inUse: new Set(['u', 'app:tilt-build-4']), repository: 'app', protect: new Set(['r']) });
    assert.deepEqual(remove.sort(), ['tilt-build-10', 'tilt-build-3', 'tilt-build-30']);
  });

  it('knows ferry\'s build tags', () => {
    assert.ok(isBuildTag('tilt-build-1796424134'));
    assert.ok(isBuildTag('tilt-0f167e093e2dc398'));
    assert.ok(!isBuildTag('latest'));
    assert.ok(!isBuildTag('tilt-build-'));
    assert.ok(!isBuildTag('tilt-0f16'));
  });
});
