import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import winston from 'winston';
import type { ConfigMap, ImageMap } from '../../../src/apis/index.ts';
import { FerryClient } from '../../../src/client/index.ts';
import { FakeClock, Manager } from '../../../src/runtime/index.ts';
import { imageMapDisableState, selectorError, setup } from '../../../controllers/imagemap/index.ts';
import { startTestApiServer, type TestApiServer } from '../../support/apiserver.ts';
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
  let server: TestApiServer | undefined;
  after(async () => server?.close());

  it('tracks disable state and never writes ImageMaps', async () => {
    server = await startTestApiServer();
    const client = new FerryClient(server.kubeConfig);
    const log = winston.createLogger({ silent: true, transports: [new winston.transports.Console()] });
    const mgr = new Manager({ kubeConfig: server.kubeConfig, log, clock: new FakeClock() });
    const { controller, reconciler } = setup(mgr);
    await mgr.start();
    try {
      await client.create<ConfigMap>({ kind: 'ConfigMap', metadata: { name: 'd' }, data: { isDisabled: 'false' } });
      const created = await client.create<ImageMap>({
        kind: 'ImageMap',
        metadata: { name: 'app' },
        spec: { selector: 'Bad', disableSource: { configMap: { name: 'd', key: 'isDisabled' } } },
      });
      await waitFor(() => reconciler.disableState('app') === 'Enabled', { message: 'enabled' });
      const cm = (await client.get<ConfigMap>('ConfigMap', 'd'))!;
      await client.update<ConfigMap>({ ...cm, data: { isDisabled: 'true' } });
      await waitFor(() => reconciler.disableState('app') === 'Disabled', { message: 'disabled' });
      controller.enqueue('app');
      await controller.idle();
      const stored = (await client.get<ImageMap>('ImageMap', 'app'))!;
      assert.equal(stored.metadata.resourceVersion, created.metadata.resourceVersion, 'steady state: the ImageMap is never written');
    } finally {
      await mgr.stop();
      client.close();
    }
  });
});
