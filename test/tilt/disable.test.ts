import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DisableSource, DisableStatus } from '../../src/apis/common.ts';
import type { ConfigMap } from '../../src/apis/configmap.ts';
import type { KubeList, KubeObject } from '../../src/apis/meta.ts';
import type { WatchEvent, WatchHandle } from '../../src/client/client.ts';
import { Cache } from '../../src/runtime/cache.ts';
import { FakeClock } from '../../src/util/clock.ts';
import {
  disableSourceMapper,
  disableStatus,
  evaluateDisableSource,
} from '../../src/tilt/disable.ts';
import { goQuote, parseGoBool } from '../../src/apis/go.ts';
import { silentLogger } from '../../src/log.ts';


function cms(data: Record<string, Record<string, string>>) {
  return (name: string): ConfigMap | undefined =>
    data[name] ? { kind: 'ConfigMap', metadata: { name }, data: data[name] } : undefined;
}

const one = (name = 'web-disable', key = 'isDisabled'): DisableSource => ({ configMap: { name, key } });
const every = (...names: string[]): DisableSource => ({ everyConfigMap: names.map((name) => ({ name, key: 'isDisabled' })) });

const rows: Array<{ what: string; source: DisableSource | undefined; data: Record<string, Record<string, string>>; state: string; reason: string }> = [
  { what: 'no source', source: undefined, data: {}, state: 'Enabled', reason: 'object does not specify a DisableSource' },
  { what: 'ConfigMap missing', source: one(), data: {}, state: 'Pending', reason: 'ConfigMap "web-disable" does not exist' },
  { what: 'key missing', source: one(), data: { 'web-disable': { other: 'true' } }, state: 'Error', reason: 'ConfigMap "web-disable" has no key "isDisabled"' },
  {
    what: 'value not a bool',
    source: one(),
    data: { 'web-disable': { isDisabled: 'yes' } },
    state: 'Error',
    reason: 'error parsing ConfigMap/key "web-disable"/"isDisabled" value "yes" as a bool: strconv.ParseBool: parsing "yes": invalid syntax',
  },
  {
    what: 'empty value',
    source: one(),
    data: { 'web-disable': { isDisabled: '' } },
    state: 'Error',
    reason: 'error parsing ConfigMap/key "web-disable"/"isDisabled" value "" as a bool: strconv.ParseBool: parsing "": invalid syntax',
  },
  { what: 'true', source: one(), data: { 'web-disable': { isDisabled: 'true' } }, state: 'Disabled', reason: 'ConfigMap/key "web-disable"/"isDisabled" is true' },
  { what: 'false', source: one(), data: { 'web-disable': { isDisabled: 'false' } }, state: 'Enabled', reason: 'ConfigMap/key "web-disable"/"isDisabled" is false' },
  {
    what: 'every ConfigMap disabled',
    source: every('a', 'b'),
    data: { a: { isDisabled: 'true' }, b: { isDisabled: '1' } },
    state: 'Disabled',
    reason: 'Every ConfigMap disabled',
  },
  {
    what: 'every: the first one not disabled decides (enabled)',
    source: every('a', 'b', 'c'),
    data: { a: { isDisabled: 'true' }, b: { isDisabled: 'false' }, c: {} },
    state: 'Enabled',
    reason: 'ConfigMap/key "b"/"isDisabled" is false',
  },
  {
    what: 'every: the first one not disabled decides (missing)',
    source: every('a', 'b'),
    data: { a: { isDisabled: 'T' } },
    state: 'Pending',
    reason: 'ConfigMap "b" does not exist',
  },
  {
    what: 'every: the first one not disabled decides (error)',
    source: every('a', 'b'),
    data: { a: { isDisabled: 'nope' }, b: { isDisabled: 'false' } },
    state: 'Error',
    reason: 'error parsing ConfigMap/key "a"/"isDisabled" value "nope" as a bool: strconv.ParseBool: parsing "nope": invalid syntax',
  },
  { what: 'neither source', source: {}, data: {}, state: 'Error', reason: 'DisableSource specifies no valid sources' },
  { what: 'an empty everyConfigMap', source: { everyConfigMap: [] }, data: {}, state: 'Error', reason: 'DisableSource specifies no valid sources' },
  {
    what: 'configMap wins over everyConfigMap',
    source: { configMap: { name: 'a', key: 'isDisabled' }, everyConfigMap: [{ name: 'b', key: 'isDisabled' }] },
    data: { a: { isDisabled: 'false' } },
    state: 'Enabled',
    reason: 'ConfigMap/key "a"/"isDisabled" is false',
  },
];

for (const row of rows) {
  test(`disable status: ${row.what}`, () => {
    const now = new Date('2024-05-06T07:08:09.987Z');
    const got = disableStatus(row.source, cms(row.data), undefined, now);
    assert.deepEqual(got, {
      disabled: row.state !== 'Enabled',
      lastUpdateTime: '2024-05-06T07:08:09Z',
      reason: row.reason,
      state: row.state,
    });
  });
}

test('every Go bool spelling parses as Go does', () => {
  for (const s of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseGoBool(s), true, s);
  for (const s of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseGoBool(s), false, s);
  for (const s of ['yes', 'tRUE', 'on', ' true', '2']) assert.equal(typeof parseGoBool(s), 'object', s);
  const v = evaluateDisableSource(one(), cms({ 'web-disable': { isDisabled: 'TRUE' } }));
  assert.deepEqual(v, { state: 'Disabled', reason: 'ConfigMap/key "web-disable"/"isDisabled" is true' });
});

test('values are quoted as Go quotes them', () => {
  assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(goQuote('line\nnext\ttab'), '"line\\nnext\\ttab"');
  assert.equal(goQuote('\x00\x7f'), '"\\x00\\x7f"');
  assert.equal(goQuote('é✓'), '"é✓"');
  assert.equal(goQuote('\u00a0'), '"\\u00a0"');
});

test('a new DisableStatus only when the state or the reason changes', () => {
  const t1 = new Date('2024-01-01T00:00:01.500Z');
  const t2 = new Date('2024-01-01T00:05:00Z');
  const data = { 'web-disable': { isDisabled: 'false' } };
  const first = disableStatus(one(), cms(data), undefined, t1);
  assert.equal(first.lastUpdateTime, '2024-01-01T00:00:01Z');

  const again = disableStatus(one(), cms(data), first, t2);
  assert.equal(again, first, 'unchanged: the previous status itself, with its time');
  // "False" and "false" both give the reason `... is false`: nothing changed either.
  const respelled = disableStatus(one(), cms({ 'web-disable': { isDisabled: 'False' } }), first, t2);
  assert.equal(respelled, first);

  const reasonOnly = disableStatus(one('other'), cms({ other: { isDisabled: 'false' } }), first, t2);
  assert.equal(reasonOnly.state, 'Enabled');
  assert.equal(reasonOnly.lastUpdateTime, '2024-01-01T00:05:00Z');

  const stateChange = disableStatus(one(), cms({ 'web-disable': { isDisabled: 'true' } }), first, t2);
  assert.deepEqual(stateChange, { disabled: true, lastUpdateTime: '2024-01-01T00:05:00Z', reason: 'ConfigMap/key "web-disable"/"isDisabled" is true', state: 'Disabled' });
});

test('disableSourceMapper wakes exactly the objects whose disableSource names the ConfigMap', async () => {
  const objects: Record<string, KubeObject[]> = {
    FileWatch: [
      { kind: 'FileWatch', metadata: { name: 'fw-a', resourceVersion: '1' }, spec: { disableSource: one('a-disable') } },
      { kind: 'FileWatch', metadata: { name: 'fw-ab', resourceVersion: '2' }, spec: { disableSource: every('a-disable', 'b-disable') } },
      { kind: 'FileWatch', metadata: { name: 'fw-none', resourceVersion: '3' }, spec: {} },
    ],
    ConfigMap: [],
  };
  const source = {
    async list(kind: string): Promise<KubeList<KubeObject>> {
      return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '3' }, items: objects[kind] };
    },
    async watch(_k: string, _o: unknown, _e: (ev: WatchEvent) => void, _d: () => void): Promise<WatchHandle> {
      return { stop() {} };
    },
  };
  const cache = new Cache({ source, clock: new FakeClock(), log: silentLogger() });
  const map = disableSourceMapper(cache, 'FileWatch');
  disableSourceMapper(cache, 'FileWatch'); // a second controller may ask for the same index
  cache.start();
  await cache.waitForSync();
  const names = (cm: string) => map({ kind: 'ConfigMap', metadata: { name: cm } }).sort();
  assert.deepEqual(names('a-disable'), ['fw-a', 'fw-ab']);
  assert.deepEqual(names('b-disable'), ['fw-ab']);
  assert.deepEqual(names('c-disable'), []);
  assert.deepEqual(cache.kinds().sort(), ['ConfigMap', 'FileWatch']);
  cache.stop();
});

test('disabled is true for Pending and Error as well as Disabled', () => {
  const now = new Date();
  const states: Record<string, DisableStatus> = {
    pending: disableStatus(one(), cms({}), undefined, now),
    error: disableStatus({}, cms({}), undefined, now),
  };
  assert.equal(states.pending.disabled, true);
  assert.equal(states.error.disabled, true);
});
