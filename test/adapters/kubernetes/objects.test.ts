import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ClientNodeObjects, kubernetesErrorText } from '../../../src/adapters/kubernetes/index.ts';

/** fakeApi answers discovery for v1 and creates ConfigMaps; it records each request line. */
async function fakeApi(t: { after(fn: () => void): void }): Promise<{ server: string; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url?.split('?')[0]}`);
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      if (req.method === 'GET' && req.url === '/api/v1') {
        res.end(JSON.stringify({ kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'configmaps', namespaced: true, kind: 'ConfigMap', verbs: ['get', 'create', 'delete'] }] }));
      } else if (req.method === 'GET' && req.url === '/api/v1/namespaces/default/configmaps/here') {
        res.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'here', namespace: 'default', uid: 'uid-here' } }));
      } else if (req.method === 'POST') {
        const obj = JSON.parse(body);
        res.statusCode = 201;
        res.end(JSON.stringify({ ...obj, metadata: { ...obj.metadata, uid: `uid-${obj.metadata.name}` } }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

test('ClientNodeObjects asks discovery once per apiVersion, however many objects it applies', async (t) => {
  const api = await fakeApi(t);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: api.server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u', namespace: 'default' }],
    currentContext: 'c',
  });
  const objects = new ClientNodeObjects(kc);
  const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { k: 'v' } });
  const signal = new AbortController().signal;
  assert.equal((await objects.apply(cm('a'), { serverSideApply: false, fieldManager: 'ferry', signal })).metadata?.uid, 'uid-a');
  assert.equal((await objects.apply(cm('b'), { serverSideApply: false, fieldManager: 'ferry', signal })).metadata?.uid, 'uid-b');
  await objects.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'gone', namespace: 'default' });
  assert.equal(api.requests.filter((r) => r === 'GET /api/v1').length, 1);
});

test('ClientNodeObjects reads an object (undefined when there is none) and says whether a kind is namespaced', async (t) => {
  const api = await fakeApi(t);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: api.server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u', namespace: 'default' }],
    currentContext: 'c',
  });
  const objects = new ClientNodeObjects(kc);
  assert.equal((await objects.read({ apiVersion: 'v1', kind: 'ConfigMap', name: 'here' }))?.metadata?.uid, 'uid-here', 'the context namespace when the ref has none');
  assert.equal(await objects.read({ apiVersion: 'v1', kind: 'ConfigMap', name: 'absent', namespace: 'default' }), undefined);
  assert.equal(await objects.namespaced('v1', 'ConfigMap'), true);
  assert.equal(await objects.namespaced('v1', 'Widget'), undefined);
  assert.equal(await objects.namespaced('example.com/v1', 'Widget'), undefined, 'an API group the server does not serve');
});

test('kubernetesErrorText shows an error that is not the server\'s with its causes', () => {
  assert.equal(kubernetesErrorText(new Error('connecting', { cause: new Error('refused') })), 'connecting: refused');
  assert.equal(kubernetesErrorText('plain'), 'plain');
});
