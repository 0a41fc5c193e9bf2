// Builds the web app (sidebar/ → sidebar/dist) when it is missing or older than its sources. Plain
// JavaScript: `npm start` and `npm test` call it from server/launch.mjs and test/prepare.mjs before
// TypeScript is loaded; `npm run build:web` runs it with --force.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const STAMP = '.built';

function newestSource(dir, newest = 0) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    newest = entry.isDirectory() ? newestSource(path, newest) : Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** True when sidebar/dist is missing or any source (or the lockfile) changed after the last build. */
export function webBuildIsStale(root = join(here, '..')) {
  const stamp = join(here, 'dist', STAMP);
  if (!existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  const lock = join(root, 'package-lock.json');
  return newestSource(here) > built || (existsSync(lock) && statSync(lock).mtimeMs > built);
}

export function ensureWebBuild(root = join(here, '..'), { force = false } = {}) {
  if (!force && !webBuildIsStale(root)) return;
  console.log('[setup] building the web app (sidebar/ → sidebar/dist)…');
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  // Built aside, then swapped in: a server running meanwhile (or a second build) never sees half a dist.
  const dist = join(here, 'dist');
  const fresh = join(here, `.dist-${process.pid}`);
  const old = join(here, `.dist-old-${process.pid}`);
  const result = spawnSync(process.execPath, [vite, 'build', '--config', join(here, 'vite.config.ts'), '--outDir', fresh, '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    rmSync(fresh, { recursive: true, force: true });
    console.error('[setup] the web app did not build; fix the error above (or run `npm run build:web`).');
    process.exit(1);
  }
  writeFileSync(join(fresh, STAMP), new Date().toISOString() + '\n');
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(fresh, dist);
  rmSync(old, { recursive: true, force: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) ensureWebBuild(join(here, '..'), { force: process.argv.includes('--force') });
