/**
 * The web dashboard end to end: a real `ferry serve` with the Docker example (and a resource
 * whose build fails), driven by Debian's Chromium through playwright-core. One daemon, one
 * browser, steps in order. Screenshots of the overview and a resource page go to the test output
 * folder ($FERRY_TEST_OUTPUT, default test-output/).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { FerryClient } from '../../src/client/client.ts';
import { loadKubeConfig } from '../../src/client/kubeconfig.ts';
import type { CmdImage, DockerComposeService } from '../../src/apis/index.ts';
import { readManifests } from '../../src/cli/manifests.ts';
import { requireDocker, testImages } from '../support/docker.ts';
import { runFerry, startFerryProcess, type FerryProcess } from '../support/daemon.ts';
import { ensureDashboardBuilt } from '../support/dashboard.ts';
import { waitFor } from '../support/wait.ts';
import { launchChromium } from './browser.ts';

const outputDir = path.resolve(process.env.FERRY_TEST_OUTPUT ?? path.join(import.meta.dirname, '../../test-output'), 'dashboard');
const example = path.resolve(import.meta.dirname, '../../deploy/examples/docker');

const brokenYaml = `
apiVersion: tilt.dev/v1alpha1
kind: CmdImage
metadata:
  name: broken-image
  annotations:
    tilt.dev/resource: broken
spec:
  ref: ferry-dashboard-broken
  args: ["sh", "-c", "echo compiling the broken image; echo 'error: this build is broken on purpose' >&2; exit 3"]
  dir: .
  cluster: docker
`;

/** request sends a plain HTTP request to the dashboard, outside the browser. */
function request(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      // A stream answers at once and stays open: the status is all a refusal test needs.
      if (res.headers['content-type']?.startsWith('text/event-stream')) {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
        res.destroy();
      }
    });
    req.on('error', reject);
    req.end(opts.method === 'POST' ? '{}' : undefined);
  });
}

/** readStream opens the event stream and returns what it sent within ms. */
function readStream(url: string, headers: Record<string, string>, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      setTimeout(() => {
        res.destroy();
        resolve(body);
      }, ms);
    });
    req.on('error', reject);
  });
}

describe('the dashboard in a browser', () => {
  let dir: string;
  let ferry: FerryProcess;
  let client: FerryClient;
  let browser: Browser;
  let page: Page;
  let base: string;
  let project: string;

  before(async () => {
    await requireDocker();
    ensureDashboardBuilt();
    fs.mkdirSync(outputDir, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-dashboard-'));
    fs.cpSync(example, dir, { recursive: true });
    // Names of our own, so that a concurrent run of the examples test does not share them.
    project = `ferry-dash-${process.pid}`;
    for (const f of ['ferry.yaml', 'compose.yaml']) {
      const p = path.join(dir, f);
      fs.writeFileSync(p, fs.readFileSync(p, 'utf8').replaceAll('ferry-example', project));
    }
    fs.writeFileSync(path.join(dir, 'broken.yaml'), brokenYaml);
    ferry = await startFerryProcess({
      cwd: dir,
      args: ['--storage', 'memory', '--dashboard-port', 'auto', '--filewatch-quiet-ms', '50'],
      env: { EXAMPLE_BASE_IMAGE: testImages.busybox },
    });
    const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)\?token=\S+/.exec(ferry.output());
    assert.ok(m, `ferry serve printed no dashboard link:\n${ferry.output()}`);
    base = m[1];
    client = new FerryClient(loadKubeConfig(ferry.kubeconfigPath));
    for (const f of ['ferry.yaml', 'broken.yaml']) {
      const r = await runFerry(['--data-dir', ferry.dataDir, 'apply', '-f', f], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
    }
    // Playwright gives the browser a fresh profile directory of its own.
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    if (client) {
      for (const f of ['broken.yaml', 'ferry.yaml']) {
        for (const m of readManifests([path.join(dir, f)]).reverse()) await client.delete(m.object.kind!, m.object.metadata.name!).catch(() => undefined);
      }
      // The DockerComposeService's finalizer takes its container down before the object goes.
      await waitFor(async () => !(await client.get('DockerComposeService', 'web')), { timeoutMs: 60_000 }).catch(() => undefined);
      client.close();
    }
    await ferry?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const loginLink = async () => {
    const r = await runFerry(['--data-dir', ferry.dataDir, 'ui', '--no-open']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  it('refuses requests without the cookie, from a foreign Host, and cross-origin changes', async () => {
    const link = await loginLink();
    assert.ok(link.startsWith(`${base}?token=`), link);
    assert.equal((await request(base)).status, 401);
    assert.equal((await request(`${base}api/events`)).status, 401);
    assert.equal((await request(`${base}api/resources/web/trigger`, { method: 'POST', headers: { Origin: base.slice(0, -1) } })).status, 401);
    assert.equal((await request(`${base}?token=0123.4567`)).status, 401);

    const login = await request(link);
    assert.equal(login.status, 303);
    assert.equal(login.headers.location, '/');
    const setCookie = String(login.headers['set-cookie']);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    const cookie = setCookie.split(';')[0];
    // A link works once; a browser logged in already that opens it again just gets the page.
    assert.equal((await request(link)).status, 401);
    const again = await request(link, { headers: { Cookie: cookie } });
    assert.equal(again.status, 303);
    assert.equal(again.headers.location, '/');
    assert.equal(again.headers['set-cookie'], undefined);

    assert.equal((await request(base, { headers: { Cookie: cookie } })).status, 200);
    assert.equal((await request(`${base}api/events`, { headers: { Cookie: cookie } })).status, 200);
    const port = new URL(base).port;
    // DNS rebinding: a page of another name that resolves to 127.0.0.1 sends its own Host.
    assert.equal((await request(base, { headers: { Cookie: cookie, Host: `rebind.example:${port}` } })).status, 403);
    assert.equal((await request(`${base}api/resources/web`, { headers: { Cookie: cookie, Host: `rebind.example:${port}` } })).status, 403);
    // A change from another origin, or without one, is refused; from the dashboard's own it passes.
    const trigger = `${base}api/resources/broken/trigger`;
    assert.equal((await request(trigger, { method: 'POST', headers: { Cookie: cookie, Origin: 'http://evil.example' } })).status, 403);
    assert.equal((await request(trigger, { method: 'POST', headers: { Cookie: cookie, Origin: `http://localhost:${port}` } })).status, 403);
    assert.equal((await request(trigger, { method: 'POST', headers: { Cookie: cookie } })).status, 403);
    assert.equal((await request(`${base}api/resources/nope/trigger`, { method: 'POST', headers: { Cookie: cookie, Origin: base.slice(0, -1) } })).status, 404);

    // The stream resumes from Last-Event-ID with what changed meanwhile, not a new snapshot.
    const first = await readStream(`${base}api/events`, { Cookie: cookie }, 300);
    assert.match(first, /event: snapshot/);
    const lastId = [...first.matchAll(/^id: (\S+)$/gm)].at(-1)![1];
    const ok = await request(trigger, { method: 'POST', headers: { Cookie: cookie, Origin: base.slice(0, -1) } });
    assert.equal(ok.status, 200, ok.body);
    const resumed = await readStream(`${base}api/events`, { Cookie: cookie, 'Last-Event-ID': lastId }, 500);
    assert.doesNotMatch(resumed, /event: snapshot/);
    assert.match(resumed, /event: resource\ndata: \{"name":"broken"/);
    assert.match(await readStream(`${base}api/events`, { Cookie: cookie, 'Last-Event-ID': '999999.0' }, 300), /event: snapshot/);
  });

  it('logs in with the printed link and lists the resources', async () => {
    const link = /dashboard: (\S+)/.exec(ferry.output())![1];
    await page.goto(link);
    assert.equal(page.url(), base, 'the token is stripped from the address');
    const cookies = await page.context().cookies();
    assert.ok(cookies.some((c) => c.httpOnly && c.sameSite === 'Strict'), JSON.stringify(cookies));
    assert.equal(await page.evaluate(() => document.cookie), '', 'the page cannot read its cookie');
    await page.locator('tr[data-resource="web"]').waitFor();
    await page.locator('tr[data-resource="broken"]').waitFor();
    await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor();
    const html = await page.content();
    assert.ok(!html.includes(fs.readFileSync(path.join(ferry.dataDir, 'token'), 'utf8').trim()), 'the API token is not in the page');
  });

  it('works by keyboard and in a narrow window', async () => {
    await page.setViewportSize({ width: 420, height: 900 });
    const row = await page.locator('tr[data-resource="web"]').boundingBox();
    assert.ok(row && row.x >= 0 && row.x + row.width <= 420, `the row fits: ${JSON.stringify(row)}`);
    await page.locator('input[type="search"]').focus();
    let reached = false;
    for (let i = 0; i < 30 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent === 'web' && document.activeElement.tagName === 'A');
    }
    assert.ok(reached, 'Tab reaches the link to the resource');
    await page.keyboard.press('Enter');
    await page.getByTestId('resource-page').waitFor();
    assert.equal(new URL(page.url()).hash, '#/r/web');
    await page.screenshot({ path: path.join(outputDir, 'narrow.png'), fullPage: false });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole('link', { name: /All resources/ }).click();
    await page.locator('tr[data-resource="web"]').waitFor();
    // A full load of the overview from a resource page (F5, the address typed) shows the rows too.
    await page.goBack();
    await page.getByTestId('resource-page').waitFor();
    await page.goto(base);
    await page.locator('tr[data-resource="web"]').waitFor();
  });

  it('shows a failing build with its error and its log', async () => {
    await page.getByTestId('alerts').filter({ hasText: 'broken' }).waitFor({ timeout: 60_000 });
    await page.locator('tr[data-resource="broken"] .s-error').waitFor({ timeout: 60_000 });
    await page.screenshot({ path: path.join(outputDir, 'overview.png'), fullPage: true });
    await page.locator('tr[data-resource="broken"] a').click();
    await page.getByTestId('last-error').waitFor();
    await page.getByTestId('logs').filter({ hasText: 'this build is broken on purpose' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('builds').filter({ hasText: 'broken-image' }).waitFor();
  });

  it('shows a saved change synced into the container, with its log streaming', async () => {
    await page.goto(`${base}#/r/web`);
    await page.getByTestId('resource-page').waitFor();
    const running = async () => (await client.get<DockerComposeService>('DockerComposeService', 'web'))?.status?.containerState?.status === 'running';
    await waitFor(running, { timeoutMs: 120_000, message: 'the web container runs' });
    await page.locator('.states .s-ok').first().waitFor({ timeout: 60_000 });
    const logs = page.getByTestId('logs');
    const before = await logs.locator('.line').count();
    fs.writeFileSync(path.join(dir, 'app/src/index.html'), '<h1>edited from the dashboard test</h1>\n');
    await page.getByTestId('sync').filter({ hasText: 'index.html' }).first().waitFor({ timeout: 30_000 });
    await page.getByTestId('file-events').filter({ hasText: 'synced by web to /app/src' }).waitFor();
    // New lines arrive over the stream while the page is open.
    await waitFor(async () => (await logs.locator('.line').count()) > before, { timeoutMs: 30_000, message: 'new log lines' });
    await page.screenshot({ path: path.join(outputDir, 'resource.png'), fullPage: true });
  });

  it('rebuilds on the trigger button', async () => {
    const image = `${project}-web`;
    const started = async () => (await client.get<CmdImage>('CmdImage', image))?.status?.completed?.startedAt;
    const before = await waitFor(started, { timeoutMs: 60_000 });
    const builds = page.getByTestId('builds').locator('tbody tr');
    const finished = async () => (await builds.allTextContents()).filter((t) => !t.includes('building')).length;
    const shown = await finished();
    await page.getByTestId('trigger-web').click();
    const after = await waitFor(async () => {
      const s = await started();
      return s !== before && s;
    }, { timeoutMs: 120_000, message: 'a new build of the image' });
    assert.ok(after > before);
    await waitFor(async () => (await finished()) > shown, { timeoutMs: 30_000, message: 'the new build in the page\'s history' });
  });

  it('stops the resource on disable and brings it back on enable', async () => {
    const dcs = () => client.get<DockerComposeService>('DockerComposeService', 'web');
    await page.getByTestId('toggle-disable').filter({ hasText: 'Disable' }).click();
    await page.locator('.states .s-disabled').first().waitFor({ timeout: 30_000 });
    await waitFor(async () => (await dcs())?.status?.disableStatus?.disabled === true && (await dcs())?.status?.containerState?.status !== 'running', {
      timeoutMs: 60_000,
      message: 'the service is disabled and its container stopped',
    });
    await page.getByTestId('toggle-disable').filter({ hasText: 'Enable' }).click();
    await waitFor(async () => (await dcs())?.status?.containerState?.status === 'running', { timeoutMs: 120_000, message: 'the container runs again' });
    await page.locator('.states .s-ok').first().waitFor({ timeout: 60_000 });
  });
});
