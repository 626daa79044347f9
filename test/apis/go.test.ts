import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration, parseGoDuration, parseGoDurationOr } from '../../src/apis/go.ts';

test('formatGoDuration writes Go Duration.String', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [1, '1ms'],
    [1.5, '1.5ms'],
    [0.0015, '1.5µs'],
    [0.000001, '1ns'],
    [500, '500ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [30_000, '30s'],
    [60_000, '1m0s'],
    [90_000, '1m30s'],
    [300_000, '5m0s'],
    [600_000, '10m0s'],
    [1_800_000, '30m0s'],
    [3_600_000, '1h0m0s'],
    [3_661_500, '1h1m1.5s'],
    [-60_000, '-1m0s'],
  ];
  for (const [ms, want] of cases) assert.equal(formatGoDuration(ms), want, `${ms} ms`);
});

test('parseGoDuration reads Go durations', () => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['0s', 0],
    ['30s', 30_000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['1us', 0.001],
    ['1µs', 0.001],
    ['2h45m', 9_900_000],
    ['-1m', -60_000],
    ['+5s', 5_000],
    ['.5s', 500],
  ];
  for (const [s, want] of cases) assert.equal(parseGoDuration(s), want, s);
});

test('parseGoDuration rejects what Go rejects', () => {
  for (const s of ['', '1', 'abc', '1d', '1.s.', 's', '.s', '-']) {
    assert.throws(() => parseGoDuration(s), RangeError, s);
  }
});

test('parseGoDurationOr falls back when absent', () => {
  assert.equal(parseGoDurationOr(undefined, 5), 5);
  assert.equal(parseGoDurationOr('', 5), 5);
  assert.equal(parseGoDurationOr('0', 5), 0);
  assert.equal(parseGoDurationOr('2s', 5), 2000);
});

test('format and parse round-trip', () => {
  for (const ms of [0, 1, 1500, 60_000, 3_661_500, 1_800_000]) assert.equal(parseGoDuration(formatGoDuration(ms)), ms);
});
