/**
 * The stock kubectl against a running `ferry serve`: the kubectl on PATH, and the old kubectl
 * (Debian's 1.20) that scripts/provision.sh unpacks into FERRY_TEST_OLD_KUBECTL. kubectl before
 * 1.27 reads only OpenAPI v2 (explain, client-side validation); newer ones read v3.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FerryClient } from '../../src/client/client.ts';
import { loadKubeConfig } from '../../src/client/kubeconfig.ts';
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

/** The kubectl binaries to test, one per client version. */
async function kubectls(): Promise<Array<{ bin: string; minor: number; version: string }>> {
  const old = process.env.FERRY_TEST_OLD_KUBECTL;
  if (process.env.CI === 'true' && !(old && fs.existsSync(old))) {
    throw new Error(`FERRY_TEST_OLD_KUBECTL (${old ?? 'unset'}) is not a kubectl: run the tests through npm test, which provisions it`);
  }
  const found = new Map<string, { bin: string; minor: number; version: string }>();
  for (const bin of ['kubectl', ...(old && fs.existsSync(old) ? [old] : [])]) {
    const r = await runCommand(bin, ['version', '--client', '-o', 'json']);
    assert.equal(r.code, 0, `${bin} version: ${r.stderr}`);
    const v = JSON.parse(r.stdout).clientVersion as { minor: string; gitVersion: string };
    found.set(v.gitVersion, { bin, minor: parseInt(v.minor, 10), version: v.gitVersion });
  }
  return [...found.values()];
}

for (const { bin, minor, version } of await kubectls()) {
  describe(`kubectl ${version} against ferry serve`, () => {
    let ferry: FerryProcess;
    let client: FerryClient;
    let dir: string;
    const kubectl = (args: string[], env: Record<string, string> = {}) =>
      runCommand(bin, ['--kubeconfig', ferry.kubeconfigPath, ...args], { env: { HOME: dir, ...env } });
    const ok = async (args: string[], env?: Record<string, string>) => {
      const r = await kubectl(args, env);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    };
    /** setImage writes an ImageMap's status, as its builder would: kubectl 1.24 added --subresource. */
    const setImage = async (image: string) => {
      if (minor >= 24) await ok(['patch', 'im', 'img', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { image } })]);
      else await client.patchStatus('ImageMap', 'img', { status: { image } });
    };

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-kubectl-'));
      fs.writeFileSync(path.join(dir, 'app.yaml'), manifest);
      ferry = await startFerryProcess({ args: ['--storage', 'memory'] });
      client = new FerryClient(loadKubeConfig(ferry.kubeconfigPath));
    });
    after(async () => {
      client.close();
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

    it('diffs and applies with --dry-run=server, storing nothing', async () => {
      const rv = await ok(['get', 'fw', 'src', '-o', 'jsonpath={.metadata.resourceVersion}']);
      const same = await kubectl(['diff', '-f', path.join(dir, 'app.yaml')]);
      assert.equal(same.code, 0, same.stderr);
      assert.equal(same.stdout, '');
      const changed = path.join(dir, 'changed.yaml');
      fs.writeFileSync(changed, manifest.replace('watchedPaths: [/tmp/app]', 'watchedPaths: [/tmp/changed]').replace('name: img', 'name: img-new'));
      const diff = await kubectl(['diff', '-f', changed]);
      assert.equal(diff.code, 1, diff.stderr);
      assert.match(diff.stdout, /^-  - \/tmp\/app$/m);
      assert.match(diff.stdout, /^\+  - \/tmp\/changed$/m);
      assert.match(diff.stdout, /^\+  name: img-new$/m);
      const dry = await ok(['apply', '--dry-run=server', '-f', changed]);
      assert.match(dry, /filewatch.tilt.dev\/src configured \(server dry run\)/);
      assert.match(dry, /imagemap.tilt.dev\/img-new created \(server dry run\)/);
      assert.equal(await ok(['get', 'fw', 'src', '-o', 'jsonpath={.metadata.resourceVersion}']), rv);
      assert.equal((await kubectl(['get', 'im', 'img-new'])).code, 1, 'a dry run creates nothing');
    });

    it('applies server-side with field ownership: again is a no-op, another manager conflicts unless forced', async () => {
      const file = path.join(dir, 'app.yaml');
      const paths = () => ok(['get', 'fw', 'src', '-o', 'jsonpath={.spec.watchedPaths}']);
      const r = await ok(['apply', '--server-side', '-f', file]);
      assert.match(r, /filewatch.tilt.dev\/src serverside-applied/);
      const rv = await ok(['get', 'fw', 'src', '-o', 'jsonpath={.metadata.resourceVersion}']);
      await ok(['apply', '--server-side', '-f', file]);
      assert.equal(await ok(['get', 'fw', 'src', '-o', 'jsonpath={.metadata.resourceVersion}']), rv, 'applying the same configuration again changes nothing');
      assert.match(await ok(['get', 'fw', 'src', '-o', 'jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}']), /(^| )kubectl\/Apply /);

      await ok(['patch', 'fw', 'src', '--type=merge', '-p', '{"spec":{"watchedPaths":["/tmp/patched"]}}']);
      const conflict = await kubectl(['apply', '--server-side', '-f', file]);
      assert.notEqual(conflict.code, 0);
      assert.match(conflict.stderr, /Apply failed with 1 conflict: conflict with "kubectl-patch" using tilt.dev\/v1alpha1: \.spec\.watchedPaths/);
      assert.match(await paths(), /\/tmp\/patched/);
      await ok(['apply', '--server-side', '--force-conflicts', '-f', file]);
      assert.match(await paths(), /\/tmp\/app/);

      // Client-side apply still works on the object server-side apply manages.
      const edited = path.join(dir, 'edited.yaml');
      fs.writeFileSync(edited, manifest.replace('watchedPaths: [/tmp/app]', 'watchedPaths: [/tmp/client-side]'));
      assert.match(await ok(['apply', '-f', edited]), /filewatch.tilt.dev\/src configured/);
      assert.match(await paths(), /\/tmp\/client-side/);
      assert.match(await ok(['apply', '-f', file]), /filewatch.tilt.dev\/src configured/);
      assert.match(await paths(), /\/tmp\/app/);
    });

    it('refuses unknown fields, wrong types and missing fields before anything is stored', async () => {
      const bad = (name: string, spec: string) => {
        const file = path.join(dir, `${name}.yaml`);
        fs.writeFileSync(file, `apiVersion: tilt.dev/v1alpha1\nkind: FileWatch\nmetadata: {name: ${name}}\n${spec}\n`);
        return kubectl(['apply', '-f', file]);
      };
      const unknown = await bad('unknown', 'spec: {watchedPaths: [/tmp], bogus: 1}');
      const wrongType = await bad('wrong-type', 'spec: {watchedPaths: 5}');
      const missing = await bad('missing', 'spec: {}');
      for (const r of [unknown, wrongType, missing]) assert.notEqual(r.code, 0, r.stdout);
      if (minor < 27) {
        // Validated by kubectl itself, against the OpenAPI v2 definitions.
        assert.match(unknown.stderr, /ValidationError\(FileWatch\.spec\): unknown field "bogus" in dev\.tilt\.core\.v1alpha1\.FileWatch\.spec/);
        assert.match(wrongType.stderr, /ValidationError\(FileWatch\.spec\.watchedPaths\): invalid type .* got "integer", expected "array"/);
        assert.match(missing.stderr, /missing required field "watchedPaths"/);
      } else {
        // kubectl leaves validation to the server (fieldValidation=Strict).
        assert.match(unknown.stderr, /strict decoding error: unknown field "spec\.bogus"/);
        assert.match(wrongType.stderr, /spec\.watchedPaths in body must be of type array/);
        assert.match(missing.stderr, /spec\.watchedPaths: Required value/);
      }
      const left = await kubectl(['get', 'fw', 'unknown', 'wrong-type', 'missing']);
      assert.equal((left.stderr.match(/\(NotFound\)/g) ?? []).length, 3, left.stderr);
    });

    it('gets tables and YAML', async () => {
      const table = await ok(['get', 'filewatches']);
      assert.match(table.split('\n')[0], /^NAME\s+PATHS\s+LAST EVENT\s+AGE$/);
      assert.match(table, /^src\s+\/tmp\/app/m);
      const yaml = await ok(['get', 'liveupdate', 'app', '-o', 'yaml']);
      assert.match(yaml, /containerPath: \/app\/src/);
      const wide = await ok(['get', 'liveupdates', 'app', '-o', 'wide']);
      assert.match(wide.split('\n')[0], /MESSAGE/);
    });

    it('describes and explains', async () => {
      const d = await ok(['describe', 'liveupdate', 'app']);
      assert.match(d, /Name:\s+app/);
      assert.match(d, /Container Path:\s+\/app\/src/);
      // Before 1.27 explain reads OpenAPI v2; from 1.27 v3, and v2 on request.
      const outputs = minor >= 27 ? [[], ['--output=plaintext-openapiv2']] : [[]];
      for (const output of outputs) {
        const e = await ok(['explain', 'liveupdate.spec.syncs', ...output]);
        assert.match(e, /containerPath\s+<string> -required-/);
        assert.match(e, /An absolute path inside the container/);
        const port = await ok(['explain', 'cmd.spec.readinessProbe.handler.httpGet.port', ...output]);
        assert.match(port, /Number or name of the port to access/);
        const meta = await ok(['explain', 'filewatch.metadata.labels', ...output]);
        assert.match(meta, /map\[string\]string/);
      }
    });

    it('patches with merge, JSON and strategic merge patches', async () => {
      await ok(['patch', 'fw', 'src', '--type=merge', '-p', '{"spec":{"watchedPaths":["/tmp/a","/tmp/b"]}}']);
      await ok(['patch', 'fw', 'src', '--type=json', '-p', '[{"op":"replace","path":"/spec/watchedPaths/1","value":"/tmp/c"}]']);
      await ok(['patch', 'fw', 'src', '-p', '{"metadata":{"labels":{"team":"x"}}}']);
      assert.equal(await ok(['get', 'fw', 'src', '-o', 'jsonpath={.spec.watchedPaths[*]} {.metadata.labels.team}']), '/tmp/a /tmp/c x');
      // An ImageMap's status is written by whoever builds its image; nothing else touches it here.
      await setImage('app:boom');
      assert.equal(await ok(['get', 'im', 'img', '-o', 'jsonpath={.status.image}']), 'app:boom');
    });

    it('edits with KUBE_EDITOR and waits', async () => {
      await ok(['edit', 'fw', 'src'], { KUBE_EDITOR: 'sed -i s#/tmp/c#/tmp/edited#' });
      assert.match(await ok(['get', 'fw', 'src', '-o', 'jsonpath={.spec.watchedPaths}']), /\/tmp\/edited/);
      if (minor >= 23) {
        const waiting = kubectl(['wait', '--for=jsonpath={.status.image}=app:fixed', 'imagemap/img', '--timeout=30s']);
        await new Promise((r) => setTimeout(r, 500));
        await setImage('app:fixed');
        const w = await waiting;
        assert.equal(w.code, 0, w.stderr);
        assert.match(w.stdout, /condition met/);
      } else {
        // --for=jsonpath came in 1.23; older kubectl can wait for a deletion.
        await client.create({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'doomed' }, spec: { watchedPaths: ['/tmp'] } });
        const waiting = kubectl(['wait', '--for=delete', 'filewatch/doomed', '--timeout=30s']);
        await new Promise((r) => setTimeout(r, 500));
        await client.delete('FileWatch', 'doomed');
        const w = await waiting;
        assert.equal(w.code, 0, w.stderr);
        assert.match(w.stdout, /doomed condition met|deleted/);
      }
    });

    it('watches with get -w', async () => {
      const p = spawn(bin, ['--kubeconfig', ferry.kubeconfigPath, 'get', 'fw', '-w'], { env: { ...process.env, HOME: dir } });
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
}
