/**
 * `npm run demo`: until the CNF demo lands, runs the ODE examples and lists the pictures they wrote.
 */
import { spawnSync } from 'node:child_process';

const examples = [
  ['examples/free_fall.ts'],
  ['examples/spiral.ts', '--iterations', '1500'],
];
for (const args of examples) {
  console.log(`\n== npx tsx ${args.join(' ')}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', ...args], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
console.log('\npictures: runs/examples/free_fall.png, runs/examples/spiral.png');
