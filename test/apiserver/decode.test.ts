/**
 * Body decoding and scalar query parameters, without a server: the depth and size bounds,
 * and kube-apiserver's readings of booleans and integers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { maxJSONDepth, maxYAMLDepth, parseJSON, parseYAML } from '../../src/apiserver/decode.ts';
import { queryBool, queryInt64, queryPretty } from '../../src/apiserver/query.ts';
import { ApiError } from '../../src/apiserver/errors.ts';

const badRequest = (message: RegExp) => (err: unknown) => err instanceof ApiError && err.code === 400 && message.test(err.message);
const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);

describe('parseJSON and parseYAML', () => {
  it('bound JSON nesting at maxJSONDepth, ignoring brackets inside strings', () => {
    assert.equal((parseJSON(nested(maxJSONDepth), 'x') as unknown[]).length, 1);
    assert.throws(() => parseJSON(nested(maxJSONDepth + 1), 'decoding'), badRequest(/^decoding: the JSON document nests deeper than 1000 levels$/));
    assert.deepEqual(parseJSON(`{"a":"${'['.repeat(5000)}\\"${'{'.repeat(5000)}"}`, 'x'), { a: `${'['.repeat(5000)}"${'{'.repeat(5000)}` });
    assert.throws(() => parseJSON('{"a": ', 'decoding'), badRequest(/^decoding: /));
  });

  it('bound YAML nesting in flow, block and indentation styles', () => {
    const ok = Math.floor(maxYAMLDepth / 2);
    assert.ok(parseYAML('a: ' + '[{b: '.repeat(ok / 2) + '1' + '}]'.repeat(ok / 2), 'x'));
    assert.ok(parseYAML('- '.repeat(ok) + 'x', 'x'));
    for (const deep of ['a: ' + '['.repeat(maxYAMLDepth + 1), '- '.repeat(maxYAMLDepth + 1) + 'x', '? '.repeat(maxYAMLDepth + 1), Array.from({ length: maxYAMLDepth + 2 }, (_, i) => ' '.repeat(i) + 'a:').join('\n')]) {
      assert.throws(() => parseYAML(deep, 'decoding'), badRequest(/nests deeper than 100 levels/));
    }
  });

  it('count neither wide flow collections nor the indentation inside them as depth', () => {
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}: v`);
    assert.equal(Object.keys((parseYAML(`data: {${keys.join(', ')}}`, 'x') as { data: object }).data).length, 300);
    const indentedFlow = `data: [\n${Array.from({ length: 10 }, (_, i) => ' '.repeat(150) + `{a: ${i}},`).join('\n')}\n]\n`;
    assert.equal((parseYAML(indentedFlow, 'x') as { data: unknown[] }).data.length, 10);
    assert.deepEqual(parseYAML(`a: 1\n${' '.repeat(300)}\n${' '.repeat(300)}# note\nb: 2\n`, 'x'), { a: 1, b: 2 });
  });

  it('read YAML that is JSON as JSON, under the JSON bound, and quoted or block text as text', () => {
    assert.deepEqual(parseYAML(nested(300), 'x'), JSON.parse(nested(300)));
    assert.deepEqual(parseYAML('{a: b}', 'x'), { a: 'b' });
    assert.deepEqual(parseYAML(`a: "${'['.repeat(500)}"\nb: |\n  ${'- '.repeat(500)}\n`, 'x'), { a: '['.repeat(500), b: '- '.repeat(500) + '\n' });
    assert.throws(() => parseYAML('kind: [unclosed', 'decoding'), badRequest(/^decoding: /));
  });

  it('bound the tokens of a YAML document', () => {
    assert.throws(() => parseYAML('- a\n'.repeat(30_000), 'decoding'), badRequest(/more than 50000 tokens/));
  });
});

describe('query parameters', () => {
  const q = (s: string) => new URLSearchParams(s);

  it('read booleans as apimachinery does: only 0 and false are false', () => {
    assert.equal(queryBool(q(''), 'watch'), undefined);
    for (const v of ['true', 'True', '1', 't', 'yes', '']) assert.equal(queryBool(q(`watch=${v}`), 'watch'), true, v);
    for (const v of ['false', 'False', 'FALSE', '0']) assert.equal(queryBool(q(`watch=${v}`), 'watch'), false, v);
  });

  it('read pretty with strconv.ParseBool, unparsable meaning no', () => {
    for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(queryPretty(q(`pretty=${v}`)), true, v);
    for (const v of ['0', 'f', 'false', 'yes', 'tRuE', '']) assert.equal(queryPretty(q(`pretty=${v}`)), false, v);
  });

  it('read integers with strconv.ParseInt', () => {
    assert.equal(queryInt64(q(''), 'limit'), undefined);
    assert.equal(queryInt64(q('limit=-1'), 'limit'), -1);
    assert.equal(queryInt64(q('limit=%2B5'), 'limit'), 5);
    assert.throws(() => queryInt64(q('limit=1.5'), 'limit'), badRequest(/^strconv.ParseInt: parsing "1.5": invalid syntax$/));
    assert.throws(() => queryInt64(q('limit='), 'limit'), badRequest(/parsing "": invalid syntax/));
    assert.throws(() => queryInt64(q('limit=9223372036854775808'), 'limit'), badRequest(/value out of range/));
  });
});
