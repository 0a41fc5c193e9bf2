// Plain JavaScript on purpose: this runs before `npm ci`, when neither tsx nor any dependency exists yet.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const run = (command, args, options = {}) => spawnSync(command, args, { stdio: 'inherit', ...options });

/** Installs npm dependencies with `npm ci` when node_modules is missing or older than the lockfile. */
export function ensureNodeModules(root) {
  const modules = join(root, 'node_modules');
  const lock = join(root, 'package-lock.json');
  const marker = join(modules, '.package-lock.json');
  const fresh = existsSync(marker) && existsSync(lock) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs;
  if (fresh) return;
  console.log('[setup] installing npm dependencies (npm ci)…');
  const result = run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root });
  if (result.status !== 0) fail('npm ci failed; fix the error above and run it again.');
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = () => spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
const onPath = (binary) => spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0;

/** Debian packages the project runs, each with a way to tell whether it is already there. */
export const PACKAGES = {
  'redis-server': () => onPath('redis-server'),
  postgresql: () => existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'initdb'))),
  chromium: () => existsSync('/usr/bin/chromium'),
  'fonts-wqy-microhei': () => existsSync('/usr/share/fonts/truetype/wqy/wqy-microhei.ttc'),
};

/**
 * Makes sure the named Debian packages are installed: installs them with apt-get when running as root,
 * otherwise stops with the exact command to run.
 */
export function ensureDebianPackages(names) {
  const missing = names.filter((name) => !PACKAGES[name]());
  if (missing.length === 0) return;
  const command = `apt-get install -y ${missing.join(' ')}`;
  if (!isRoot() || !hasApt()) fail(`missing system packages: ${missing.join(', ')}. Run as root: ${command}`);
  console.log(`[setup] installing ${missing.join(', ')} with apt-get…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let result = run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env });
  if (result.status !== 0) {
    run('apt-get', ['update'], { env });
    result = run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env });
  }
  if (result.status !== 0) fail(`apt-get could not install ${missing.join(', ')}. Run: ${command}`);
}

function fail(message) {
  console.error(`[setup] ${message}`);
  process.exit(1);
}
