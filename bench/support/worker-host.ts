// Child process: the product in role 'worker' (what `npm run start:worker` runs), next to a role
// 'server' in the parent, so the two use a core each as in production. Started with one JSON
// argument ({targets, options}); prints `{"ready":true}` once its workers run. A line `cpu` on stdin
// asks for the CPU milliseconds this process has used so far (`CPU <ms>`). Exits with its parent.
import { exitWithParent } from './child.ts';
import { startBenchProductAt, type BenchProductOptions, type BenchTargets } from './product.ts';

const { targets, options } = JSON.parse(process.argv[2] ?? '{}') as { targets: BenchTargets; options: BenchProductOptions };
const product = await startBenchProductAt(targets, { ...options, role: 'worker' });
exitWithParent(() => product.stop());
let pending = '';
process.stdin.on('data', (chunk: Buffer) => {
  pending += chunk.toString();
  let newline: number;
  while ((newline = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, newline).trim();
    pending = pending.slice(newline + 1);
    if (line !== 'cpu') continue;
    const used = process.cpuUsage();
    process.stdout.write(`CPU ${(used.user + used.system) / 1000}\n`);
  }
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
