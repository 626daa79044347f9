/**
 * The ferry CLI against a running daemon, and without one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFerryProcess, runFerry, type FerryProcess } from '../support/daemon.ts';
import { parseManifests } from '../../src/cli/manifests.ts';
import { threeWayPatch } from '../../src/cli/apply.ts';

const yaml = `apiVersion: tilt.dev/v1alpha1
kind: ImageMap
metadata: {name: app}
spec: {selector: app, matchExact: true}
---
{"apiVersion": "tilt.dev/v1alpha1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "1"}}
`;

describe('ferry CLI', () => {
  let ferry: FerryProcess;
  let dir: string;
  const ferryCmd = (args: string[], input?: string) => runFerry(['--data-dir', ferry.dataDir, ...args], { input });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-cli-'));
    fs.writeFileSync(path.join(dir, 'objs.yaml'), yaml);
    ferry = await startFerryProcess({ args: ['--storage', 'memory'] });
  });
  after(async () => {
    assert.equal(await ferry.stop(), 0, 'SIGTERM stops the daemon cleanly');
    assert.ok(fs.existsSync(ferry.kubeconfigPath), 'a stopped daemon keeps its kubeconfig, valid again at the next start');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('applies multi-document YAML and JSON, from a file and stdin, idempotently', async () => {
    const r = await ferryCmd(['apply', '-f', path.join(dir, 'objs.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imagemap.tilt.dev\/app created/);
    assert.match(r.stdout, /configmap.tilt.dev\/settings created/);
    const again = await ferryCmd(['apply', '-f', '-'], yaml);
    assert.match(again.stdout, /imagemap.tilt.dev\/app unchanged/);
    const edited = await ferryCmd(['apply', '-f', '-'], yaml.replace(', matchExact: true', ''));
    assert.match(edited.stdout, /imagemap.tilt.dev\/app configured/);
    const json = await ferryCmd(['get', 'im', 'app', '-o', 'json']);
    assert.equal(JSON.parse(json.stdout).spec.matchExact, undefined, 'a field removed from the file is removed from the object');
  });

  it('applies server-side', async () => {
    const r = await ferryCmd(['apply', '--server-side', '-f', path.join(dir, 'objs.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /serverside-applied/);
  });

  it('gets tables, wide, yaml, json and names; accepts plural, singular and short names', async () => {
    const table = await ferryCmd(['get', 'imagemaps']);
    assert.match(table.stdout.split('\n')[0], /^NAME\s+SELECTOR\s+IMAGE\s+AGE$/);
    const short = await ferryCmd(['get', 'im', '-o', 'name']);
    assert.equal(short.stdout.trim(), 'imagemap.tilt.dev/app');
    const wide = await ferryCmd(['get', 'imagemap', '-o', 'wide']);
    assert.match(wide.stdout.split('\n')[0], /BUILD START/);
    const y = await ferryCmd(['get', 'cm', 'settings', '-o', 'yaml']);
    assert.match(y.stdout, /data:\n {2}a: "1"/);
    const missing = await ferryCmd(['get', 'im', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not found/);
    const unknown = await ferryCmd(['get', 'pods']);
    assert.match(unknown.stderr, /doesn't have a resource type "pods"/);
  });

  it('describes and deletes', async () => {
    const d = await ferryCmd(['describe', 'imagemap', 'app']);
    assert.match(d.stdout, /Name:\s+app/);
    assert.match(d.stdout, /^Spec:\n {2}Match Exact:\s+true\n {2}Selector:\s+app$/m);
    const del = await ferryCmd(['delete', 'cm', 'settings']);
    assert.match(del.stdout, /configmap.tilt.dev "settings" deleted/);
    const byFile = await ferryCmd(['delete', '-f', path.join(dir, 'objs.yaml')]);
    assert.equal(byFile.code, 0, byFile.stderr);
    assert.match(byFile.stdout, /imagemap.tilt.dev "app" deleted/);
  });

  it('reports the server version', async () => {
    const v = await ferryCmd(['version']);
    assert.match(v.stdout, /Client Version: \d+\.\d+\.\d+/);
    assert.match(v.stdout, /Server Version: /);
  });

  it('says plainly when no daemon runs', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-none-'));
    const r = await runFerry(['--data-dir', empty, 'get', 'liveupdates']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ferry is not running/);
    fs.rmSync(empty, { recursive: true });
  });

  it('rejects bad manifests before sending anything', async () => {
    const r = await ferryCmd(['apply', '-f', '-'], 'kind: [oops');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error parsing STDIN/);
  });
});

describe('client-side apply patch', () => {
  it('deletes only what the last applied configuration had', () => {
    const last = { spec: { a: 1, b: 2 } };
    const desired = { spec: { a: 1 } };
    const live = { spec: { a: 1, b: 2, c: 3 } };
    assert.deepEqual(threeWayPatch(last, desired, live), { spec: { b: null } });
  });
  it('parses List documents', () => {
    const m = parseManifests('apiVersion: v1\nkind: List\nitems:\n- {apiVersion: tilt.dev/v1alpha1, kind: ConfigMap, metadata: {name: x}}\n', 't');
    assert.equal(m.length, 1);
    assert.equal(m[0].object.metadata.name, 'x');
  });
});
