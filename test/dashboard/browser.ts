/**
 * The browser the dashboard tests drive: Debian's Chromium through playwright-core.
 */
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** chromiumPath is the browser binary ($FERRY_TEST_CHROMIUM, default Debian's). */
export const chromiumPath = process.env.FERRY_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** chromiumArgs are Chromium's flags for this machine (see /work/shared/ENV.md, "A real browser"). */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** launchChromium starts the browser with a fresh profile; a missing browser is an error, not a skip. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(chromiumPath)) {
    // Under CI a missing browser is a failure: the provisioning should have installed it.
    throw new Error(`no Chromium at ${chromiumPath}: scripts/provision.sh installs Debian's chromium`);
  }
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}
