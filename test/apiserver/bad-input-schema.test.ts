/**
 * Schema-driven bad input: walk the OpenAPI v3 schema the server serves for every kind
 * and set every field to wrong values (null, wrong types, `[null]`, `{"k": null}`, ill-formed
 * Unicode, values outside an enum or a format, deep nesting, huge bodies). Each answer is a
 * 4xx Status naming the field, nothing is stored, and the server keeps serving.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { startTestApiServer, type TestApiServer } from '../support/apiserver.ts';

type Json = any;
type Seg = string | number;
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: string[];
  format?: string;
  anyOf?: Schema[];
  allOf?: Array<{ $ref?: string }>;
  $ref?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

const group = '/apis/tilt.dev/v1alpha1';
const ill = 'a\ud800';

/** Valid objects, one per kind: each mutation starts from one of these. */
const bases: Record<string, Json> = {
  Cluster: { spec: { connection: { docker: {} } } },
  Cmd: { spec: { args: ['true'] } },
  CmdImage: { spec: { ref: 'app', args: ['true'] } },
  ConfigMap: { data: { a: '1' } },
  DockerComposeLogStream: { spec: { service: 'web', project: { yaml: 'services: {}' } } },
  DockerComposeService: { spec: { service: 'web', project: { yaml: 'services: {}' } } },
  FileWatch: { spec: { watchedPaths: ['/tmp/x'] } },
  ImageMap: { spec: { selector: 'app' } },
  KubernetesApply: { spec: { yaml: 'kind: ConfigMap' } },
  KubernetesDiscovery: { spec: { watches: [{ namespace: 'default' }] } },
  LiveUpdate: { spec: { basePath: '/b', selector: { dockerCompose: { service: 'web' } }, syncs: [{ localPath: '.', containerPath: '/app' }] } },
  PodLogStream: { spec: { pod: 'web-1', namespace: 'default' } },
  Session: { spec: { tiltfilePath: '/Tiltfile', exitCondition: 'manual' } },
};

/** nested builds depth levels of arrays (or objects) as JSON text, without recursion. */
const nestedArrays = (depth: number, leaf = '"x"') => '['.repeat(depth) + leaf + ']'.repeat(depth);
const nestedObjects = (depth: number, leaf = '"x"') => '{"bogus":'.repeat(depth) + leaf + '}'.repeat(depth);

/** A raw JSON value: the text is spliced into the body as is. */
class Raw {
  constructor(readonly text: string) {}
}

function toJSON(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJSON).join(',')}]`;
  if (value && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJSON(v)}`).join(',')}}`;
  return JSON.stringify(value);
}

function pathString(segs: Seg[]): string {
  return segs.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** setAt puts value at segs inside obj, creating objects and one-item arrays on the way. */
function setAt(obj: Json, segs: Seg[], value: unknown): Json {
  const root = structuredClone(obj);
  let cur = root;
  segs.forEach((s, i) => {
    if (i === segs.length - 1) return void (cur[s] = value);
    const next = segs[i + 1];
    if (cur[s] === undefined || cur[s] === null || typeof cur[s] !== 'object') cur[s] = typeof next === 'number' ? [] : {};
    if (typeof next === 'number' && cur[s][next] === undefined) cur[s][next] = {};
    cur = cur[s];
  });
  return root;
}

interface Case {
  kind: string;
  plural: string;
  segs: Seg[];
  label: string;
  value: unknown;
  /** expect: 'bad' is a 4xx with the field named; 'absent' (null for an optional field) is 4xx, or accepted without the field. 'tolerated' may be accepted (free-form). */
  expect: 'bad' | 'absent' | 'tolerated';
}

interface Answer {
  status: number;
  text: string;
  json(): Json;
}

describe('bad input for every field of every kind (schema-driven)', () => {
  let s: TestApiServer;
  let agent: https.Agent;
  const baseRv = new Map<string, string>();

  const request = (method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = https.request(new URL(path, s.url), {
        method,
        agent,
        headers: { Authorization: `Bearer ${s.server.token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) });
        });
      });
      req.on('error', reject);
      req.end(body);
    });

  /** pool runs fn over items with a few requests in flight. */
  async function pool<T, R>(items: T[], fn: (item: T) => Promise<R>, width = 16): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    await Promise.all(Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }));
    return out;
  }

  function assertStatus(r: Answer, what: string): Json {
    assert.ok(r.status >= 400 && r.status < 500, `${what}: want a 4xx, got ${r.status} ${r.text.slice(0, 300)}`);
    const body = r.json();
    assert.equal(body.kind, 'Status', what);
    assert.equal(body.code, r.status, what);
    assert.equal(body.status, 'Failure', what);
    assert.ok(typeof body.reason === 'string' && body.reason, `${what}: a reason`);
    return body;
  }

  let schemas: Record<string, Schema>;
  const plurals = new Map<string, string>();
  const pluralOf = (kind: string) => plurals.get(kind)!;
  const resolve = (sch: Schema): Schema => {
    const ref = sch.$ref ?? sch.allOf?.[0]?.$ref;
    return ref ? schemas[ref.replace('#/components/schemas/', '')] : sch;
  };

  /** wrongValues are the values of a wrong type or shape for a schema. */
  function wrongValues(sch: Schema): Array<[string, unknown, Case['expect']?]> {
    const deepArrays = new Raw(nestedArrays(200));
    const deepObjects = new Raw(nestedObjects(200));
    if (sch.anyOf) return [['boolean', true], ['object', {}], ['array', []], ['fraction', 1.5], ['ill-formed', ill], ['deep', deepArrays]];
    switch (sch.type) {
      case 'string':
        return [
          ['number', 42], ['object', {}], ['ill-formed', ill], ['deep', deepArrays],
          ...(sch.enum ? [['outside the enum', 'NotAValue'] as [string, unknown]] : []),
          ...(sch.format === 'date-time' ? [['not a time', 'yesterday'] as [string, unknown]] : []),
        ];
      case 'integer':
        return [['string', '1'], ['fraction', 1.5], ['too big', 2 ** 60], ['deep', deepArrays], ...(sch.format === 'int32' ? [['over int32', 2 ** 31] as [string, unknown]] : [])];
      case 'boolean':
        return [['string', 'true'], ['deep', deepArrays]];
      case 'array':
        return [['object', {}], ['string', 'x'], ['[null]', [null]], ['deep', deepObjects], ['nested arrays', new Raw(`[${nestedArrays(200, '{}')}]`)]];
      case 'object': {
        const common: Array<[string, unknown, Case['expect']?]> = [['array', []], ['string', 'x'], ['[null]', [null]]];
        if (sch.properties) return [...common, ['unknown field', { bogus: 1 }], ['deep unknown field', deepObjects]];
        if (typeof sch.additionalProperties === 'object') {
          return [...common, ['{"k": null}', { k: null }], ['{"k": 1}', { k: 1 }], ['ill-formed key', { [ill]: 'v' }], ['ill-formed value', { k: ill }], ['deep value', { k: deepObjects }]];
        }
        // Free-form: any object is right, only its strings are checked.
        return [...common, ['ill-formed key inside', { [ill]: 1 }], ['deep', deepObjects, 'tolerated']];
      }
      default:
        return [];
    }
  }

  /** Object schemas already walked field by field: a subtree shared by kinds (ObjectMeta, DisableSource...) is walked once. */
  const walked = new Set<string>();

  function casesFor(kind: string, plural: string, top: Schema): Case[] {
    const out: Case[] = [];
    const visit = (schRaw: Schema, segs: Seg[], required: boolean) => {
      const sch = resolve(schRaw);
      const label = pathString(segs);
      out.push({ kind, plural, segs, label: `${label} = null`, value: null, expect: required ? 'bad' : 'absent' });
      for (const [what, value, expect] of wrongValues(sch)) out.push({ kind, plural, segs, label: `${label} = ${what}`, value, expect: expect ?? 'bad' });
      if (sch.type === 'array' && sch.items) {
        const items = resolve(sch.items);
        out.push({ kind, plural, segs: [...segs, 0], label: `${label}[0] = null`, value: null, expect: 'bad' });
        if (items.type === 'object' || items.anyOf) visitChildren(items, [...segs, 0]);
        else for (const [what, value] of wrongValues(items)) out.push({ kind, plural, segs: [...segs, 0], label: `${label}[0] = ${what}`, value, expect: 'bad' });
      } else if (sch.type === 'object') visitChildren(sch, segs);
    };
    const visitChildren = (sch: Schema, segs: Seg[]) => {
      const key = JSON.stringify(sch);
      if (segs.length > 0 && walked.has(key)) return;
      walked.add(key);
      for (const [name, sub] of Object.entries(sch.properties ?? {})) visit(sub, [...segs, name], (sch.required ?? []).includes(name));
    };
    visitChildren(top, []);
    return out;
  }

  before(async () => {
    s = await startTestApiServer();
    agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca: s.server.caCert });
    const root = (await request('GET', '/openapi/v3')).json();
    const doc = (await request('GET', root.paths['apis/tilt.dev/v1alpha1'].serverRelativeURL)).json();
    schemas = doc.components.schemas;
    for (const r of (await request('GET', group)).json().resources) if (!r.name.includes('/')) plurals.set(r.kind, r.name);
    for (const [kind, base] of Object.entries(bases)) {
      const plural = pluralOf(kind);
      const r = await request('POST', `${group}/${plural}`, JSON.stringify({ apiVersion: 'tilt.dev/v1alpha1', kind, metadata: { name: 'base' }, ...base }));
      assert.equal(r.status, 201, `${kind} base: ${r.text}`);
      baseRv.set(kind, r.json().metadata.resourceVersion);
    }
  });
  after(async () => {
    agent?.destroy();
    await s?.close();
  });

  it('serves a schema for every kind, each with a base object', () => {
    const served = Object.keys(schemas).filter((n) => n.startsWith('dev.tilt.core.v1alpha1.') && !n.endsWith('List')).map((n) => n.split('.').pop()).sort();
    assert.deepEqual(served, Object.keys(bases).sort());
  });

  it('answers every wrong value of every field with a 4xx Status naming the field, and stores nothing', async (t) => {
    const cases: Case[] = [];
    for (const kind of Object.keys(bases)) {
      const top = schemas[`dev.tilt.core.v1alpha1.${kind}`];
      cases.push(...casesFor(kind, pluralOf(kind), top));
    }
    assert.ok(cases.length > 1000, `${cases.length} cases`);
    t.diagnostic(`${cases.length} cases`);
    let n = 0;
    const failures: string[] = [];
    await pool(cases, async (c) => {
      const name = `bad-${n++}`;
      const base = { apiVersion: 'tilt.dev/v1alpha1', kind: c.kind, metadata: { name }, ...bases[c.kind] };
      const onStatus = c.segs[0] === 'status';
      const what = `${c.kind} ${c.label}`;
      let r: Answer;
      const dryRun = c.expect !== 'bad' ? '&dryRun=All' : '';
      if (onStatus) {
        // Status is not written by a create: a status write to the base object carries it.
        const obj = { ...setAt({ ...base, metadata: { name: 'base', resourceVersion: baseRv.get(c.kind) } }, c.segs, c.value) };
        r = await request('PUT', `${group}/${c.plural}/base/status?fieldValidation=Strict${dryRun}`, toJSON(obj));
      } else {
        const obj = setAt(base, c.segs, c.value);
        r = await request('POST', `${group}/${c.plural}?fieldValidation=Strict${dryRun}`, toJSON(obj));
      }
      try {
        if (c.expect === 'bad' || r.status >= 300) {
          if (c.expect === 'tolerated' && r.status < 300) return;
          const body = assertStatus(r, what);
          const field = pathString(c.segs);
          if (r.status === 422) {
            const fields: string[] = (body.details?.causes ?? []).map((x: { field?: string }) => x.field ?? '');
            const named = fields.some((f) => f === field || f.startsWith(`${field}[`) || f.startsWith(`${field}.`) || (field === 'metadata' && f.startsWith('metadata')));
            assert.ok(named || c.expect !== 'bad', `${what}: causes ${JSON.stringify(fields)} name ${field}`);
          } else if (r.status === 400 && /strict decoding error/.test(body.message)) {
            assert.ok(body.message.includes(`unknown field "${field}.bogus"`), `${what}: ${body.message}`);
          }
        } else {
          // null for an optional field means absent (Go clients send creationTimestamp: null): never stored as null.
          let at: Json = r.json();
          for (const seg of c.segs.slice(0, -1)) at = at?.[seg];
          assert.notStrictEqual(at?.[c.segs.at(-1)!], null, `${what}: the null is not kept`);
        }
      } catch (err) {
        failures.push((err as Error).message.split('\n')[0]);
      }
    });
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases failed`);
  });

  it('answers the reported [null] and metadata cases with 422 and the field path', async () => {
    const cases: Array<[string, Json, string]> = [
      ['FileWatch', { spec: { watchedPaths: ['/x'], ignores: [null] } }, 'spec.ignores[0]'],
      ['FileWatch', { spec: { watchedPaths: [null] } }, 'spec.watchedPaths[0]'],
      ['LiveUpdate', { spec: { ...bases.LiveUpdate.spec, syncs: [null] } }, 'spec.syncs[0]'],
      ['LiveUpdate', { spec: { ...bases.LiveUpdate.spec, execs: [null] } }, 'spec.execs[0]'],
      ['LiveUpdate', { spec: { ...bases.LiveUpdate.spec, sources: [null] } }, 'spec.sources[0]'],
      ['LiveUpdate', { spec: { ...bases.LiveUpdate.spec, stopPaths: [null] } }, 'spec.stopPaths[0]'],
      ['LiveUpdate', { spec: { ...bases.LiveUpdate.spec, execs: [{ args: [null] }] } }, 'spec.execs[0].args[0]'],
      ['KubernetesDiscovery', { spec: { watches: [null] } }, 'spec.watches[0]'],
      ['Cmd', { spec: { args: ['true'], env: [null] } }, 'spec.env[0]'],
      ['ConfigMap', { data: { k: null } }, 'data[k]'],
      ['FileWatch', { metadata: { generateName: 7 }, spec: { watchedPaths: ['/x'] } }, 'metadata.generateName'],
      ['FileWatch', { metadata: { name: 'l', labels: { a: 1 } }, spec: { watchedPaths: ['/x'] } }, 'metadata.labels[a]'],
      ['FileWatch', { metadata: { name: 'f', finalizers: [{}] }, spec: { watchedPaths: ['/x'] } }, 'metadata.finalizers[0]'],
      ['FileWatch', { metadata: { name: 'o', ownerReferences: [{ apiVersion: 'v1', kind: 'K', name: 5, uid: 'u' }] }, spec: { watchedPaths: ['/x'] } }, 'metadata.ownerReferences[0].name'],
    ];
    for (const [kind, obj, field] of cases) {
      const r = await request('POST', `${group}/${pluralOf(kind)}`, JSON.stringify({ apiVersion: 'tilt.dev/v1alpha1', kind, metadata: { name: 'issue' }, ...obj }));
      const body = assertStatus(r, `${kind} ${field}`);
      assert.equal(r.status, 422, `${kind} ${field}: ${r.text}`);
      assert.equal(body.reason, 'Invalid');
      assert.deepEqual(body.details.causes.map((c: { field: string }) => c.field), [field], `${kind} ${field}`);
    }
  });

  it('refuses huge values: bodies over the limit, names, label values and annotations over theirs', async () => {
    const huge = 'x'.repeat(4 * 1024 * 1024);
    const answers = await pool(Object.keys(bases), async (kind) => {
      const body = JSON.stringify({ apiVersion: 'tilt.dev/v1alpha1', kind, metadata: { name: 'huge', annotations: { a: huge } }, ...bases[kind] });
      return [kind, await request('POST', `${group}/${pluralOf(kind)}`, body)] as const;
    }, 3);
    for (const [kind, r] of answers) assert.equal(assertStatus(r, `${kind} huge body`).reason, 'RequestEntityTooLarge');
    const fw = (metadata: Json) => request('POST', `${group}/filewatches`, JSON.stringify({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata, spec: bases.FileWatch.spec }));
    assert.equal(assertStatus(await fw({ name: 'x'.repeat(254) }), 'long name').code, 422);
    assert.equal(assertStatus(await fw({ generateName: 'x'.repeat(300) }), 'long generateName').code, 422);
    assert.equal(assertStatus(await fw({ name: 'lbl', labels: { a: 'x'.repeat(64) } }), 'long label value').code, 422);
    assert.equal(assertStatus(await fw({ name: 'lbl', labels: { ['k'.repeat(64)]: 'x' } }), 'long label key').code, 422);
    assert.equal(assertStatus(await fw({ name: 'ann', annotations: { a: 'x'.repeat(257 * 1024) } }), 'annotations over 256 KiB').reason, 'Invalid');
  });

  it('refuses ill-formed Unicode in names, so no two objects share a name on the wire', async () => {
    for (const name of ['a\ud800', '\udfff', 'x\ud800\ud800y']) {
      const r = await request('POST', `${group}/filewatches`, JSON.stringify({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name }, spec: bases.FileWatch.spec }));
      const body = assertStatus(r, JSON.stringify(name));
      assert.equal(r.status, 422);
      assert.deepEqual(body.details.causes.map((c: { field: string }) => c.field), ['metadata.name']);
    }
    const pair = await request('POST', `${group}/filewatches`, JSON.stringify({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'emoji-\ud83d\ude00' }, spec: bases.FileWatch.spec }));
    assert.equal(pair.status, 201, 'a well-formed surrogate pair is a fine name');
    const got = await request('GET', `${group}/filewatches/${encodeURIComponent('emoji-\ud83d\ude00')}`);
    assert.equal(got.status, 200);
    assert.equal((await request('DELETE', `${group}/filewatches/${encodeURIComponent('emoji-\ud83d\ude00')}`)).status, 200);
  });

  it('warns about unknown fields of any name: the Warning header stays ASCII', async () => {
    const body = JSON.stringify({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'warned' }, spec: { watchedPaths: ['/x'], 'é日本\ud83d\ude00': 1, [ill]: 2 } });
    const r = await new Promise<{ status: number; warning: string }>((resolve, reject) => {
      const req = https.request(new URL(`${group}/filewatches?dryRun=All`, s.url), { method: 'POST', agent, headers: { Authorization: `Bearer ${s.server.token}`, 'Content-Type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, warning: String(res.headers.warning) }));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(r.status, 201);
    assert.match(r.warning, /unknown field \\"spec\.\\u00e9\\u65e5\\u672c\\ud83d\\ude00\\"/);
    assert.match(r.warning, /unknown field \\"spec\.a\\\\ud800\\"/);
  });

  it('refuses values nested 10,000 levels deep with a 4xx, as JSON and as YAML', async () => {
    // Bounding the parse depth is the server's (src/apiserver/server.ts): these fail until it does.
    const deep = 10_000;
    const bodies: Array<[string, string, Record<string, string>?]> = [
      ['spec of arrays', `{"apiVersion":"tilt.dev/v1alpha1","kind":"FileWatch","metadata":{"name":"deep1"},"spec":${nestedArrays(deep)}}`],
      ['typed field of objects', `{"apiVersion":"tilt.dev/v1alpha1","kind":"FileWatch","metadata":{"name":"deep2"},"spec":{"watchedPaths":["/x"],"ignores":[{"basePath":${nestedObjects(deep)}}]}}`],
      ['unknown field', `{"apiVersion":"tilt.dev/v1alpha1","kind":"FileWatch","metadata":{"name":"deep3"},"spec":{"watchedPaths":["/x"],"bogus":${nestedObjects(deep)}}}`],
      ['annotation value', `{"apiVersion":"tilt.dev/v1alpha1","kind":"FileWatch","metadata":{"name":"deep4","annotations":{"a":${nestedArrays(deep)}}},"spec":{"watchedPaths":["/x"]}}`],
      ['free-form managedFields', `{"apiVersion":"tilt.dev/v1alpha1","kind":"FileWatch","metadata":{"name":"deep5","managedFields":[{"fieldsV1":${nestedObjects(deep)}}]},"spec":{"watchedPaths":["/x"]}}`],
      ['YAML flow sequence', `apiVersion: tilt.dev/v1alpha1\nkind: FileWatch\nmetadata: {name: deep6}\nspec: {watchedPaths: ${nestedArrays(deep)}}\n`, { 'Content-Type': 'application/yaml' }],
    ];
    const failures: string[] = [];
    for (const [what, body, headers] of bodies) {
      const r = await request('POST', `${group}/filewatches`, body, headers);
      try {
        assertStatus(r, what);
      } catch (err) {
        failures.push((err as Error).message.split('\n')[0]);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('stored nothing, and still serves: /healthz and a good create', async () => {
    for (const kind of Object.keys(bases)) {
      const list = (await request('GET', `${group}/${pluralOf(kind)}`)).json();
      assert.deepEqual(list.items.map((o: Json) => o.metadata.name), ['base'], `${kind}: only the base object`);
      assert.equal(list.items[0].metadata.resourceVersion, baseRv.get(kind), `${kind}: base object unchanged`);
    }
    assert.equal((await request('GET', '/healthz')).status, 200);
    const good = await request('POST', `${group}/filewatches`, JSON.stringify({ apiVersion: 'tilt.dev/v1alpha1', kind: 'FileWatch', metadata: { name: 'after' }, spec: bases.FileWatch.spec }));
    assert.equal(good.status, 201, good.text);
  });
});
