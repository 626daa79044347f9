import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeLogTime, splitTimestamp, unixSince, wholeSeconds } from '../../src/util/log-time.ts';

test('log times normalise to nine fraction digits in UTC, so they compare as strings', () => {
  assert.equal(normalizeLogTime('2026-12-04T22:40:01.12345Z'), '2026-12-04T22:40:01.123450000Z');
  assert.equal(normalizeLogTime('2026-12-04T22:40:01Z'), '2026-12-04T22:40:01.000000000Z');
  assert.equal(normalizeLogTime('2026-12-04T23:40:01.5+01:00'), '2026-12-04T22:40:01.500000000Z');
  assert.equal(normalizeLogTime('yesterday'), undefined);
  // Docker trims trailing zeros: .9 is later than .123456789 although shorter.
  assert.ok(normalizeLogTime('2026-12-04T22:40:01.9Z')! > normalizeLogTime('2026-12-04T22:40:01.123456789Z')!);
});

test('a timestamped line splits into its time and its text; other lines keep all their text', () => {
  assert.deepEqual(splitTimestamp('2026-12-04T22:40:01.1Z hello world'), { time: '2026-12-04T22:40:01.100000000Z', text: 'hello world' });
  assert.deepEqual(splitTimestamp('2026-12-04T22:40:01.1Z '), { time: '2026-12-04T22:40:01.100000000Z', text: '' });
  assert.deepEqual(splitTimestamp('hello world'), { text: 'hello world' });
});

test('a normalised time renders as the Engine\'s since and as whole seconds', () => {
  assert.equal(unixSince('2026-12-04T22:40:01.100000000Z'), `${Date.parse('2026-12-04T22:40:01Z') / 1000}.100000000`);
  assert.equal(wholeSeconds('2026-12-04T22:40:01.100000000Z'), '2026-12-04T22:40:01Z');
});
