/**
 * The daemon's pretty log (a terminal): a line a build, Compose or an exec printed reads as
 * `ferry logs` shows it (`web build │ <line>`), not as `line=<line>` after the fields.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/log.ts';

function capture(): { log: ReturnType<typeof createLogger>; lines: () => string[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d));
  return { log: createLogger({ format: 'pretty', stream }), lines: () => text.split('\n').filter(Boolean) };
}

describe('pretty log', () => {
  it('prints command output as resource, source and the line', async () => {
    const { log, lines } = capture();
    const build = log.child({ controller: 'cmdimage', cmdimage: 'ferry-example-web', resource: 'web' });
    build.info('Build output', { line: 'Step 1/7 : ARG BASE=busybox:1.36' });
    log.child({ component: 'runtime', controller: 'dockercomposeservice', name: 'web' }).info('Compose output', { line: 'Stopping ferry-example_web_1 ... done' });
    log.child({ controller: 'liveupdate', resource: 'web' }).info('Command output', { line: 'hello' });
    build.info('Build succeeded', { ref: 'ferry-example-web:tilt-0123456789abcdef' });
    await new Promise((r) => setImmediate(r));
    const out = lines().map((l) => l.slice(13));
    assert.deepEqual(out.slice(0, 3), [
      'info  web build │ Step 1/7 : ARG BASE=busybox:1.36',
      'info  web build │ Stopping ferry-example_web_1 ... done',
      'info  web sync │ hello',
    ]);
    assert.match(out[3], /^info {2}Build succeeded controller=cmdimage cmdimage=ferry-example-web resource=web ref=/, 'other lines keep their fields');
  });
});
