// End to end: the LiveUpdate controller under a real Manager and API server, updating real
// Docker containers. FileWatch status is written by the test, as the FileWatch controller would.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type Docker from 'dockerode';
import type { FileWatch, IgnoreDef, LiveUpdate, LiveUpdateSpec } from '../../../src/apis/index.ts';
import { cleanupContainers, defaultCmd, execIn, readFileIn, runContainer, statIn, testImages, testLabel } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';
import { startDockerLiveUpdate } from './fixture.ts';

after(cleanupContainers);

/** start runs the LiveUpdate `lu` on Docker (see startDockerLiveUpdate) with a first container of `image`. */
const start = (t: TestContext, image: string, spec: Partial<LiveUpdateSpec> = {}, ignores?: IgnoreDef[]) =>
  startDockerLiveUpdate(t, { dirPrefix: 'ferry-lu-e2e-', spec, ignores, first: async (docker) => (await runContainer(docker, { image })).id });

const exists = async (docker: Docker, id: string, p: string) => (await execIn(docker, id, ['ls', '-d', p])).exitCode === 0;

test('docker: files and directories are created, changed, deleted and renamed in the container, owned by its user', async (t) => {
  const e = await start(t, testImages.busyboxUser);
  if (!e) return;
  const { docker, id } = e;
  await e.write({ 'src/a.txt': 'one', 'src/dir/x.txt': 'x' });
  await fsp.symlink('a.txt', path.join(e.dir, 'src/link'));
  await e.event(['src/a.txt', 'src/dir', 'src/link']);
  await waitFor(() => readFileIn(docker, id, '/app/src/dir/x.txt').then((s) => s === 'x'), { timeoutMs: 20_000, message: 'x.txt' });
  assert.equal(await readFileIn(docker, id, '/app/src/a.txt'), 'one');
  assert.equal((await statIn(docker, id, '/app/src/a.txt')).uid, 1000);
  assert.equal((await statIn(docker, id, '/app/src/link')).type, 'symlink');
  assert.equal((await execIn(docker, id, ['cat', '/app/src/link'])).stdout, 'one');

  await e.write({ 'src/a.txt': 'two' });
  await fsp.rename(path.join(e.dir, 'src/dir'), path.join(e.dir, 'src/moved'));
  await e.event(['src/a.txt', 'src/dir', 'src/moved']);
  await waitFor(() => exists(docker, id, '/app/src/moved/x.txt'), { timeoutMs: 20_000, message: 'the renamed directory' });
  assert.equal(await exists(docker, id, '/app/src/dir'), false);
  assert.equal(await readFileIn(docker, id, '/app/src/a.txt'), 'two');

  await fsp.rm(path.join(e.dir, 'src/a.txt'));
  await e.event(['src/a.txt']);
  await waitFor(async () => !(await exists(docker, id, '/app/src/a.txt')), { timeoutMs: 20_000, message: 'the deletion' });
  const s = await e.status();
  assert.equal(s?.failed, undefined);
  assert.ok(s?.containers?.[0]?.lastFileTimeSynced);
});

test('docker: initial sync copies the tree except ignored files, and works without tar in the image', async (t) => {
  const e = await start(t, testImages.notar, { initialSync: {} });
  if (!e) return;
  // The LiveUpdate was created before the files: write them, then replace the container.
  await e.write({ 'src/keep.txt': 'keep', 'src/secret.env': 'SENTINEL', 'src/node_modules/m.js': 'SENTINEL' });
  const fw = (await e.client.get<FileWatch>('FileWatch', 'fw'))!;
  await e.client.update<FileWatch>({ ...fw, spec: { ...fw.spec!, ignores: [{ basePath: path.join(e.dir, 'src'), patterns: ['*.env', 'node_modules'] }] } });
  const c2 = await runContainer(e.docker, { image: testImages.notar });
  await e.container(c2.id);
  await waitFor(() => readFileIn(e.docker, c2.id, '/app/src/keep.txt').then((s) => s === 'keep'), { timeoutMs: 20_000, message: 'initial sync' });
  await assert.rejects(readFileIn(e.docker, c2.id, '/app/src/secret.env'));
  await assert.rejects(readFileIn(e.docker, c2.id, '/app/src/node_modules/m.js'));
});

test('docker: a stop path gives UpdateStopped, and a newer build clears it', async (t) => {
  const e = await start(t, testImages.busybox, { stopPaths: ['src/package.json'] });
  if (!e) return;
  await e.write({ 'src/package.json': '{}', 'src/a.txt': 'a' });
  await e.event(['src/package.json']);
  const s = await e.waitStatus((s) => !!s.failed, 'UpdateStopped');
  assert.equal(s.failed?.reason, 'UpdateStopped');
  assert.equal(s.failed?.message, `Detected change to stop file ${JSON.stringify(path.join(e.dir, 'src/package.json'))}`);
  await e.event(['src/a.txt']);
  await e.imageBuilt(new Date(Date.now() - 5));
  await e.waitStatus((s) => !s.failed, 'the failure to clear');
  await e.write({ 'src/a.txt': 'after build' });
  await e.event(['src/a.txt']);
  await waitFor(() => readFileIn(e.docker, e.id, '/app/src/a.txt').then((s) => s === 'after build'), { timeoutMs: 20_000, message: 'sync after build' });
});

test('docker: triggered execs run after the copy, and a failing exec is lastExecError', async (t) => {
  const e = await start(t, testImages.busybox, {
    execs: [
      { args: ['sh', '-c', 'cat /app/src/a.txt > /app/copy'], triggerPaths: ['src/a.txt'] },
      { args: ['sh', '-c', 'exit 4'], triggerPaths: ['src/fail'] },
    ],
  });
  if (!e) return;
  await e.write({ 'src/a.txt': 'hello' });
  await e.event(['src/a.txt']);
  await waitFor(() => readFileIn(e.docker, e.id, '/app/copy').then((s) => s === 'hello'), { timeoutMs: 20_000, message: 'the exec' });
  await e.write({ 'src/fail': '' });
  await e.event(['src/fail']);
  const s = await e.waitStatus((s) => !!s.containers?.[0]?.lastExecError, 'lastExecError');
  assert.equal(s.containers![0]!.lastExecError, `executing on container ${e.id.slice(0, 10)}: command "exit 4" failed with exit code: 4`);
  assert.equal(s.failed, undefined);
  assert.ok(await exists(e.docker, e.id, '/app/src/fail'), 'the file is synced anyway');
});

test('docker: a read-only container fails with a clear UpdateFailed; a replaced container is resynced', async (t) => {
  const e = await start(t, testImages.busybox);
  if (!e) return;
  const ro = await e.docker.createContainer({ Image: testImages.busybox, Cmd: defaultCmd, Labels: { [testLabel]: '1' }, HostConfig: { ReadonlyRootfs: true } });
  t.after(() => ro.remove({ force: true }));
  await ro.start();
  await e.container(ro.id);
  await e.write({ 'src/a.txt': 'a' });
  await e.event(['src/a.txt']);
  const s = await e.waitStatus((s) => !!s.failed, 'UpdateFailed');
  assert.equal(s.failed?.reason, 'UpdateFailed');
  assert.match(s.failed!.message!, /^Updating container .*: copying changed files: .*read-only/);

  await e.container(e.id);
  await waitFor(() => readFileIn(e.docker, e.id, '/app/src/a.txt').then((x) => x === 'a'), { timeoutMs: 20_000, message: 'resync into the new container' });
  await e.waitStatus((s) => !s.failed && s.containers?.[0]?.containerID === e.id, 'a healthy status');
});
