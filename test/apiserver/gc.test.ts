/**
 * The garbage collector and owners it cannot resolve: an owner of a kind this server does not
 * serve (Tilt's `Tiltfile`, another group, another version) is never taken for absent, so
 * objects exported from Tilt survive; owners it serves are collected as before.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer, type TestApiServer } from '../support/apiserver.ts';
import { waitFor } from '../support/wait.ts';
import { FerryClient } from '../../src/client/client.ts';
import { applyOne } from '../../src/cli/apply.ts';
import { parseManifests } from '../../src/cli/manifests.ts';
import type { KubeObject, OwnerReference } from '../../src/apis/meta.ts';

/** tiltExport is what `tilt get filewatch -o yaml` prints for a Tiltfile-made FileWatch. */
const tiltExport = `
apiVersion: tilt.dev/v1alpha1
kind: FileWatch
metadata:
  annotations:
    tilt.dev/resource: web
  creationTimestamp: "2026-11-30T09:12:44Z"
  labels:
    tilt.dev/owned-by: tiltfile
  name: image:web
  ownerReferences:
  - apiVersion: tilt.dev/v1alpha1
    kind: Tiltfile
    name: (Tiltfile)
    uid: 0d6c5a8e-7d6f-4a1c-9f5e-2f1b7c3d9a10
  resourceVersion: "42"
  uid: 6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b
spec:
  ignores:
  - basePath: /tmp/web
    patterns:
    - node_modules
  watchedPaths:
  - /tmp/web
status:
  monitorStartTime: "2026-11-30T09:12:44.123456Z"
`;

describe('garbage collection of objects with owners this server does not serve', () => {
  let s: TestApiServer;
  let client: FerryClient;

  before(async () => {
    s = await startTestApiServer();
    client = new FerryClient(s.kubeConfig);
  });
  after(async () => {
    client.close();
    await s.close();
  });

  const imageMap = (name: string, owners: OwnerReference[]): KubeObject =>
    ({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name, ownerReferences: owners }, spec: { selector: 'app' } }) as KubeObject;
  const absentOwner: OwnerReference = { apiVersion: 'tilt.dev/v1alpha1', kind: 'CmdImage', name: 'gone', uid: '00000000-0000-4000-8000-000000000000' };

  /** gcPass waits until an object whose only owner is absent is collected: a pass has run after every earlier write. */
  let passes = 0;
  const gcPass = async () => {
    const name = `sentinel-${passes++}`;
    await client.create(imageMap(name, [absentOwner]));
    await waitFor(async () => !(await client.get('ImageMap', name)), { timeoutMs: 5000 });
  };

  it('keeps a FileWatch exported from Tilt, owned by the Tiltfile', async () => {
    const [manifest] = parseManifests(tiltExport, 'export.yaml');
    assert.match(await applyOne(client, manifest!), /created/);
    await gcPass();
    const kept = await client.get('FileWatch', 'image:web');
    assert.ok(kept, 'the exported FileWatch is still there after a collection pass');
    assert.deepEqual(kept.metadata.ownerReferences?.map((r) => r.kind), ['Tiltfile']);
  });

  it('keeps objects whose owner is of another group or version, even beside an absent owner', async () => {
    const otherGroup: OwnerReference = { apiVersion: 'example.com/v1', kind: 'CmdImage', name: 'x', uid: '11111111-1111-4111-8111-111111111111' };
    const otherVersion: OwnerReference = { apiVersion: 'tilt.dev/v1beta1', kind: 'CmdImage', name: 'y', uid: '22222222-2222-4222-8222-222222222222' };
    await client.create(imageMap('other-group', [otherGroup]));
    await client.create(imageMap('other-version', [otherVersion]));
    await client.create(imageMap('mixed', [otherGroup, absentOwner]));
    await gcPass();
    for (const name of ['other-group', 'other-version']) assert.ok(await client.get('ImageMap', name), `${name} survives`);
    const mixed = await client.get('ImageMap', 'mixed');
    assert.ok(mixed, 'an object with an unresolvable owner is left alone');
    assert.equal(mixed.metadata.ownerReferences?.length, 2, 'and its references are not pruned');
  });

  it('still collects a dependent of a served owner that is deleted, and prunes a dead owner beside a live one', async () => {
    const owner = await client.create({ apiVersion: 'tilt.dev/v1alpha1', kind: 'CmdImage', metadata: { name: 'real-owner' }, spec: { ref: 'app', args: ['true'] } } as KubeObject);
    const ref: OwnerReference = { apiVersion: 'tilt.dev/v1alpha1', kind: 'CmdImage', name: 'real-owner', uid: owner.metadata.uid! };
    await client.create(imageMap('real-dep', [ref]));
    await client.create(imageMap('two-owners', [ref, absentOwner]));
    await waitFor(async () => (await client.get('ImageMap', 'two-owners'))?.metadata.ownerReferences?.length === 1, { timeoutMs: 5000 });
    await gcPass();
    assert.ok(await client.get('ImageMap', 'real-dep'), 'a dependent of a live owner stays');
    await client.delete('CmdImage', 'real-owner');
    await waitFor(async () => !(await client.get('ImageMap', 'real-dep')), { timeoutMs: 5000 });
  });
});
