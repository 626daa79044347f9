/**
 * `ferry serve` not on a terminal: a build that runs a while shows as plain log lines (its
 * resource, phase and elapsed time, then its end), with no terminal redraws in the output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runFerry, startFerryProcess, type FerryProcess } from '../support/daemon.ts';
import { waitFor } from '../support/wait.ts';

// Longer than the 5 s after which long work is reported; it fails, so no image is needed.
const slowBuild = `apiVersion: tilt.dev/v1alpha1
kind: CmdImage
metadata:
  name: slow-image
  annotations: {tilt.dev/resource: web}
spec:
  ref: localhost:5000/slow
  dir: /tmp
  args: [sh, -c, 'echo compiling; sleep 7; echo "error: nothing to build" >&2; exit 1']
`;

interface LogRecord { message?: string; resource?: string; object?: string; phase?: string; elapsed?: string; result?: string }

function records(output: string): LogRecord[] {
  return output.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as LogRecord];
    } catch {
      return [];
    }
  });
}

describe('ferry serve progress, not on a terminal', () => {
  let ferry: FerryProcess;
  before(async () => {
    ferry = await startFerryProcess({ args: ['--storage', 'memory'] });
  });
  after(async () => {
    await ferry.stop();
  });

  it('logs a build that runs a while with its resource and phase, then its end', async () => {
    const applied = await runFerry(['--data-dir', ferry.dataDir, 'apply', '-f', '-'], { input: slowBuild });
    assert.equal(applied.code, 0, applied.stderr);
    await waitFor(() => records(ferry.output()).some((r) => r.message === 'Done building'), { timeoutMs: 60_000 });
    const progress = records(ferry.output()).filter((r) => r.object === 'CmdImage/slow-image' && /^(Still|Done) /.test(r.message ?? ''));
    const still = progress.find((r) => r.message === 'Still building');
    assert.ok(still, ferry.output());
    assert.equal(still.resource, 'web');
    assert.equal(still.phase, 'build command');
    assert.match(still.elapsed ?? '', /^\d+s$/);
    assert.deepEqual(progress.at(-1), { ...progress.at(-1), message: 'Done building', resource: 'web', result: 'failed' });
    assert.ok(!ferry.output().includes('\x1b['), 'no terminal escapes when the output is not a terminal');
  });
});
