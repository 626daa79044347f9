/**
 * The dashboard page after a full load with the login cookie already set (F5, a second tab,
 * back and forward): the rows show even when nothing changes in the daemon afterwards, so the
 * page cannot lean on a later event to draw what the stream's first events said. One quiet
 * daemon (a Cmd that has finished), one browser.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { runFerry, startFerryProcess, type FerryProcess } from '../support/daemon.ts';
import { ensureDashboardBuilt } from '../support/dashboard.ts';
import { launchChromium } from './browser.ts';

const objects = `
apiVersion: tilt.dev/v1alpha1
kind: Cmd
metadata:
  name: quiet
  annotations: {tilt.dev/resource: quiet}
spec:
  args: [sh, -c, echo ready]
`;

describe('the dashboard page on a full load', () => {
  let ferry: FerryProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let link: string;

  before(async () => {
    ensureDashboardBuilt();
    ferry = await startFerryProcess({ args: ['--storage', 'memory', '--dashboard-port', 'auto'] });
    const applied = await runFerry(['--data-dir', ferry.dataDir, 'apply', '-f', '-'], { input: objects });
    assert.equal(applied.code, 0, applied.stderr);
    link = /dashboard: (\S+)/.exec(ferry.output())![1];
    base = link.replace(/\?.*$/, '');
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    await page.goto(link);
    await page.locator('tr[data-resource="quiet"]').waitFor();
    // Let the Cmd finish: from here on the daemon sends nothing new.
    await page.locator('tr[data-resource="quiet"] .s-ok, tr[data-resource="quiet"] .s-error').first().waitFor();
  });

  after(async () => {
    await browser?.close();
    await ferry?.stop();
  });

  const rowsShown = (p: Page) => p.locator('tr[data-resource="quiet"]').waitFor({ timeout: 15_000 });

  it('shows the rows after a reload, a load of the overview from a resource page, back and forward', async () => {
    for (let i = 0; i < 2; i++) {
      await page.reload();
      await rowsShown(page);
      await page.goto(`${base}#/r/quiet`);
      await page.getByTestId('resource-page').waitFor();
      await page.goto(base);
      await rowsShown(page);
      await page.goBack();
      await page.getByTestId('resource-page').waitFor();
      await page.goForward();
      await rowsShown(page);
    }
  });

  it('shows the rows when the printed link, used already, is opened again in the same browser', async () => {
    await page.goto(link);
    assert.equal(page.url(), base);
    await rowsShown(page);
  });

  it('shows the rows in a second tab, also one in the background whose timers run late', async () => {
    const tab = await context.newPage();
    await tab.goto(base);
    await rowsShown(tab);
    await tab.close();
    // A tab opened in the background gets no animation frames and its timers run at most once
    // a second (Chromium throttles hidden pages), so the stream's first events come before the
    // page's effects run.
    const background = await context.newPage();
    await background.addInitScript(() => {
      window.requestAnimationFrame = () => 0;
      const setTimeoutNow = window.setTimeout.bind(window);
      window.setTimeout = ((fn: TimerHandler, ms?: number, ...args: unknown[]) => setTimeoutNow(fn, Math.max(ms ?? 0, 1000), ...args)) as typeof window.setTimeout;
    });
    await background.goto(base);
    await rowsShown(background);
    assert.equal(await background.getByTestId('connection').textContent(), 'live');
    await background.close();
  });
});
