import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, ImageMap } from '../../../src/apis/index.ts';
import { FakeClock } from '../../../src/runtime/index.ts';
import { imageMapDisableState, selectorError, setup } from '../../../controllers/imagemap/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { waitFor } from '../../support/wait.ts';

function im(spec: ImageMap['spec']): ImageMap {
  return { kind: 'ImageMap', metadata: { name: 'app' }, spec };
}

describe('ImageMap status helpers', () => {
  it('reports a selector that is not a reference', () => {
    assert.equal(selectorError(im({ selector: 'app:1' })), undefined);
    assert.match(selectorError(im({ selector: 'App' }))!, /^invalid selector "App": .*must be lowercase/);
  });

  it('evaluates disableSource', () => {
    const cms: Record<string, ConfigMap> = { d: { kind: 'ConfigMap', metadata: { name: 'd' }, data: { isDisabled: 'true' } } };
    const lookup = (n: string) => cms[n];
    assert.equal(imageMapDisableState(im({ selector: 'a' }), lookup).state, 'Enabled');
    assert.equal(imageMapDisableState(im({ selector: 'a', disableSource: { configMap: { name: 'd', key: 'isDisabled' } } }), lookup).state, 'Disabled');
    assert.equal(imageMapDisableState(im({ selector: 'a', disableSource: { configMap: { name: 'missing', key: 'isDisabled' } } }), lookup).state, 'Pending');
  });
});

describe('ImageMapReconciler', () => {
  it('tracks disable state and never writes ImageMaps', async (t) => {
    const h = await ControllerHarness.start(t, { clock: new FakeClock(), setup: (mgr) => setup(mgr) });
    const { reconciler } = h.wired;
    await h.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'd' }, data: { isDisabled: 'false' } });
    const created = await h.create<ImageMap>({
      kind: 'ImageMap',
      metadata: { name: 'app' },
      spec: { selector: 'Bad', disableSource: { configMap: { name: 'd', key: 'isDisabled' } } },
    });
    await waitFor(() => reconciler.disableState('app') === 'Enabled', { message: 'enabled' });
    const cm = await h.mustGet<ConfigMap>('ConfigMap', 'd');
    await h.update<ConfigMap>({ ...cm, data: { isDisabled: 'true' } });
    await waitFor(() => reconciler.disableState('app') === 'Disabled', { message: 'disabled' });
    await h.steadyState('imagemap', 'ImageMap', 'app');
    const stored = await h.mustGet<ImageMap>('ImageMap', 'app');
    assert.equal(stored.metadata.resourceVersion, created.metadata.resourceVersion, 'steady state: the ImageMap is never written');
  });
});
