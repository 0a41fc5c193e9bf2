// Entry of `npm start`, `npm run start:server|start:worker` and `npm run sim`. Plain JavaScript: it
// runs before dependencies exist, installs what is missing, then loads the TypeScript entry with tsx.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureDebianPackages, ensureNodeModules } from './runtime/system-packages.mjs';
import { ensureWebBuild } from '../sidebar/build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const role = process.argv[2] ?? 'all';

if (existsSync(join(root, '.env'))) process.loadEnvFile(join(root, '.env'));
ensureNodeModules(root);
if (role !== 'sim' && !process.env.REDIS_URL) ensureDebianPackages(['redis-server']);
// The web app (sidebar and admin console) the server serves: built when missing or older than its sources.
if (role === 'all' || role === 'server') ensureWebBuild(root);

const { register } = await import('tsx/esm/api');
register();
const entry = role === 'sim' ? join(root, 'wecom-sim', 'main.ts') : join(root, 'server', 'main.ts');
process.argv = [process.argv[0], entry, ...(role === 'sim' ? [] : [role])];
await import(pathToFileURL(entry).href);
