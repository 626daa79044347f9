/**
 * The data directory of `ferry serve`: private (0700, its database files 0600), tightened when
 * found open, and held by one daemon at a time; the hold dies with its process.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ferryBin, runCommand, runFerry, startFerryProcess } from '../support/daemon.ts';
import { DataDirLock, DataDirLockedError, securePrivateDir } from '../../src/data-dir.ts';
import { silentLogger } from '../../src/log.ts';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-datadir-'));
const modeOf = (f: string) => (fs.statSync(f).mode & 0o777).toString(8);

describe('securePrivateDir', () => {
  it('creates a missing directory, parents included, 0700', () => {
    const dir = path.join(tempDir(), 'a', 'b');
    const umask = process.umask(0);
    try {
      securePrivateDir(dir, silentLogger());
    } finally {
      process.umask(umask);
    }
    assert.equal(modeOf(dir), '700');
  });

  it('tightens an existing directory others can enter, and refuses a file', () => {
    const dir = tempDir();
    fs.chmodSync(dir, 0o755);
    securePrivateDir(dir, silentLogger());
    assert.equal(modeOf(dir), '700');
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, '');
    assert.throws(() => securePrivateDir(file), /not a directory/);
  });
});

describe('DataDirLock', () => {
  it('refuses a second hold of the same directory until the first is released', () => {
    const dir = tempDir();
    const first = DataDirLock.acquire(dir);
    first.announce('https://127.0.0.1:1');
    assert.throws(() => DataDirLock.acquire(dir), (err: unknown) => {
      assert.ok(err instanceof DataDirLockedError);
      assert.deepEqual(err.holder, { pid: process.pid, address: 'https://127.0.0.1:1' });
      return true;
    });
    first.release();
    DataDirLock.acquire(dir).release();
  });
});

describe('ferry serve on one data directory', () => {
  it('makes an open data directory private, refuses a second daemon naming the first, and starts again after kill -9', async () => {
    const dataDir = tempDir();
    fs.chmodSync(dataDir, 0o755);
    const first = await startFerryProcess({ dataDir });
    let third: Awaited<ReturnType<typeof startFerryProcess>> | undefined;
    try {
      assert.equal(modeOf(dataDir), '700');
      assert.match(first.output(), /Data directory was open to other users; made it private/);
      for (const f of ['ferry.db', 'ferry.db-wal', 'ferry.db-shm']) assert.equal(modeOf(path.join(dataDir, f)), '600', f);

      const url = /is serving at (https:\/\/\S+)/.exec(first.output())?.[1];
      assert.ok(url);
      const kubeconfig = fs.readFileSync(first.kubeconfigPath, 'utf8');
      const second = await runCommand(process.execPath, [ferryBin, '--data-dir', dataDir, 'serve', '--log-format', 'json', '--port', '0'], { timeoutMs: 30_000 });
      assert.equal(second.code, 1, `the second daemon exits at once:\n${second.stdout}${second.stderr}`);
      assert.ok(second.stderr.includes(`pid ${first.proc.pid}, serving at ${url}`), second.stderr);
      assert.doesNotMatch(second.stdout, /is serving at/);
      assert.equal(fs.readFileSync(first.kubeconfigPath, 'utf8'), kubeconfig, 'the first daemon\'s kubeconfig is untouched');
      const get = await runFerry(['--data-dir', dataDir, 'get', 'sessions']);
      assert.equal(get.code, 0, `the first daemon still serves:\n${get.stderr}`);

      await first.kill9();
      third = await startFerryProcess({ dataDir });
      assert.match(third.output(), /is serving at/);
    } finally {
      await first.kill9();
      if (third) assert.equal(await third.stop(), 0);
    }
  });
});
