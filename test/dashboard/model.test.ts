/**
 * The dashboard's model and login rules, without a browser: resources grouped as Session groups
 * them, their states from the Session's targets, the build and sync histories, what a changed
 * file did, and the one-time login links.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { DashboardModel } from '../../src/dashboard/model.ts';
import { allowedHosts, mintToken, newKey, sameOrigin, Sessions } from '../../src/dashboard/auth.ts';
import { category } from '../../src/dashboard/server.ts';
import type { KubeObject } from '../../src/apis/index.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dashboardLink, openBrowser } from '../../src/cli/ui.ts';

const res = (r: string) => ({ 'tilt.dev/resource': r });

function obj(kind: string, name: string, extra: Partial<KubeObject> & { spec?: unknown; status?: unknown } = {}): KubeObject {
  return { apiVersion: 'tilt.dev/v1alpha1', kind, ...extra, metadata: { name, resourceVersion: '1', ...(extra.metadata ?? {}) } } as KubeObject;
}

describe('the dashboard model', () => {
  it('groups objects by tilt.dev/resource and lists only resources with a target kind', () => {
    const m = new DashboardModel({ cwd: '/w' });
    m.apply('FileWatch', obj('FileWatch', 'web-src', { metadata: { name: 'web-src', annotations: res('web') } }));
    m.apply('FileWatch', obj('FileWatch', 'lonely'));
    assert.deepEqual(m.names(), []);
    m.apply('CmdImage', obj('CmdImage', 'web-image', { metadata: { name: 'web-image', annotations: res('web'), labels: { team: 'a' } } }));
    m.apply('Cmd', obj('Cmd', 'tests'));
    assert.deepEqual(m.names(), ['tests', 'web']);
    const web = m.summary('web')!;
    assert.deepEqual(web.objects, ['CmdImage/web-image', 'FileWatch/web-src']);
    assert.deepEqual(web.labels, ['team=a']);
    assert.equal(web.canDisable, true);
    // Moving an object to another resource takes it out of the first.
    const moved = m.apply('CmdImage', obj('CmdImage', 'web-image', { metadata: { name: 'web-image', annotations: res('api') } }));
    assert.deepEqual(moved.sort(), ['api', 'web']);
    assert.deepEqual(m.names(), ['api', 'tests']);
  });

  it('reads update and runtime states from the Session, disable and trigger from the ConfigMaps', () => {
    const m = new DashboardModel();
    m.apply('CmdImage', obj('CmdImage', 'web', { metadata: { name: 'web', annotations: res('web') } }));
    m.apply('DockerComposeService', obj('DockerComposeService', 'web', { metadata: { name: 'web', annotations: res('web') } }));
    m.all();
    const t = '2026-01-01T00:00:00.000000Z';
    const touched = m.apply('Session', obj('Session', 'Tiltfile', {
      status: {
        targets: [
          { name: 'web:update', resources: ['web'], type: 'job', state: { terminated: { startTime: t, finishTime: t, error: 'exit status 3' } } },
          { name: 'web:runtime', resources: ['web'], type: 'server', state: { waiting: { waitReason: 'waiting-for-dependency' } } },
        ],
      },
    }));
    assert.deepEqual(touched, ['web']);
    let s = m.summary('web')!;
    assert.equal(s.updateState, 'error');
    assert.equal(s.lastError, 'exit status 3');
    assert.equal(s.runtimeState, 'pending');
    assert.equal(s.runtimeReason, 'waiting-for-dependency');
    assert.deepEqual(m.apply('ConfigMap', obj('ConfigMap', 'tilt-trigger-queue', { data: { '0-name': 'web', '0-reason-code': '32' } } as never)), ['web']);
    assert.equal(m.summary('web')!.triggerQueued, true);
    m.apply('ConfigMap', obj('ConfigMap', 'web-disable', { data: { isDisabled: 'true' } } as never));
    s = m.summary('web')!;
    assert.equal(s.disabled, true);
    assert.equal(s.updateState, 'disabled');
    assert.equal(s.lastError, undefined);
    // changed() reports a summary once, then not again until it changes.
    assert.equal(m.changed(['web']).length, 1);
    assert.equal(m.changed(['web']).length, 0);
  });

  it('still reports a change after a snapshot or a detail was taken before changed() ran', () => {
    const m = new DashboardModel();
    m.apply('Cmd', obj('Cmd', 'api', { metadata: { name: 'api', annotations: res('api') } }));
    assert.equal(m.changed(m.names()).length, 1);
    // A change, then a new page's snapshot before the server reports the change to the open pages.
    assert.deepEqual(m.apply('ConfigMap', obj('ConfigMap', 'api-disable', { data: { isDisabled: 'true' } } as never)), ['api']);
    assert.equal(m.all()[0].disabled, true);
    const changed = m.changed(['api']);
    assert.deepEqual(changed.map((c) => [c.name, c.summary?.disabled]), [['api', true]]);
    // A removal, then a page asking for the resource before the server reports it gone.
    m.apply('Cmd', obj('Cmd', 'api', { metadata: { name: 'api', annotations: res('api') } }), true);
    assert.equal(m.detail('api'), undefined);
    assert.equal(m.summary('api'), undefined);
    assert.deepEqual(m.changed(['api']), [{ name: 'api' }]);
    assert.deepEqual(m.changed(['api']), []);
  });

  it('keeps the build history, newest first, with durations', () => {
    const m = new DashboardModel();
    const ci = (status: unknown) => obj('CmdImage', 'img', { metadata: { name: 'img', annotations: res('web') }, status });
    m.apply('CmdImage', ci({ building: { startedAt: '2026-01-01T00:00:00.000000Z', reason: 'Created' } }));
    assert.equal(m.detail('web')!.builds[0].building, true);
    m.apply('CmdImage', ci({ completed: { startedAt: '2026-01-01T00:00:00.000000Z', finishedAt: '2026-01-01T00:00:01.500000Z', error: 'boom' } }));
    m.apply('CmdImage', ci({ building: { startedAt: '2026-01-01T00:01:00.000000Z' } }));
    m.apply('CmdImage', ci({ completed: { startedAt: '2026-01-01T00:01:00.000000Z', finishedAt: '2026-01-01T00:01:00.250000Z' } }));
    m.apply('CmdImage', ci({ completed: { startedAt: '2026-01-01T00:01:00.000000Z', finishedAt: '2026-01-01T00:01:00.250000Z' } }));
    const builds = m.detail('web')!.builds;
    assert.deepEqual(builds.map((b) => [b.durationMs, b.error, !!b.building]), [[250, undefined, false], [1500, 'boom', false]]);
    assert.equal(m.summary('web')!.lastBuild!.durationMs, 250);
  });

  it('records a sync with its files and latency, and says what each changed file did', () => {
    let now = Date.parse('2026-01-01T00:00:10.100Z');
    const m = new DashboardModel({ cwd: '/w', now: () => now });
    const a = { metadata: { name: 'x', annotations: res('web') } };
    m.apply('CmdImage', obj('CmdImage', 'img', { metadata: { name: 'img', annotations: res('web') } }));
    m.apply('FileWatch', obj('FileWatch', 'src', {
      ...a,
      metadata: { name: 'src', annotations: res('web') },
      spec: { watchedPaths: ['/w/app'], ignores: [{ basePath: '/w/app', patterns: ['*.tmp'] }] },
      status: { fileEvents: [{ time: '2026-01-01T00:00:10.000000Z', seenFiles: ['/w/app/src/a.js', '/w/app/Dockerfile', '/w/app/README'] }] },
    }));
    const lu = (containers: unknown[]) => obj('LiveUpdate', 'web', {
      metadata: { name: 'web', annotations: res('web') },
      spec: { basePath: '.', sources: [{ fileWatch: 'src' }], syncs: [{ localPath: 'app/src', containerPath: '/app/src' }], stopPaths: ['app/Dockerfile'] },
      status: { containers },
    });
    m.apply('LiveUpdate', lu([{ containerName: 'c1', podName: '', namespace: '' }]));
    now = Date.parse('2026-01-01T00:00:10.100Z');
    m.apply('LiveUpdate', lu([{ containerName: 'c1', podName: '', namespace: '', lastFileTimeSynced: '2026-01-01T00:00:10.000000Z' }]));
    const d = m.detail('web')!;
    const sync = d.liveUpdates[0].containers[0].syncs[0];
    assert.equal(sync.latencyMs, 100);
    assert.ok(sync.files.includes('/w/app/src/a.js'));
    assert.equal(m.summary('web')!.lastSync!.container, 'c1');
    const verdicts = Object.fromEntries(d.fileWatches[0].events[0].files.map((f) => [f.path, f.verdict]));
    assert.match(verdicts['/w/app/src/a.js'], /synced by web to \/app\/src/);
    assert.match(verdicts['/w/app/Dockerfile'], /stop path app\/Dockerfile of web: rebuilds/);
    assert.match(verdicts['/w/app/README'], /matches no sync of web: rebuilds/);
    assert.deepEqual(d.fileWatches[0].ignores, ['/w/app: *.tmp']);
  });

  it('tells no latency for a sync that happened before it saw the LiveUpdate', () => {
    const m = new DashboardModel({ now: () => Date.parse('2026-01-01T01:00:00Z') });
    m.apply('LiveUpdate', obj('LiveUpdate', 'web', { status: { containers: [{ containerName: 'c', podName: '', namespace: '', lastFileTimeSynced: '2026-01-01T00:00:00.000000Z' }] } }));
    const sync = m.summary('web')!.lastSync!;
    assert.equal(sync.container, 'c');
    assert.equal(sync.latencyMs, undefined);
  });

  it('sorts log lines into build, sync and runtime by their source', () => {
    assert.equal(category('CmdImage/web'), 'build');
    assert.equal(category('LiveUpdate'), 'sync');
    assert.equal(category('LiveUpdate/web'), 'sync');
    assert.equal(category('DockerComposeService'), 'runtime');
  });
});

describe('dashboard logins', () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as http.IncomingMessage;

  it('takes each link once, and no link made with another key', () => {
    const key = newKey();
    const s = new Sessions(key, 4000);
    const token = mintToken(key);
    const id = s.login(token);
    assert.ok(id);
    assert.equal(s.login(token), undefined);
    assert.equal(s.login(mintToken(newKey())), undefined);
    assert.equal(s.login('garbage'), undefined);
    assert.ok(s.authenticated(req({ cookie: `other=1; ferry_dashboard_4000=${id}` })));
    assert.ok(!s.authenticated(req({ cookie: `ferry_dashboard_4001=${id}` })));
    assert.ok(!s.authenticated(req({})));
    assert.match(s.cookie(id!), /HttpOnly; SameSite=Strict/);
  });

  it('answers only loopback names and takes changes only from its own origin', () => {
    const hosts = allowedHosts('127.0.0.1', 4000);
    assert.ok(hosts.has('localhost:4000') && hosts.has('127.0.0.1:4000') && hosts.has('[::1]:4000'));
    assert.ok(!hosts.has('evil.example:4000') && !hosts.has('127.0.0.1:4001'));
    assert.ok(sameOrigin(req({ host: '127.0.0.1:4000', origin: 'http://127.0.0.1:4000' }), hosts));
    assert.ok(!sameOrigin(req({ host: '127.0.0.1:4000', origin: 'http://evil.example' }), hosts));
    assert.ok(!sameOrigin(req({ host: '127.0.0.1:4000', origin: 'null' }), hosts));
    assert.ok(!sameOrigin(req({ host: '127.0.0.1:4000' }), hosts));
  });
});

describe('ferry ui', () => {
  it('mints a new working link from the data directory, or says no dashboard runs', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-ui-'));
    try {
      assert.throws(() => dashboardLink(dir), /no dashboard is running/);
      const key = newKey();
      fs.writeFileSync(path.join(dir, 'dashboard.json'), JSON.stringify({ url: 'http://127.0.0.1:4000/', key, pid: process.pid }));
      const a = dashboardLink(dir);
      const b = dashboardLink(dir);
      assert.notEqual(a, b);
      const sessions = new Sessions(key, 4000);
      for (const link of [a, b]) assert.ok(sessions.login(new URL(link).searchParams.get('token')!));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('opens no browser without a display, and does not fail', () => {
    if (process.platform !== 'linux') return;
    assert.equal(openBrowser('http://127.0.0.1:1/', {}), false);
  });
});
