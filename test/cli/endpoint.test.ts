/**
 * A stable endpoint: kubectl keeps working across a daemon restart (the port, CA and token stay,
 * the kubeconfig is kept), `ferry kubeconfig --merge` adds a ferry context to the user's own
 * kubeconfig without touching the rest, and a busy port is said plainly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { runCommand, runFerry, startFerryProcess, type FerryProcess } from '../support/daemon.ts';

const fw = `apiVersion: tilt.dev/v1alpha1
kind: FileWatch
metadata: {name: kept}
spec: {watchedPaths: [/tmp]}
`;

const otherKubeconfig = `apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster: {server: "https://dev.example:6443"}
users:
- name: dev
  user: {token: dev-token}
contexts:
- name: dev
  context: {cluster: dev, user: dev}
- name: staging
  context: {cluster: dev, user: dev, namespace: staging}
`;

/** freePort is a port nothing listens on (free when asked). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const modeOf = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

describe('a stable endpoint', () => {
  let dir: string;
  let dataDir: string;
  let port: number;
  let ferry: FerryProcess | undefined;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-endpoint-'));
    dataDir = path.join(dir, 'data');
    port = await freePort();
  });
  after(async () => {
    await ferry?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl and a merged context keep working after a restart', async () => {
    ferry = await startFerryProcess({ dataDir, args: ['--port', String(port)] });
    const kubeconfig = path.join(dataDir, 'kubeconfig');
    const before = fs.readFileSync(kubeconfig, 'utf8');
    assert.match(before, new RegExp(`server: https://127.0.0.1:${port}`));
    const applied = await runCommand('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], { input: fw });
    assert.equal(applied.code, 0, applied.stderr);

    const mine = path.join(dir, 'kube', 'config');
    fs.mkdirSync(path.dirname(mine));
    fs.writeFileSync(mine, otherKubeconfig);
    const merged = await runFerry(['--data-dir', dataDir, 'kubeconfig', '--merge', '--kubeconfig-path', mine]);
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(merged.stdout, /Added context "ferry"/);
    assert.match(merged.stdout, /current context still "dev"/);

    assert.equal(await ferry.stop(), 0);
    ferry = undefined;
    assert.equal(fs.readFileSync(kubeconfig, 'utf8'), before, 'the kubeconfig stays after a stop');
    const down = await runFerry(['--data-dir', dataDir, 'get', 'filewatches']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, new RegExp(`ferry is not running at 127.0.0.1:${port} \\(connection refused\\)`));

    ferry = await startFerryProcess({ dataDir, args: ['--port', String(port)] });
    assert.equal(fs.readFileSync(kubeconfig, 'utf8'), before, 'same port, CA and token after a restart');
    const again = await runCommand('kubectl', ['--kubeconfig', kubeconfig, 'get', 'filewatches', '-o', 'name']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), 'filewatch.tilt.dev/kept');
    const viaContext = await runCommand('kubectl', ['--kubeconfig', mine, '--context', 'ferry', 'get', 'filewatches', '-o', 'name']);
    assert.equal(viaContext.code, 0, viaContext.stderr);
    assert.equal(viaContext.stdout.trim(), 'filewatch.tilt.dev/kept');
  });

  it('merges into a kubeconfig without touching its other entries, atomically and privately', async () => {
    assert.ok(ferry, 'the daemon of the test before runs');
    const target = path.join(dir, 'merge-into');
    fs.writeFileSync(target, otherKubeconfig, { mode: 0o644 });
    const r = await runFerry(['--data-dir', dataDir, 'kubeconfig', '--merge', '--kubeconfig-path', target]);
    assert.equal(r.code, 0, r.stderr);
    const doc = YAML.parse(fs.readFileSync(target, 'utf8'));
    assert.equal(doc['current-context'], 'dev', 'the current context is left alone');
    assert.deepEqual(doc.contexts.map((c: { name: string }) => c.name), ['dev', 'staging', 'ferry']);
    assert.deepEqual(doc.contexts[1], { name: 'staging', context: { cluster: 'dev', user: 'dev', namespace: 'staging' } });
    assert.deepEqual(doc.users[0], { name: 'dev', user: { token: 'dev-token' } });
    assert.equal(doc.clusters.find((c: { name: string }) => c.name === 'ferry').cluster.server, `https://127.0.0.1:${port}`);
    assert.equal(modeOf(target), '600');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file is left');

    // Again with --use: updated in place, not added twice, and now current.
    const use = await runFerry(['--data-dir', dataDir, 'kubeconfig', '--merge', '--use', '--kubeconfig-path', target]);
    assert.equal(use.code, 0, use.stderr);
    assert.match(use.stdout, /Updated context "ferry" .*now the current context/);
    const after = YAML.parse(fs.readFileSync(target, 'utf8'));
    assert.equal(after['current-context'], 'ferry');
    assert.equal(after.contexts.filter((c: { name: string }) => c.name === 'ferry').length, 1);
    const get = await runCommand('kubectl', ['--kubeconfig', target, 'get', 'filewatches', '-o', 'name']);
    assert.equal(get.code, 0, get.stderr);

    // Without --kubeconfig-path: the first file of $KUBECONFIG.
    const first = path.join(dir, 'first');
    const second = path.join(dir, 'second');
    fs.writeFileSync(second, otherKubeconfig);
    const env = await runFerry(['--data-dir', dataDir, 'kubeconfig', '--merge'], { env: { KUBECONFIG: `${first}${path.delimiter}${second}` } });
    assert.equal(env.code, 0, env.stderr);
    assert.equal(YAML.parse(fs.readFileSync(first, 'utf8')).contexts[0].name, 'ferry');
    assert.equal(fs.readFileSync(second, 'utf8'), otherKubeconfig, 'only the first file is written');
  });

  it('refuses to merge into a file that is not a kubeconfig, leaving it unchanged', async () => {
    for (const bad of ['clusters: [oops\n', '- just\n- a list\n', 'contexts: {a: 1}\n']) {
      const target = path.join(dir, 'bad');
      fs.writeFileSync(target, bad);
      const r = await runFerry(['--data-dir', dataDir, 'kubeconfig', '--merge', '--kubeconfig-path', target]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, new RegExp(`kubeconfig ${target} (is not valid YAML|is not a kubeconfig).*left unchanged`));
      assert.equal(fs.readFileSync(target, 'utf8'), bad);
    }
  });

  it('client commands say what is wrong with a kubeconfig that is not one', async () => {
    const bad = path.join(dir, 'not-a-kubeconfig');
    for (const [text, message] of [
      ['clusters: [oops\n', /is not valid YAML/],
      ['- a\n', /top level is not a mapping/],
      ['apiVersion: v1\nkind: Config\n', /has no current-context; give one with --context/],
    ] as const) {
      fs.writeFileSync(bad, text);
      const r = await runFerry(['--kubeconfig', bad, 'get', 'filewatches']);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, message);
      assert.match(r.stderr, new RegExp(`kubeconfig ${bad}`));
    }
    const missingContext = await runFerry(['--data-dir', dataDir, '--context', 'nope', 'get', 'filewatches']);
    assert.equal(missingContext.code, 1);
    assert.match(missingContext.stderr, /has no context "nope"/);
  });

  it('prints the kubeconfig, or its path', async () => {
    const text = await runFerry(['--data-dir', dataDir, 'kubeconfig']);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, fs.readFileSync(path.join(dataDir, 'kubeconfig'), 'utf8').trimEnd() + '\n');
    const p = await runFerry(['--data-dir', dataDir, 'kubeconfig', '--path']);
    assert.equal(p.stdout.trim(), path.join(dataDir, 'kubeconfig'));
  });

  it('refuses serve flags that are not numbers before starting anything', async () => {
    for (const [flag, value, msg] of [
      ['--keep-images', 'many', /--keep-images must be a whole number \(0 keeps all\), got "many"/],
      ['--keep-images', '-1', /--keep-images must be a whole number/],
      ['--filewatch-quiet-ms', 'soon', /--filewatch-quiet-ms must be a number of milliseconds, got "soon"/],
    ] as const) {
      const other = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-flag-'));
      const r = await runFerry(['--data-dir', other, 'serve', '--storage', 'memory', '--port', '0', flag, value]);
      fs.rmSync(other, { recursive: true, force: true });
      assert.equal(r.code, 1, `${flag} ${value}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, msg);
    }
  });

  it('says plainly when the port is in use ($FERRY_PORT is the default port)', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const taken = (busy.address() as net.AddressInfo).port;
    try {
      const other = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-busy-'));
      const r = await runFerry(['--data-dir', other, 'serve', '--storage', 'memory'], { env: { FERRY_PORT: String(taken) } });
      fs.rmSync(other, { recursive: true, force: true });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`cannot listen on 127.0.0.1:${taken}: the port is in use`));
      assert.match(r.stderr, /--port N/);
    } finally {
      busy.close();
    }
  });
});
