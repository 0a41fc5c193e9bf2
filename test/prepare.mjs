// `npm test` and `npm run bench` start here: everything a fresh Debian machine with only Node and npm
// lacks is installed before vitest (itself an npm dependency) can run.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianPackages, ensureNodeModules } from '../server/runtime/system-packages.mjs';
import { ensureWebBuild } from '../sidebar/build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureNodeModules(root);
ensureDebianPackages(['redis-server', 'postgresql']);
// The browser tests (test/e2e) drive the built web app in Debian's chromium, with a CJK font.
ensureDebianPackages(['chromium', 'fonts-wqy-microhei']);
ensureWebBuild(root);
