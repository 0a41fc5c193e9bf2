// Child process: the WeCom simulator on its own event loop (WeCom is a remote service; sharing the
// product's event loop would charge the simulator's work to the product). The parent seeds it through
// the control API (POST /sim/reset) and stops it by closing stdin. A line `loop` on stdin asks for the
// simulator's event-loop delay since the previous ask (its own lag inflates the answer times it
// records for the product's callback endpoint).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startSimulator } from '../../wecom-sim/index.ts';
import { exitWithParent } from './child.ts';

const sim = await startSimulator({ host: '127.0.0.1' });
exitWithParent(() => sim.close());
const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
let pending = '';
process.stdin.on('data', (chunk: Buffer) => {
  pending += chunk.toString();
  let newline: number;
  while ((newline = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, newline).trim();
    pending = pending.slice(newline + 1);
    if (line !== 'loop') continue;
    const ms = (v: number) => Math.round(v / 1e4) / 100;
    process.stdout.write(`LOOP ${JSON.stringify({ p50: ms(histogram.percentile(50)), p90: ms(histogram.percentile(90)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), mean: ms(histogram.mean) })}\n`);
    histogram.reset();
  }
});
process.stdout.write(`${JSON.stringify({ url: sim.url })}\n`);
