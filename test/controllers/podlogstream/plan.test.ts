import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discoveryStreamSpec, followsTemplate, linePrefix, readPositions, selectContainers, streamable, streamName, templateFields } from '../../../controllers/podlogstream/plan.ts';
import type { PodContainer } from '../../../src/adapters/kubernetes/index.ts';
import type { KubernetesDiscovery, PodLogStream } from '../../../src/apis/index.ts';

const c = (name: string, extra: Partial<PodContainer> = {}): PodContainer => ({ name, id: `id-${name}`, init: false, state: 'running', ...extra });
const all = [c('init', { init: true }), c('api'), c('proxy')];

test('onlyContainers, else ignoreContainers, choose the containers, as Tilt does', () => {
  assert.deepEqual(selectContainers({ pod: 'p', onlyContainers: ['api'], ignoreContainers: ['api'] }, all).map((x) => x.name), ['api']);
  assert.deepEqual(selectContainers({ pod: 'p', ignoreContainers: ['proxy'] }, all).map((x) => x.name), ['init', 'api']);
  assert.deepEqual(selectContainers({ pod: 'p' }, all).map((x) => x.name), ['init', 'api', 'proxy']);
});

test('a container is named in front of its lines only when the pod has several, or it is an init container', () => {
  assert.equal(linePrefix(all[0], all), '[init] ');
  assert.equal(linePrefix(all[1], all), '[api] ');
  assert.equal(linePrefix(c('api'), [c('api'), c('init', { init: true })]), '');
});

test('only a created container that is not waiting has output', () => {
  assert.equal(streamable(c('a')), true);
  assert.equal(streamable(c('a', { state: 'terminated' })), true);
  assert.equal(streamable(c('a', { state: 'waiting' })), false);
  assert.equal(streamable(c('a', { id: '' })), false);
});

test('streams are named as Tilt names them, and read positions survive a broken annotation', () => {
  assert.equal(streamName('api', 'default', 'api-5d4f'), 'api-default-api-5d4f');
  const pls = (v?: string): PodLogStream => ({ metadata: { name: 'x', ...(v ? { annotations: { 'ferry.dev/log-position': v } } : {}) }, spec: { pod: 'p' } });
  assert.deepEqual(readPositions(pls('{"api":{"container":"c1","time":"t"}}')), { api: { container: 'c1', time: 't' } });
  assert.deepEqual(readPositions(pls('nope')), {});
  assert.deepEqual(readPositions(pls('[1]')), {});
  assert.deepEqual(readPositions(pls()), {});
});

test('a discovery\'s stream has the pod, its cluster and the template\'s fields; without a template, none (every container, all logs)', () => {
  const kd = (extra: Partial<NonNullable<KubernetesDiscovery['spec']>> = {}): KubernetesDiscovery => ({ metadata: { name: 'kd' }, spec: { watches: [{ namespace: 'default' }], ...extra } });
  const pod = { name: 'web', namespace: 'dev' };
  assert.deepEqual(discoveryStreamSpec(kd(), pod), { pod: 'web', namespace: 'dev' });
  const template = { sinceTime: '2026-12-04T10:00:00Z', onlyContainers: ['api'], ignoreContainers: ['istio-proxy'] };
  assert.deepEqual(discoveryStreamSpec(kd({ cluster: 'c', podLogStreamTemplateSpec: template }), pod), { pod: 'web', namespace: 'dev', cluster: 'c', ...template });
  assert.deepEqual(templateFields(kd({ podLogStreamTemplateSpec: { onlyContainers: [], sinceTime: '' } })), {}, 'empty fields are no fields');
});

test('a stream follows its template when the fields agree, an empty list being no list', () => {
  assert.ok(followsTemplate({ pod: 'p' }, {}));
  assert.ok(followsTemplate({ pod: 'p', ignoreContainers: [] }, {}));
  assert.ok(followsTemplate({ pod: 'p', onlyContainers: ['a'], sinceTime: 't' }, { onlyContainers: ['a'], sinceTime: 't' }));
  assert.ok(!followsTemplate({ pod: 'p', onlyContainers: ['a'] }, {}));
  assert.ok(!followsTemplate({ pod: 'p' }, { ignoreContainers: ['b'] }));
  assert.ok(!followsTemplate({ pod: 'p', sinceTime: 't' }, { sinceTime: 'u' }));
});
