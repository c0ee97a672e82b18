/**
 * Large batches: logProb (exact trace) and sample of FFJORD's toy network on 10³ … 10⁶ points, chunked
 * under the flow's memoryLimit (flows/chunks.ts). Prints throughput against batch size (flat means
 * linear time), the peak of tfjs's memory and the process's resident memory, which stay bounded
 * however large the batch.
 *
 *   npx tsx bench/large_batch.ts [--max 1e6] [--memory-limit 268435456]
 */
import { CNF, ready, tf, toyData } from '../src/index.node.js';
import { machineLine } from './machine.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const max = Number(arg('max', '1e6'));
const memoryLimit = Number(arg('memory-limit', String(2 ** 28)));

await ready();
console.log(`bench/large_batch.ts: ${machineLine()}`);
const flow = new CNF({ dim: 2, hiddenDims: [64, 64, 64], seed: 0, memoryLimit });
console.log(`CNF 2-64-64-64-2, dopri5 rtol = atol = 1e-5, memoryLimit ${(memoryLimit / 2 ** 20).toFixed(0)} MiB\n`);
console.log(`${'batch'.padStart(9)}${'logProb pts/s'.padStart(15)}${'tfjs peak MiB'.padStart(15)}${'sample pts/s'.padStart(14)}${'tfjs peak MiB'.padStart(15)}${'RSS MiB'.padStart(10)}`);
for (let n = 1000; n <= max; n *= 10) {
  const x = toyData('8gaussians', n, 1);
  const row = [String(n).padStart(9)];
  for (const run of [() => flow.logProb(x), () => flow.sample(n, 2)]) {
    const started = performance.now();
    const profile = await tf.profile(() => {
      const out = run();
      out.dataSync();
      return out;
    });
    const seconds = (performance.now() - started) / 1000;
    tf.dispose(profile.result as tf.Tensor);
    row.push((n / seconds).toFixed(0).padStart(row.length === 1 ? 15 : 14), (profile.peakBytes / 2 ** 20).toFixed(0).padStart(15));
  }
  // cnfkit's kernels work in WebAssembly memory, which tfjs does not count (and which never shrinks): RSS shows it.
  console.log(row.join('') + (process.memoryUsage().rss / 2 ** 20).toFixed(0).padStart(10));
  x.dispose();
}
flow.dispose();
