// Standalone simulator: `tsx wecom-sim/main.ts`. Listens on SIM_PORT, else PORT, else 4000, seeded
// with the demo company, and prints its base URL. An optional callback target comes from
// SIM_CALLBACK_URL / SIM_CALLBACK_TOKEN / SIM_CALLBACK_AES_KEY.
import { demoCompany, startSimulator } from './index.ts';
import type { CompanyFixture } from './index.ts';

const port = Number(process.env.SIM_PORT ?? process.env.PORT ?? 4000);
const host = process.env.SIM_HOST ?? '127.0.0.1';
const seed: CompanyFixture = { ...demoCompany() };
const { SIM_CALLBACK_URL: url, SIM_CALLBACK_TOKEN: token, SIM_CALLBACK_AES_KEY: aesKey } = process.env;
if (url && token && aesKey) seed.callback = { url, token, aesKey };

const sim = await startSimulator({ port, host, seed, log: (line) => console.log(`[wecom-sim] ${line}`) });
console.log(`WeCom simulator listening on ${sim.url}`);
console.log(`  WeCom API: ${sim.url}/cgi-bin/...   control API: ${sim.url}/sim/...`);

const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
