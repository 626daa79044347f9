import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { FileWatch, KubeObject } from '../../../src/apis/index.ts';
import { setup as setupFileWatch } from '../../../controllers/filewatch/index.ts';
import { waitFor } from '../../support/wait.ts';
import { newFixture } from './fixture.ts';

/** The example from issue 10, unchanged. */
const helloWorldYaml = `apiVersion: tilt.dev/v1alpha1
kind: Cmd
metadata: {name: hello-world}
spec:
  args: ["echo", "hello world"]
  restartOn: {fileWatches: [tiltfile]}
---
apiVersion: tilt.dev/v1alpha1
kind: FileWatch
metadata: {name: tiltfile}
spec: {watchedPaths: [Tiltfile]}
`;

test('hello world prints again each time the FileWatch records a change', async (t) => {
  const f = await newFixture(t);
  for (const doc of YAML.parseAllDocuments(helloWorldYaml)) await f.create(doc.toJS() as KubeObject);
  const count = () => f.lines('hello-world').filter((l) => l === 'hello world').length;

  await waitFor(() => count() === 1, { message: 'first hello world' });
  await f.waitStatus('hello-world', (s) => s.terminated?.exitCode === 0, 'exited 0');

  for (let n = 2; n <= 3; n++) {
    const before = (await f.get('hello-world'))!.status!.terminated!.pid;
    await f.fileEvent('tiltfile');
    await waitFor(() => count() === n, { message: `hello world #${n}` });
    const c = await f.waitStatus('hello-world', (s) => s.terminated?.exitCode === 0 && s.terminated.pid !== before, 'exited 0 again');
    assert.equal(c.status!.terminated!.reason, undefined);
  }
  assert.equal(count(), 3);
});

test('hello world end to end: the FileWatch controller sees the Tiltfile change, the Cmd prints again', async (t) => {
  const f = await newFixture(t, { extra: (mgr) => setupFileWatch(mgr) });
  // Relative paths resolve against the working directory of the ferry process: run in the fixture's.
  const orig = process.cwd();
  process.chdir(f.dir);
  t.after(() => process.chdir(orig));
  // The Tiltfile is written only once the FileWatch watches: a file written just before a FileWatch
  // is created counts as changed (the design's "changed since creation"), which would restart the
  // Cmd once more as soon as the watcher starts.

  for (const doc of YAML.parseAllDocuments(helloWorldYaml)) await f.create(doc.toJS() as KubeObject);
  const count = () => f.lines('hello-world').filter((l) => l === 'hello world').length;
  await waitFor(async () => (await f.client.get<FileWatch>('FileWatch', 'tiltfile'))?.status?.monitorStartTime, { message: 'FileWatch monitoring' });
  await f.waitStatus('hello-world', (s) => s.terminated?.exitCode === 0, 'exited 0');
  assert.equal(count(), 1);

  for (let n = 2; n <= 3; n++) {
    fs.writeFileSync(path.join(f.dir, 'Tiltfile'), `v${n}\n`);
    await waitFor(() => count() === n, { message: `hello world #${n}` });
  }
  const fw = (await f.client.get<FileWatch>('FileWatch', 'tiltfile'))!;
  assert.ok((fw.status?.fileEvents ?? []).every((e) => e.seenFiles.includes(path.join(f.dir, 'Tiltfile'))));
});
