/**
 * `ferry logs`: the daemon's per-resource output, served over the API port with the token.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type Daemon } from '../../src/daemon.ts';
import { streamLogs, parseSince, parseSource } from '../../src/cli/logs.ts';
import { silentLogger } from '../../src/log.ts';
import { rawRequest } from '../support/apiserver.ts';
import { waitFor } from '../support/wait.ts';

describe('ferry logs', () => {
  let daemon: Daemon;
  let dataDir: string;
  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-logs-'));
    daemon = await startDaemon({ dataDir, storage: 'memory', log: silentLogger() });
    daemon.logs.append('web', { source: 'CmdImage/web', stream: 'stdout', line: 'Step 1/3 : FROM busybox' });
    daemon.logs.append('api', { source: 'Cmd/api', stream: 'stdout', line: 'listening on 8080' });
  });
  after(async () => {
    await daemon.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints every resource, or one', async () => {
    const all: string[] = [];
    await streamLogs(daemon.kubeConfig, { out: (l) => all.push(l) });
    assert.equal(all.length, 2);
    assert.match(all[0], /^web\s+build\s+│ Step 1\/3 : FROM busybox$/);
    const one: string[] = [];
    await streamLogs(daemon.kubeConfig, { resource: 'api', out: (l) => one.push(l) });
    assert.deepEqual(one.map((l) => l.replace(/ +/g, ' ')), ['api build │ listening on 8080']);
  });

  it('follows new lines until stopped', async () => {
    const got: string[] = [];
    const ac = new AbortController();
    const done = streamLogs(daemon.kubeConfig, { resource: 'web', follow: true, out: (l) => got.push(l), signal: ac.signal });
    await waitFor(() => got.length === 1);
    daemon.logs.append('web', { source: 'LiveUpdate/web', line: 'Will copy 1 file(s) to container(s): web' });
    daemon.logs.append('api', { source: 'Cmd/api', line: 'not for web' });
    await waitFor(() => got.length === 2);
    ac.abort();
    await done;
    assert.match(got[1], /^web\s+sync\s+│ Will copy 1 file\(s\) to container\(s\): web$/);
  });

  it('needs the token, like the API', async () => {
    const r = await rawRequest({ url: daemon.api!.url, caCert: daemon.api!.caCert, token: daemon.api!.token }, { path: '/ferry/v1/logs', token: null });
    assert.equal(r.status, 401);
  });

  it('keeps to the sources and resources asked for', async () => {
    daemon.logs.append('web', { source: 'DockerComposeLogStream/web', stream: 'stderr', line: 'listening on 80' });
    const runtime: string[] = [];
    await streamLogs(daemon.kubeConfig, { source: 'runtime', out: (l) => runtime.push(l) });
    assert.deepEqual(runtime.map((l) => l.replace(/ +/g, ' ')), ['web runtime │ listening on 80']);
    const both: string[] = [];
    await streamLogs(daemon.kubeConfig, { resources: ['api', 'web'], source: 'build', out: (l) => both.push(l) });
    assert.deepEqual(new Set(both.map((l) => l.split(/ +/)[0])), new Set(['web', 'api']));
    assert.ok(both.every((l) => l.split(/ +/)[1] === 'build'), both.join('\n'));
  });

  it('says so when a resource is unknown, and prints nothing', async () => {
    const got: string[] = [];
    await assert.rejects(streamLogs(daemon.kubeConfig, { resources: ['web', 'nope'], out: (l) => got.push(l) }), /error: no resource "nope" \(resources: .*web.*\)$/);
    assert.deepEqual(got, []);
  });

  it('colours the prefix only when asked', async () => {
    const plain: string[] = [];
    const painted: string[] = [];
    await streamLogs(daemon.kubeConfig, { resource: 'api', out: (l) => plain.push(l) });
    await streamLogs(daemon.kubeConfig, { resource: 'api', color: true, out: (l) => painted.push(l) });
    assert.ok(!plain[0].includes('\x1b['));
    assert.match(painted[0], /^\x1b\[\d+mapi +\x1b\[39m\x1b\[2mbuild +│\x1b\[22m listening on 8080$/);
  });

  it('refuses an unknown source', async () => {
    const r = await rawRequest({ url: daemon.api!.url, caCert: daemon.api!.caCert, token: daemon.api!.token }, { path: '/ferry/v1/logs?source=nope' });
    assert.equal(r.status, 400);
    assert.throws(() => parseSource('nope'), /--source must be one of build, runtime, sync/);
  });

  it('reads --since durations', () => {
    assert.equal(parseSince('5m'), 300_000);
    assert.throws(() => parseSince('soon'), /--since must be a duration/);
  });
});
