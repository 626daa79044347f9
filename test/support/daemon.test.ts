/**
 * startFerryProcess leaves no data directory behind: the one it made is removed when the test
 * process exits (a test may restart a daemon on it after a stop).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { runCommand } from './daemon.ts';

describe('startFerryProcess', () => {
  it('removes the data directory it made when the test process exits', async () => {
    const script = [
      "import { startFerryProcess } from './test/support/daemon.ts';",
      "const f = await startFerryProcess({ args: ['--dashboard-port', '0'] });",
      'await f.stop();',
      "if (!require('node:fs').existsSync(f.dataDir)) throw new Error('removed too early');",
      'console.log(f.dataDir);',
    ].join('\n');
    const r = await runCommand(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script.replace("require('node:fs')", '(await import("node:fs")).default')], { cwd: new URL('../..', import.meta.url).pathname, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const dir = r.stdout.trim().split('\n').pop()!;
    assert.match(dir, /ferry-proc-/);
    assert.equal(fs.existsSync(dir), false, `${dir} is left behind`);
  });
});
