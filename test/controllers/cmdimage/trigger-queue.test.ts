import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap } from '../../../src/apis/index.ts';
import { FerryClient } from '../../../src/client/index.ts';
import { triggerResource } from '../../../src/cli/trigger.ts';
import { removeFromTriggerQueue, triggerQueueResources } from '../../../src/tilt/index.ts';
import { closeSharedServer, sharedServer } from './fixture.ts';

after(closeSharedServer);

describe('trigger queue', () => {
  it('triggerResource writes Tilt\'s queue entries, once per pending resource', async (t) => {
    const client = new FerryClient((await sharedServer()).kubeConfig);
    t.after(async () => {
      await client.delete('ConfigMap', 'tilt-trigger-queue').catch(() => {});
      client.close();
    });
    assert.deepEqual(await triggerResource(client, 'web'), { resource: 'web', queued: true });
    assert.deepEqual(await triggerResource(client, 'api'), { resource: 'api', queued: true });
    assert.deepEqual(await triggerResource(client, 'web'), { resource: 'web', queued: false });
    let cm = (await client.get<ConfigMap>('ConfigMap', 'tilt-trigger-queue'))!;
    assert.deepEqual(cm.data, { '0-name': 'web', '0-reason-code': '32', '1-name': 'api', '1-reason-code': '32' });
    assert.deepEqual([...triggerQueueResources(cm)], ['web', 'api']);

    await removeFromTriggerQueue(client, 'web');
    cm = (await client.get<ConfigMap>('ConfigMap', 'tilt-trigger-queue'))!;
    assert.deepEqual(cm.data, { '1-name': 'api', '1-reason-code': '32' });
    await triggerResource(client, 'web');
    cm = (await client.get<ConfigMap>('ConfigMap', 'tilt-trigger-queue'))!;
    assert.deepEqual(cm.data, { '1-name': 'api', '1-reason-code': '32', '2-name': 'web', '2-reason-code': '32' });
    await removeFromTriggerQueue(client, 'nothing');
  });

  it('survives concurrent writers', async (t) => {
    const client = new FerryClient((await sharedServer()).kubeConfig);
    t.after(async () => {
      await client.delete('ConfigMap', 'tilt-trigger-queue').catch(() => {});
      client.close();
    });
    const names = Array.from({ length: 8 }, (_, i) => `r${i}`);
    await Promise.all(names.map((n) => triggerResource(client, n)));
    const cm = (await client.get<ConfigMap>('ConfigMap', 'tilt-trigger-queue'))!;
    assert.deepEqual([...triggerQueueResources(cm)].sort(), names);
  });
});
