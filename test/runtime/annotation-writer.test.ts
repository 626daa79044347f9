import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnnotationWriter, ApiError, FakeClock, type Client } from '../../src/runtime/index.ts';
import { silentLogger } from '../../src/log.ts';

function fixture(fail?: (name: string) => Error | undefined) {
  const clock = new FakeClock();
  const patches: { name: string; value: string }[] = [];
  const client = {
    async patch(_kind: string, name: string, body: { metadata: { annotations: Record<string, string> } }) {
      const err = fail?.(name);
      if (err) throw err;
      patches.push({ name, value: body.metadata.annotations['ferry.dev/x'] });
      return {};
    },
  } as unknown as Client;
  const w = new AnnotationWriter({ client, clock, log: silentLogger(), kind: 'PodLogStream', key: 'ferry.dev/x', delayMs: 1000, what: 'x' });
  return { clock, patches, w };
}

test('writes at most once per delay, only what changed, and a last time when asked', async () => {
  const { clock, patches, w } = fixture();
  let value: string | undefined = 'a';
  w.track('s', () => value, 'a');
  w.changed('s');
  await clock.advance(1000);
  assert.equal(patches.length, 0, 'the object already holds it');
  value = 'b';
  w.changed('s');
  value = 'c';
  w.changed('s');
  await clock.advance(999);
  assert.equal(patches.length, 0);
  await clock.advance(1);
  assert.deepEqual(patches, [{ name: 's', value: 'c' }]);
  value = 'd';
  w.changed('s');
  await w.forget('s', true);
  assert.deepEqual(patches.map((p) => p.value), ['c', 'd'], 'forget with flush writes at once');
  await clock.advance(5000);
  w.changed('s');
  await clock.advance(5000);
  assert.equal(patches.length, 2, 'nothing is written for a forgotten object, and its timer is gone');
});

test('an undefined value writes nothing; an object already gone is not a failure to retry', async () => {
  const { clock, patches, w } = fixture((name) => (name === 'gone' ? new ApiError(404, { reason: 'NotFound', message: 'gone' }) : undefined));
  w.track('empty', () => undefined, undefined);
  w.changed('empty');
  w.track('gone', () => 'v', undefined);
  w.changed('gone');
  await clock.advance(1000);
  assert.equal(patches.length, 0);
  await w.forget('gone', false);
});
