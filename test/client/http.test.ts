/**
 * HttpClient, the command line's client over node:https: the same requests and errors as
 * FerryClient, and ClientConfig, which reads the kubeconfig without client-node.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestApiServer, type TestApiServer } from '../support/apiserver.ts';
import { ClientConfig } from '../../src/client/config.ts';
import { HttpClient } from '../../src/client/http.ts';
import { ApiError } from '../../src/client/errors.ts';
import type { FileWatch } from '../../src/apis/index.ts';
import type { WatchEvent } from '../../src/client/client.ts';
import { waitFor } from '../support/wait.ts';

const fw = (name: string, paths = ['/tmp']): FileWatch => ({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name }, spec: { watchedPaths: paths } });

describe('HttpClient', () => {
  let s: TestApiServer;
  let client: HttpClient;
  before(async () => {
    s = await startTestApiServer();
    client = new HttpClient(ClientConfig.load(s.kubeconfigPath));
  });
  after(async () => {
    client.close();
    await s.close();
  });

  it('creates, gets, lists, patches, applies, updates status and deletes', async () => {
    const created = await client.create(fw('a'));
    assert.equal(created.metadata.name, 'a');
    assert.ok(created.metadata.uid);
    assert.equal((await client.get<FileWatch>('FileWatch', 'a'))?.spec?.watchedPaths[0], '/tmp');
    assert.equal(await client.get('FileWatch', 'missing'), undefined);
    assert.deepEqual((await client.list('FileWatch')).items.map((o) => o.metadata.name), ['a']);
    const patched = await client.patch<FileWatch>('FileWatch', 'a', { spec: { watchedPaths: ['/var'] } });
    assert.deepEqual(patched.spec?.watchedPaths, ['/var']);
    const applied = await client.apply<FileWatch>(fw('b', ['/opt']), { fieldManager: 'test', force: true });
    assert.deepEqual(applied.spec?.watchedPaths, ['/opt']);
    const withStatus = await client.patchStatus<FileWatch>('FileWatch', 'b', { status: { error: 'boom' } });
    assert.equal(withStatus.status?.error, 'boom');
    const dry = await client.create(fw('c'), { dryRun: true });
    assert.equal(dry.metadata.name, 'c');
    assert.equal(await client.get('FileWatch', 'c'), undefined, 'a dry run stores nothing');
    await client.delete('FileWatch', 'a');
    await client.delete('FileWatch', 'b');
    assert.deepEqual((await client.list('FileWatch')).items, []);
    const version = (await client.raw('GET', '/version')) as { gitVersion: string };
    assert.match(version.gitVersion, /^v1\./);
  });

  it('rejects with the ApiError of the Status the server answers', async () => {
    await client.create(fw('dup'));
    await assert.rejects(client.create(fw('dup')), (err: unknown) => err instanceof ApiError && err.reason === 'AlreadyExists' && err.code === 409);
    await assert.rejects(client.delete('FileWatch', 'nope'), (err: unknown) => err instanceof ApiError && err.reason === 'NotFound');
    await assert.rejects(
      client.create({ ...fw('strict'), spec: { watchedPaths: ['/tmp'], nope: 1 } as never }, { fieldValidation: 'Strict' }),
      (err: unknown) => err instanceof ApiError && /unknown field "spec.nope"/.test(err.message),
    );
    await client.delete('FileWatch', 'dup');
  });

  it('watches changes after a resourceVersion, and stops', async () => {
    const list = await client.list('FileWatch');
    const events: WatchEvent[] = [];
    let ended = false;
    const handle = await client.watch('FileWatch', { resourceVersion: list.metadata.resourceVersion }, (ev) => events.push(ev), () => (ended = true));
    await client.create(fw('w'));
    await client.delete('FileWatch', 'w');
    await waitFor(() => events.filter((e) => e.type !== 'BOOKMARK').length === 2);
    assert.deepEqual(events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED w', 'DELETED w']);
    handle.stop();
    assert.equal(ended, false, 'done is not called after stop');
  });
});

describe('ClientConfig', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-config-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it('reads the server, CA and token of a context, files relative to the kubeconfig', () => {
    write('ca.pem', 'CA');
    write('token', 'secret\n');
    const file = write('config', [
      'apiVersion: v1', 'kind: Config', 'current-context: one',
      'clusters:', '- name: c1', '  cluster: {server: "https://127.0.0.1:1", certificate-authority: ca.pem}',
      '- name: c2', '  cluster: {server: "https://127.0.0.1:2", certificate-authority-data: Q0Ey, insecure-skip-tls-verify: true}',
      'users:', '- name: u1', '  user: {tokenFile: token}', '- name: u2', '  user: {token: abc}',
      'contexts:', '- name: one', '  context: {cluster: c1, user: u1}', '- name: two', '  context: {cluster: c2, user: u2}',
    ].join('\n'));
    const one = ClientConfig.load(file);
    assert.equal(one.server, 'https://127.0.0.1:1');
    assert.equal(String(one.tls.ca), 'CA');
    assert.equal(one.headers.Authorization, 'Bearer secret');
    const two = ClientConfig.load(file, 'two');
    assert.equal(two.server, 'https://127.0.0.1:2');
    assert.equal(String(two.tls.ca), 'CA2');
    assert.equal(two.tls.rejectUnauthorized, false);
    assert.equal(two.headers.Authorization, 'Bearer abc');
    assert.throws(() => ClientConfig.load(file, 'three'), /has no context "three"/);
  });

  it('says what is wrong with a file that is not a kubeconfig', () => {
    assert.throws(() => ClientConfig.load(write('bad-yaml', 'clusters: [oops')), /not valid YAML/);
    assert.throws(() => ClientConfig.load(write('list', '- a\n- b\n')), /top level is not a mapping/);
    assert.throws(() => ClientConfig.load(write('clusters', 'clusters: 3\n')), /clusters is not a list/);
    assert.throws(() => ClientConfig.load(write('empty', '')), /no current-context/);
    assert.throws(() => ClientConfig.load(path.join(dir, 'missing')), /cannot read kubeconfig .*ENOENT/);
    const exec = write('exec', 'current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: "https://h"}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\n');
    assert.throws(() => ClientConfig.load(exec), /exec plugin, which ferry's client does not support/);
  });
});
