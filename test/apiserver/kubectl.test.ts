/**
 * The stock kubectl against a running `ferry serve`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFerryProcess, runCommand, type FerryProcess } from '../support/daemon.ts';
import { waitFor } from '../support/wait.ts';

const manifest = `apiVersion: tilt.dev/v1alpha1
kind: FileWatch
metadata:
  name: src
  labels: {app: demo}
spec:
  watchedPaths: [/tmp/app]
---
apiVersion: tilt.dev/v1alpha1
kind: LiveUpdate
metadata:
  name: app
spec:
  basePath: /tmp/app
  selector: {dockerCompose: {service: app}}
  sources: [{fileWatch: src}]
  syncs: [{localPath: src, containerPath: /app/src}]
---
apiVersion: tilt.dev/v1alpha1
kind: ImageMap
metadata:
  name: img
spec:
  selector: app
`;

describe('kubectl against ferry serve', () => {
  let ferry: FerryProcess;
  let dir: string;
  const kubectl = (args: string[], env: Record<string, string> = {}) =>
    runCommand('kubectl', ['--kubeconfig', ferry.kubeconfigPath, ...args], { env: { HOME: dir, ...env } });
  const ok = async (args: string[], env?: Record<string, string>) => {
    const r = await kubectl(args, env);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-kubectl-'));
    fs.writeFileSync(path.join(dir, 'app.yaml'), manifest);
    ferry = await startFerryProcess({ args: ['--storage', 'memory'] });
  });
  after(async () => {
    await ferry.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('applies, and applying again changes nothing', async () => {
    const first = await ok(['apply', '-f', path.join(dir, 'app.yaml')]);
    assert.match(first, /filewatch.tilt.dev\/src created/);
    assert.match(first, /liveupdate.tilt.dev\/app created/);
    const rv = await ok(['get', 'fw', 'src', '-o', 'jsonpath={.metadata.resourceVersion}']);
    const second = await ok(['apply', '-f', path.join(dir, 'app.yaml')]);
    assert.match(second, /filewatch.tilt.dev\/src unchanged/);
    assert.equal(await ok(['get', 'fw', 'src', '-o', 'jsonpath={.metadata.resourceVersion}']), rv);
  });

  it('applies server-side', async () => {
    const r = await ok(['apply', '--server-side', '-f', path.join(dir, 'app.yaml')]);
    assert.match(r, /filewatch.tilt.dev\/src serverside-applied/);
  });

  it('gets tables and YAML', async () => {
    const table = await ok(['get', 'filewatches']);
    assert.match(table.split('\n')[0], /^NAME\s+PATHS\s+LAST EVENT\s+AGE$/);
    assert.match(table, /^src\s+\/tmp\/app/m);
    const yaml = await ok(['get', 'liveupdate', 'app', '-o', 'yaml']);
    assert.match(yaml, /containerPath: \/app\/src/);
    const wide = await ok(['get', 'lu', 'app', '-o', 'wide'].map((a) => (a === 'lu' ? 'liveupdates' : a)));
    assert.match(wide.split('\n')[0], /MESSAGE/);
  });

  it('describes and explains', async () => {
    const d = await ok(['describe', 'liveupdate', 'app']);
    assert.match(d, /Name:\s+app/);
    assert.match(d, /Container Path:\s+\/app\/src/);
    const e = await ok(['explain', 'liveupdate.spec.syncs']);
    assert.match(e, /containerPath\s+<string> -required-/);
    assert.match(e, /An absolute path inside the container/);
  });

  it('patches with merge, JSON and strategic merge patches', async () => {
    await ok(['patch', 'fw', 'src', '--type=merge', '-p', '{"spec":{"watchedPaths":["/tmp/a","/tmp/b"]}}']);
    await ok(['patch', 'fw', 'src', '--type=json', '-p', '[{"op":"replace","path":"/spec/watchedPaths/1","value":"/tmp/c"}]']);
    await ok(['patch', 'fw', 'src', '-p', '{"metadata":{"labels":{"team":"x"}}}']);
    assert.equal(await ok(['get', 'fw', 'src', '-o', 'jsonpath={.spec.watchedPaths[*]} {.metadata.labels.team}']), '/tmp/a /tmp/c x');
    // An ImageMap's status is written by whoever builds its image; nothing else touches it here.
    await ok(['patch', 'im', 'img', '--subresource=status', '--type=merge', '-p', '{"status":{"image":"app:boom"}}']);
    assert.equal(await ok(['get', 'im', 'img', '-o', 'jsonpath={.status.image}']), 'app:boom');
  });

  it('edits with KUBE_EDITOR and waits for a jsonpath', async () => {
    await ok(['edit', 'fw', 'src'], { KUBE_EDITOR: 'sed -i s#/tmp/c#/tmp/edited#' });
    assert.match(await ok(['get', 'fw', 'src', '-o', 'jsonpath={.spec.watchedPaths}']), /\/tmp\/edited/);
    const waiting = kubectl(['wait', '--for=jsonpath={.status.image}=app:fixed', 'imagemap/img', '--timeout=30s']);
    await new Promise((r) => setTimeout(r, 500));
    await ok(['patch', 'im', 'img', '--subresource=status', '--type=merge', '-p', '{"status":{"image":"app:fixed"}}']);
    const w = await waiting;
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /condition met/);
  });

  it('watches with get -w', async () => {
    const p = spawn('kubectl', ['--kubeconfig', ferry.kubeconfigPath, 'get', 'fw', '-w'], { env: { ...process.env, HOME: dir } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    try {
      await waitFor(() => out.includes('src'));
      await ok(['patch', 'fw', 'src', '--type=merge', '-p', '{"spec":{"watchedPaths":["/tmp/watched"]}}']);
      await waitFor(() => out.includes('/tmp/watched'));
    } finally {
      p.kill();
    }
  });

  it('deletes by name and with -f', async () => {
    assert.match(await ok(['delete', 'liveupdate', 'app']), /liveupdate.tilt.dev "app" deleted/);
    await ok(['apply', '-f', path.join(dir, 'app.yaml')]);
    const r = await ok(['delete', '-f', path.join(dir, 'app.yaml')]);
    assert.match(r, /filewatch.tilt.dev "src" deleted/);
    const left = await kubectl(['get', 'fw,liveupdates']);
    assert.match(left.stderr + left.stdout, /No resources found/);
  });
});
