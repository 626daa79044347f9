import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { newFixture } from './fixture.ts';

async function dockerSetup(t: Parameters<typeof newFixture>[0], spec: Parameters<Awaited<ReturnType<typeof newFixture>>['liveUpdate']>[0] = {}) {
  const f = await newFixture(t);
  await f.fileWatch();
  await f.dockerCompose('c1');
  await f.write({ 'src/a.txt': 'A', Dockerfile: 'FROM busybox' });
  await f.liveUpdate(spec);
  return f;
}

test('a stop path outside every sync is reported as a stop path', async (t) => {
  const f = await dockerSetup(t, { stopPaths: ['Dockerfile'] });
  await f.reconcile();
  await f.event(['Dockerfile', 'src/a.txt']);
  await f.reconcile();
  const st = (await f.get()).status!;
  assert.equal(st.failed?.reason, 'UpdateStopped');
  assert.equal(st.failed?.message, `Detected change to stop file ${JSON.stringify(path.join(f.dir, 'Dockerfile'))}`);
  assert.equal(f.updater.calls.length, 0);
});

test('a sync whose localPath does not exist shows in status; the other syncs go on', async (t) => {
  const f = await dockerSetup(t, {
    syncs: [
      { localPath: 'src', containerPath: '/app' },
      { localPath: 'scr', containerPath: '/typo' },
    ],
  });
  await f.reconcile();
  let st = (await f.get()).status!;
  const cond = st.conditions?.find((c) => c.type === 'SyncPathsFound');
  assert.equal(cond?.status, 'False');
  assert.equal(cond?.reason, 'SyncPathNotFound');
  assert.match(cond?.message ?? '', /sync localPath "scr" does not exist/);
  assert.equal(st.failed, undefined, 'not a failure: nothing to rebuild for');
  await f.steadyState();
  assert.equal(f.logs.filter((l) => l.message === 'LiveUpdate sync path not found').length, 1);

  await f.event(['src/a.txt']);
  await f.reconcile();
  assert.equal(f.updater.calls.length, 1, 'the existing sync still syncs');
  assert.equal(f.logs.filter((l) => l.message === 'LiveUpdate sync path not found').length, 1, 'logged once');

  await fsp.mkdir(path.join(f.dir, 'scr'));
  await f.write({ 'scr/x': 'X' });
  await f.event(['scr/x']);
  await f.reconcile();
  st = (await f.get()).status!;
  assert.equal(st.conditions, undefined, 'created: no more condition');
  assert.equal(st.failed, undefined);
});

test('a missing FileWatch shows in status, unlogged, and nothing is updated', async (t) => {
  const f = await newFixture(t);
  await f.dockerCompose('c1');
  await f.liveUpdate({ sources: [{ fileWatch: 'nope' }] });
  await f.reconcile();
  const st = (await f.get()).status!;
  assert.equal(st.failed?.reason, 'ObjectNotFound');
  assert.equal(st.failed?.message, 'filewatches.tilt.dev "nope" not found');
  assert.equal(f.logs.some((l) => l.level === 'warn'), false);
  assert.equal(f.updater.calls.length, 0);
});

test('a Docker Compose service without status yet is waited for, without a warning', async (t) => {
  const f = await newFixture(t);
  await f.fileWatch();
  await f.client.create({
    apiVersion: 'tilt.dev/v1alpha1',
    kind: 'DockerComposeService',
    metadata: { name: 'svc' },
    spec: { service: 'svc', project: { yaml: 'services: {}' } },
  });
  await f.write({ 'src/a.txt': 'A' });
  await f.liveUpdate();
  await f.reconcile();
  assert.equal((await f.get()).status!.failed?.message, 'no docker compose status');
  assert.deepEqual(f.logs.filter((l) => l.level === 'warn').map((l) => l.message), [], 'no warning in a healthy start');
  await f.dockerCompose('c1');
  await f.reconcile();
  assert.equal((await f.get()).status!.failed, undefined);
});
