import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Fifo } from '../../src/apiserver/fifo.ts';

describe('Fifo', () => {
  it('gives items back oldest first, across compactions, and indexes from the front', () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 5000; i++) q.push(i);
    for (let i = 0; i < 3000; i++) assert.equal(q.shift(), i);
    assert.equal(q.length, 2000);
    assert.equal(q.at(0), 3000);
    assert.equal(q.at(1999), 4999);
    q.push(5000);
    while (q.length > 1) q.shift();
    assert.equal(q.shift(), 5000);
    assert.equal(q.length, 0);
    q.push(7);
    q.clear();
    assert.equal(q.length, 0);
  });
});
