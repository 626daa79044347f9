/**
 * What `ferry ci` shows while it waits: the phase and its elapsed time, redrawn in place on a
 * terminal, plain lines otherwise.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Target } from '../../src/apis/session.ts';
import { phase, runCi } from '../../src/cli/ci.ts';
import { silentLogger } from '../../src/log.ts';
import { requireDocker } from '../support/docker.ts';

const t0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(t0 + s * 1000).toISOString();

describe('phase', () => {
  it('names what is pending and for how long', () => {
    const targets: Target[] = [
      { name: 'web:update', type: 'job', resources: ['web'], state: { active: { startTime: at(0), ready: false } } },
      { name: 'web:runtime', type: 'server', resources: ['web'], state: { waiting: { waitReason: 'waiting-for-dependency' } } },
      { name: 'db:runtime', type: 'server', resources: ['db'], state: { active: { startTime: at(5), ready: true } } },
      { name: 'api:runtime', type: 'server', resources: ['api'], state: { active: { startTime: at(10), ready: false } } },
    ];
    const p = phase(targets, t0 + 12_000, t0 - 3000);
    assert.equal(p.text, 'building web (12s), web:runtime waiting-for-dependency (15s), starting api (2s)');
    assert.equal(p.key, 'building web, web:runtime waiting-for-dependency, starting api');
  });

  it('is empty when nothing is pending', () => {
    const done: Target[] = [{ name: 'web:update', type: 'job', resources: ['web'], state: { terminated: { startTime: at(0), finishTime: at(1) } } }];
    assert.deepEqual(phase(done, t0, t0), { text: '', key: '' });
  });
});

describe('ferry ci progress', () => {
  let dir: string;
  before(async () => {
    await requireDocker();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-ci-progress-'));
    fs.writeFileSync(path.join(dir, 'compose.yaml'), 'version: "3.7"\nservices:\n  stuck:\n    image: never-built\n');
    fs.writeFileSync(path.join(dir, 'ferry.yaml'), `apiVersion: tilt.dev/v1alpha1
kind: DockerComposeService
metadata: {name: stuck}
spec:
  service: stuck
  project: {configPaths: [compose.yaml], name: stuck-proj}
  imageMaps: [no-such-imagemap]
`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const ci = async (tty: boolean) => {
    const lines: string[] = [];
    const writes: string[] = [];
    const prev = process.cwd();
    process.chdir(dir);
    try {
      const code = await runCi({ files: [path.join(dir, 'ferry.yaml')], timeoutMs: 3000, cwd: dir, out: (l) => lines.push(l), log: silentLogger(), tty, write: (t) => writes.push(t) });
      return { code, lines, writes };
    } finally {
      process.chdir(prev);
    }
  };

  it('redraws one status line in place on a terminal', async () => {
    const r = await ci(true);
    assert.equal(r.code, 1);
    const drawn = r.writes.filter((w) => /^\r\x1b\[2K… stuck:runtime waiting-for-\S+ \(\d+s\)$/.test(w));
    assert.ok(drawn.length >= 2, `the status line is redrawn as seconds pass:\n${JSON.stringify(r.writes)}`);
    assert.ok(r.lines.some((l) => /^TARGET/.test(l)), 'the summary is printed as lines');
    assert.equal(r.writes.at(-1), '\r\x1b[2K', 'and it is cleared at the end');
    assert.ok(!r.lines.some((l) => l.startsWith('…')), 'no plain progress lines on a terminal');
  });

  it('prints the phase once as a plain line otherwise', async () => {
    const r = await ci(false);
    assert.equal(r.code, 1);
    assert.deepEqual(r.writes, []);
    const shown = r.lines.filter((l) => l.startsWith('… '));
    assert.equal(shown.length, 1, r.lines.join('\n'));
    assert.match(shown[0], /^… stuck:runtime waiting-for-\S+ \(\d+s\)$/);
  });
});
