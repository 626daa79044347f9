/**
 * `ferry get -w` prints the current objects, then a row per change, until stopped.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer, type TestApiServer } from '../support/apiserver.ts';
import { FerryClient } from '../../src/client/client.ts';
import { ClientConfig } from '../../src/client/config.ts';
import { HttpClient } from '../../src/client/http.ts';
import { get, render } from '../../src/cli/get.ts';
import { imageMapKind, type ImageMap } from '../../src/apis/index.ts';
import { waitFor } from '../support/wait.ts';

describe('ferry get', () => {
  let s: TestApiServer;
  let client: FerryClient;
  let cli: HttpClient;
  before(async () => {
    s = await startTestApiServer();
    client = new FerryClient(s.kubeConfig);
    cli = new HttpClient(ClientConfig.load(s.kubeconfigPath));
  });
  after(async () => {
    client.close();
    cli.close();
    await s.close();
  });

  it('watches: the table, then one row per change', async () => {
    await client.create<ImageMap>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name: 'a' }, spec: { selector: 'app' } });
    const lines: string[] = [];
    const ac = new AbortController();
    const done = get(cli, 'imagemaps', undefined, { watch: true, out: (l) => lines.push(...l.split('\n')), signal: ac.signal });
    await waitFor(() => lines.length === 2);
    assert.match(lines[0], /^NAME\s+SELECTOR\s+IMAGE\s+AGE$/);
    await client.patchStatus('ImageMap', 'a', { status: { imageFromLocal: 'app:tilt-0123456789abcdef' } });
    await waitFor(() => lines.some((l) => l.includes('app:tilt-0123456789abcdef')));
    const before = lines.length;
    await client.delete('ImageMap', 'a');
    await waitFor(() => lines.length === before + 1);
    assert.match(lines[before], /^a\s+app\s+app:tilt-0123456789abcdef\s+\d+s$/, 'a deletion prints the last row of the object');
    ac.abort();
    await done;
  });

  it('several kinds: the tables of those with objects, one List with -o yaml, and No resources found once', async () => {
    const run = async (kinds: string, output?: 'yaml' | 'name') => {
      const out: string[] = [];
      const err: string[] = [];
      await get(cli, kinds, undefined, { output, out: (l) => out.push(...l.split('\n')), err: (l) => err.push(l) });
      return { out, err };
    };
    assert.deepEqual(await run('podlogstreams,kd,im'), { out: [], err: ['No resources found'] });
    await client.create<ImageMap>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name: 'm' }, spec: { selector: 'app' } });
    try {
      const tables = await run('kd,im,pls');
      assert.deepEqual(tables.err, []);
      assert.equal(tables.out.length, 2, `one table, no blank lines for the empty kinds: ${JSON.stringify(tables.out)}`);
      assert.match(tables.out[1], /^m\s+app/);
      const yaml = await run('kd,im', 'yaml');
      assert.match(yaml.out.join('\n'), /^apiVersion: v1\nkind: List\nitems:\n  - apiVersion: tilt.dev\/v1alpha1\n    kind: ImageMap/);
      assert.equal(yaml.out.filter((l) => l === 'kind: List').length, 1, 'one List');
      assert.deepEqual((await run('kd,im', 'name')).out, ['imagemap.tilt.dev/m']);
    } finally {
      await client.delete('ImageMap', 'm');
    }
  });

  it('renders names, YAML and JSON lists', () => {
    const objs: ImageMap[] = [{ apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name: 'x' }, spec: { selector: 's' } }];
    assert.equal(render(imageMapKind, objs, 'name', false), 'imagemap.tilt.dev/x');
    assert.match(render(imageMapKind, objs, 'yaml', false), /^apiVersion: v1\nkind: List\nitems:\n  - apiVersion: tilt.dev\/v1alpha1/);
    assert.equal(JSON.parse(render(imageMapKind, objs, 'json', true)).metadata.name, 'x');
  });
});
