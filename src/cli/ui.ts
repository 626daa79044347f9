/**
 * `ferry ui`: print a fresh login link to the running daemon's dashboard, and open it in a
 * browser when one is available. The link is minted here with the key the daemon keeps in
 * `<data dir>/dashboard.json` (mode 0600), so each printed link works once.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { dashboardFile, mintToken, readDashboardInfo } from '../dashboard/server.ts';
import { CliError } from './context.ts';

/** dashboardLink returns a one-time login link to the dashboard of the daemon using dataDir. */
export function dashboardLink(dataDir: string): string {
  const info = readDashboardInfo(path.join(dataDir, dashboardFile));
  if (!info || !alive(info.pid)) {
    throw new CliError(`no dashboard is running for ${dataDir}: start one with \`ferry serve\` (its --dashboard-port must not be 0)`);
  }
  return `${info.url}?token=${mintToken(info.key)}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * openBrowser asks the desktop to open url (xdg-open, or open on macOS) and says whether it
 * tried. Without a display, or without the opener, it does nothing: never an error.
 */
export function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'linux' && (env.DISPLAY || env.WAYLAND_DISPLAY) ? 'xdg-open' : undefined;
  if (!opener) return false;
  try {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}

/** runUi prints the link and opens it unless told not to. */
export function runUi(dataDir: string, opts: { open: boolean; out: (s: string) => void }): void {
  const url = dashboardLink(dataDir);
  opts.out(url);
  if (opts.open) openBrowser(url);
}
