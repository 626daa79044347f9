/**
 * `ferry apply` refuses unknown and misplaced fields, as kubectl does with strict field
 * validation, naming the field and exiting non-zero, and leaves the objects as they were.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFerryProcess, runFerry, type FerryProcess } from '../support/daemon.ts';
import { FerryClient } from '../../src/client/client.ts';
import { loadKubeConfig } from '../../src/client/kubeconfig.ts';

const fileWatch = (name: string, specExtra = '', topExtra = '') => `apiVersion: tilt.dev/v1alpha1
kind: FileWatch
metadata:
  name: ${name}
spec:
  watchedPaths: [/tmp/ferry-apply-strict]
${specExtra}${topExtra}`;

const liveUpdate = `apiVersion: tilt.dev/v1alpha1
kind: LiveUpdate
metadata:
  name: lu-typo
spec:
  basePath: /tmp/ferry-apply-strict
  selector:
    dockerCompose:
      service: web
  syncs:
  - localPath: src
    containerPath: /app/src
  stopPath:
  - package.json
`;

describe('ferry apply with strict field validation', () => {
  let ferry: FerryProcess;
  let client: FerryClient;
  const ferryCmd = (args: string[], input?: string) => runFerry(['--data-dir', ferry.dataDir, ...args], { input });
  const getJson = (kind: string, name: string) => client.get(kind, name);

  before(async () => {
    ferry = await startFerryProcess({ args: ['--storage', 'memory'] });
    client = new FerryClient(loadKubeConfig(ferry.kubeconfigPath));
  });
  after(async () => {
    client.close();
    await ferry.stop();
  });

  it('refuses a misspelled field on create, naming it, and creates nothing', async () => {
    const r = await ferryCmd(['apply', '-f', '-'], liveUpdate);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /strict decoding error: unknown field "spec\.stopPath"/);
    assert.match(r.stderr, /LiveUpdate\/lu-typo/);
    assert.equal(await getJson('LiveUpdate', 'lu-typo'), undefined);
  });

  it('refuses a mis-indented field, and still applies the good documents of the same file', async () => {
    const misplaced = fileWatch('fw-misplaced', '', 'ignores:\n- basePath: /tmp/ferry-apply-strict/node_modules\n');
    const nested = fileWatch('fw-nested', '  ignores:\n  - basePath: /tmp/x\n    pattern: ["*.log"]\n');
    const r = await ferryCmd(['apply', '-f', '-'], `${misplaced}---\n${nested}---\n${fileWatch('fw-good')}`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown field "ignores"/);
    assert.match(r.stderr, /unknown field "spec\.ignores\[0\]\.pattern"/);
    assert.match(r.stdout, /filewatch.tilt.dev\/fw-good created/);
    assert.equal(await getJson('FileWatch', 'fw-misplaced'), undefined);
    assert.equal(await getJson('FileWatch', 'fw-nested'), undefined);
  });

  it('refuses an unknown field when it would be patched into an existing object', async () => {
    assert.equal((await ferryCmd(['apply', '-f', '-'], fileWatch('fw-patched'))).code, 0);
    const before = await getJson('FileWatch', 'fw-patched');
    const r = await ferryCmd(['apply', '-f', '-'], fileWatch('fw-patched', '  stopPaths: [a]\n'));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown field "spec\.stopPaths"/);
    const afterApply = await getJson('FileWatch', 'fw-patched');
    assert.equal(afterApply?.metadata.resourceVersion, before?.metadata.resourceVersion, 'the object is unchanged');
  });

  it('refuses unknown fields with --server-side and with --dry-run', async () => {
    const ssa = await ferryCmd(['apply', '--server-side', '-f', '-'], liveUpdate);
    assert.notEqual(ssa.code, 0);
    assert.match(ssa.stderr, /unknown field "spec\.stopPath"/);
    const dry = await ferryCmd(['apply', '--dry-run', '-f', '-'], liveUpdate);
    assert.notEqual(dry.code, 0);
    assert.match(dry.stderr, /unknown field "spec\.stopPath"/);
    assert.equal(await getJson('LiveUpdate', 'lu-typo'), undefined);
    const fixed = await ferryCmd(['apply', '--dry-run', '-f', '-'], liveUpdate.replace('stopPath:', 'stopPaths:'));
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stdout, /liveupdate.tilt.dev\/lu-typo created \(server dry run\)/);
    assert.equal(await getJson('LiveUpdate', 'lu-typo'), undefined, 'a dry run stores nothing');
  });

  it('records a client-side apply, create and patch, under the field manager "ferry"', async () => {
    assert.equal((await ferryCmd(['apply', '-f', '-'], fileWatch('fw-manager'))).code, 0);
    const r = await ferryCmd(['apply', '-f', '-'], fileWatch('fw-manager', '  ignores:\n  - basePath: /tmp/x\n'));
    assert.equal(r.code, 0, r.stderr);
    const live = await getJson('FileWatch', 'fw-manager');
    const managers = (live?.metadata.managedFields ?? []).map((f) => (f as { manager?: string }).manager);
    assert.ok(managers.length > 0, 'managedFields are recorded');
    assert.deepEqual([...new Set(managers)], ['ferry']);
  });
});
