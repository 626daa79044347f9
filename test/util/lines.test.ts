import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, maxLineLength } from '../../src/util/lines.ts';

describe('LineSplitter', () => {
  it('joins chunks, splits CRLF and multi-byte characters across chunks', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const euro = Buffer.from('€');
    s.write(Buffer.from('a\r\nb'));
    s.write(Buffer.concat([Buffer.from('c'), euro.subarray(0, 1)]));
    s.write(Buffer.concat([euro.subarray(1), Buffer.from('\n')]));
    s.end();
    assert.deepEqual(lines, ['a', 'bc€']);
  });

  it('bounds a line', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.write('x'.repeat(maxLineLength + 5));
    s.end();
    assert.deepEqual(lines.map((l) => l.length), [maxLineLength, 5]);
  });
});

