/**
 * ensureDashboardBuilt builds the dashboard page (ui/ into dist/dashboard, as `npm run build`
 * does) when it is missing or older than its sources, so the daemons the tests start from the
 * sources can serve it. It takes about a second.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

export function ensureDashboardBuilt(): void {
  const built = fs.statSync(path.join(root, 'dist/dashboard/index.html'), { throwIfNoEntry: false });
  const sources = Math.max(newest(path.join(root, 'ui/src')), fs.statSync(path.join(root, 'ui/index.html')).mtimeMs, fs.statSync(path.join(root, 'ui/vite.config.ts')).mtimeMs);
  if (built && built.mtimeMs >= sources) return;
  execFileSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', path.join(root, 'ui/vite.config.ts')], { cwd: root, stdio: 'inherit' });
}
