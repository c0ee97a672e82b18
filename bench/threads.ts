/**
 * cnfkit's kernels on every core: the flow-matching step of FFJORD's toy network (concatsquash
 * 2-64-64-64-2, tanh, I-CFM sigma 0.1, Adam lr 3e-3) on 8gaussians, milliseconds per step by thread
 * count and batch size, beside PyTorch's same step with torch.set_num_threads(n) in the same run
 * (bench/reference/threads_torch.py, Debian's python3-torch at /usr/bin/python3; skipped when absent),
 * with its allocator tuned and as installed (bench/torch_env.ts), the ratio against each.
 *
 * With --pairs N, each (threads, batch) runs N back-to-back pairs instead (cnfkit's steps, then
 * PyTorch's from one long-lived process kept warm, the order swapped every pair; allocator tuned) and
 * prints the median of the pairs' ratios: this VM's speed drifts by tens of percent over minutes, and
 * a ratio taken within one pair, a second or two apart, cancels what rounds minutes apart cannot.
 *
 *   npx tsx bench/threads.ts [--threads 1,2] [--batches 256,1024] [--steps 300] [--rounds 1] [--no-torch]
 *   npx tsx bench/threads.ts --pairs 20 [--threads 1] [--batches 1024] [--steps 300]
 *   node --experimental-wasm-relaxed-simd --import tsx bench/threads.ts   (Node 20: the fused multiply-add build)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CNF, ready, tf, toyData } from '../src/index.node.js';
import { plannedKernelThreads } from '../src/native/runtime.js';
import { machineLine } from './machine.js';
import { torchAllocatorLine, torchEnv } from './torch_env.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const threadCounts = arg('threads', [1, os.availableParallelism()].filter((n, i, a) => a.indexOf(n) === i).join(',')).split(',').map(Number);
const batches = arg('batches', '256,1024').split(',').map(Number);
const steps = Number(arg('steps', '300'));
const rounds = Number(arg('rounds', '1'));
const pairs = Number(arg('pairs', '0'));
const withTorch = !process.argv.includes('--no-torch');

const first = await ready({ threads: 1 });
console.log(`bench/threads.ts: ${machineLine()}; fused multiply-adds ${first.kernelFma ? 'on' : 'off'}`);
console.log(`flow-matching step, FFJORD's toy network, ${steps} steps after 30 of warm-up, ${pairs > 0 ? `${pairs} pairs of cnfkit and PyTorch back to back, after one pair unrecorded` : `${rounds} round(s) of cnfkit then PyTorch`}\n`);

/** Milliseconds per step of every round, by side and `threads:batch`. */
const runs = { cnfkit: new Map<string, number[]>(), kept: new Map<string, number[]>(), defaults: new Map<string, number[]>() };
const record = (side: keyof typeof runs, key: string, ms: number) => runs[side].set(key, [...(runs[side].get(key) ?? []), ms]);

async function cnfkitRound(): Promise<void> {
  for (const threads of threadCounts) {
    const info = await ready({ threads });
    // PyTorch gets the count asked for: a run whose kernel threads did not start says so, loudly.
    if (plannedKernelThreads() !== threads) console.log(`  (cnfkit asked for ${threads} threads but runs on ${info.kernelThreads}: its rows below are not ${threads} threads)`);
    for (const batchSize of batches) {
      const data = toyData('8gaussians', 20000, 0);
      const flow = new CNF({ dim: 2, seed: 0 });
      await flow.fit(data, { objective: 'flow-matching', iterations: 30, batchSize, learningRate: 3e-3, seed: 0 });
      const report = await flow.fit(data, { objective: 'flow-matching', iterations: steps, batchSize, learningRate: 3e-3, seed: 1 });
      record('cnfkit', `${threads}:${batchSize}`, (1000 * report.seconds) / steps);
      console.log(`  cnfkit, ${info.kernelThreads}, batch ${batchSize}: ${((1000 * report.seconds) / steps).toFixed(3)} ms/step`);
      flow.dispose();
      tf.dispose(data);
    }
  }
}

// PyTorch twice a round: with the allocator kept (the faster setting, which the ratio is against)
// and with glibc's defaults, as installed (bench/torch_env.ts).
const python = '/usr/bin/python3';
const script = fileURLToPath(new URL('./reference/threads_torch.py', import.meta.url));
function torchRound(): void {
  for (const [side, defaultMalloc] of [['kept', false], ['defaults', true]] as const) {
    try {
      // No OMP_NUM_THREADS: the script sets each count with torch.set_num_threads.
      const out = execFileSync(python, [script, '--threads', threadCounts.join(','), '--batches', batches.join(','), '--steps', String(steps)], { encoding: 'utf8', env: torchEnv(undefined, defaultMalloc) });
      for (const line of out.trim().split('\n')) {
        const r = JSON.parse(line) as { threads: number; batch: number; seconds_per_step: number };
        record(side, `${r.threads}:${r.batch}`, 1000 * r.seconds_per_step);
      }
    } catch (e) {
      console.log(`(PyTorch side failed: ${(e as Error).message.split('\n')[0]})`);
    }
  }
}

/** The q-quantile of a list of figures (the nearest rank; 0.5: the median, the upper one of an even count). */
const quantile = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(q * v.length))];
const median = (v: number[]) => quantile(v, 0.5);

/** PyTorch's step from one long-lived process (threads_torch.py --serve), one request at a time. */
class TorchSteps {
  private readonly child = spawn(python, [script, '--serve'], { env: torchEnv(undefined, false), stdio: ['pipe', 'pipe', 'inherit'] });
  private readonly lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();

  async msPerStep(threads: number, batch: number): Promise<number> {
    this.child.stdin!.write(`${JSON.stringify({ threads, batch, steps })}\n`);
    const { value, done } = await this.lines.next();
    if (done) throw new Error('the PyTorch process stopped');
    return 1000 * (JSON.parse(value) as { seconds_per_step: number }).seconds_per_step;
  }

  close(): void {
    this.child.stdin!.end();
  }
}

/**
 * --pairs: for each batch, N pairs, each cnfkit and PyTorch back to back at every thread count (the
 * order swapped every pair), the ratios taken within the pair: against PyTorch on as many threads,
 * and against PyTorch's fastest thread count in that pair (its best).
 */
async function pairedRuns(): Promise<void> {
  const torch = new TorchSteps();
  const data = toyData('8gaussians', 20000, 0);
  const rows: string[] = [];
  const spread = (v: number[], digits = 3, unit = '') => `${median(v).toFixed(digits)}${unit} (${quantile(v, 0.25).toFixed(digits)}-${quantile(v, 0.75).toFixed(digits)})`;
  try {
    for (const batchSize of batches) {
      const flow = new CNF({ dim: 2, seed: 0 });
      const cnfkitMs = async (threads: number, seed: number) => {
        const info = await ready({ threads });
        if (plannedKernelThreads() !== threads) throw new Error(`cnfkit asked for ${threads} threads but runs on ${info.kernelThreads}`);
        return (1000 * (await flow.fit(data, { objective: 'flow-matching', iterations: steps, batchSize, learningRate: 3e-3, seed })).seconds) / steps;
      };
      // One pair unrecorded: both sides' first few hundred steps run a few per cent slower.
      for (const threads of threadCounts) {
        await cnfkitMs(threads, -1);
        await torch.msPerStep(threads, batchSize);
      }
      const ours = threadCounts.map(() => [] as number[]);
      const theirs = threadCounts.map(() => [] as number[]);
      for (let pair = 0; pair < pairs; pair++) {
        for (const [i, threads] of threadCounts.entries()) {
          // Swapping the order every pair: neither side always runs just after the other.
          if (pair % 2 === 0) ours[i].push(await cnfkitMs(threads, pair));
          theirs[i].push(await torch.msPerStep(threads, batchSize));
          if (pair % 2 === 1) ours[i].push(await cnfkitMs(threads, pair));
        }
        console.log(`  pair ${pair + 1}, batch ${batchSize}: ${threadCounts.map((t, i) => `${t} thread(s) cnfkit ${ours[i][pair].toFixed(3)}, PyTorch ${theirs[i][pair].toFixed(3)} ms/step`).join('; ')}`);
      }
      flow.dispose();
      const best = theirs[0].map((_, pair) => Math.min(...theirs.map((v) => v[pair])));
      for (const [i, threads] of threadCounts.entries()) {
        const same = ours[i].map((o, pair) => o / theirs[i][pair]);
        const toBest = ours[i].map((o, pair) => o / best[pair]);
        rows.push(`| ${threads} | ${batchSize} | ${spread(ours[i])} | ${spread(theirs[i])} | ${spread(same, 2, 'x')} | ${spread(toBest, 2, 'x')} |`);
      }
    }
  } finally {
    torch.close();
    tf.dispose(data);
  }
  console.log(`\n${torchAllocatorLine(false)}; ${pairs} pairs of ${steps} steps a side; medians, quartiles in brackets\n`);
  console.log("| threads | batch | cnfkit ms/step | PyTorch ms/step | ratio within each pair | ratio to PyTorch's best thread count in each pair |");
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

const torchHere = withTorch && existsSync(python);
if (pairs > 0) {
  if (!torchHere) throw new Error(`--pairs needs PyTorch at ${python} (and no --no-torch)`);
  await pairedRuns();
  process.exit(0);
}
for (let round = 0; round < rounds; round++) {
  await cnfkitRound();
  if (torchHere) torchRound();
}
if (!withTorch) console.log('(PyTorch side skipped: --no-torch)');
else if (!torchHere) console.log(`(no ${python}: PyTorch side skipped)`);
else console.log(`\n${torchAllocatorLine(false)}; beside it, ${torchAllocatorLine(true).replace(' (--torch-default-malloc)', '')}`);

/** The range of a round's figures beside their median, when there are several. */
const shown = (v?: number[]) => (!v ? '—' : v.length === 1 ? v[0].toFixed(3) : `${median(v).toFixed(3)} (${Math.min(...v).toFixed(3)}-${Math.max(...v).toFixed(3)})`);
const ratio = (a: number[], b?: number[]) => (b ? `${(median(a) / median(b)).toFixed(2)}x` : '—');
/** PyTorch's fastest thread count at `batch` (allocator kept), by median: its best, whatever cnfkit's count. */
const bestTorch = (batch: number) =>
  threadCounts.map((t) => ({ t, v: runs.kept.get(`${t}:${batch}`) })).filter((x) => x.v).sort((x, y) => median(x.v!) - median(y.v!))[0];
console.log(`\n| threads | batch | cnfkit ms/step | PyTorch ms/step | ratio | PyTorch, glibc defaults | ratio | ratio to PyTorch's best |${rounds > 1 ? ' (medians of the rounds, their range in brackets)' : ''}`);
console.log('|---|---|---|---|---|---|---|---|');
for (const threads of threadCounts) {
  for (const batch of batches) {
    const key = `${threads}:${batch}`;
    const a = runs.cnfkit.get(key)!;
    const best = bestTorch(batch);
    console.log(`| ${threads} | ${batch} | ${shown(a)} | ${shown(runs.kept.get(key))} | ${ratio(a, runs.kept.get(key))} | ${shown(runs.defaults.get(key))} | ${ratio(a, runs.defaults.get(key))} | ${best ? `${ratio(a, best.v)} (its ${best.t} thread${best.t > 1 ? 's' : ''})` : '—'} |`);
  }
}

