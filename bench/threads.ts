/**
 * cnfkit's kernels on every core: the flow-matching step of FFJORD's toy network (concatsquash
 * 2-64-64-64-2, tanh, I-CFM sigma 0.1, Adam lr 3e-3) on 8gaussians, milliseconds per step by thread
 * count and batch size, beside PyTorch's same step on as many threads in the same run
 * (bench/reference/threads_torch.py, Debian's python3-torch at /usr/bin/python3; skipped when absent:
 * torch.set_num_threads(n) and its BLAS's threads set to n too), with its allocator tuned and as
 * installed (bench/torch_env.ts), the ratio against each.
 *
 * With --pairs N (the way to compare on this VM, whose speed drifts by tens of percent over
 * minutes), each batch and thread count n runs N pairs instead: cnfkit on n threads and PyTorch in
 * every configuration of its two thread pools on at most n cores (its own and its BLAS's, each
 * 1 … n) back to back, PyTorch in one long-lived process kept warm (allocator tuned), the order
 * reversed every pair, one pair unrecorded; each ratio is taken within a pair, against PyTorch on n
 * threads and against PyTorch's fastest configuration in the pair.
 *
 *   npx tsx bench/threads.ts [--threads 1,2] [--batches 256,1024] [--steps 300] [--rounds 1] [--no-torch]
 *   npx tsx bench/threads.ts --pairs 20 [--threads 1,2] [--batches 1024] [--steps 300]
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
if (!Number.isInteger(pairs) || pairs < 0) throw new Error(`--pairs takes a whole number of pairs, not '${arg('pairs', '')}'`);
const withTorch = !process.argv.includes('--no-torch');

const first = await ready({ threads: 1 });
console.log(`bench/threads.ts: ${machineLine()}; fused multiply-adds ${first.kernelFma ? 'on' : 'off'}`);
console.log(
  pairs > 0
    ? `flow-matching step, FFJORD's toy network, for each thread count ${pairs} pairs of cnfkit and PyTorch back to back, ${steps} steps a side, after one pair unrecorded\n`
    : `flow-matching step, FFJORD's toy network, ${steps} steps after 30 of warm-up, ${rounds} round(s) of cnfkit then PyTorch\n`,
);

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

/** The BLAS PyTorch reported at each thread count. */
const blasSeen = new Set<string>();

// PyTorch twice a round: with the allocator kept (the faster setting, which the ratio is against)
// and with glibc's defaults, as installed (bench/torch_env.ts).
const python = '/usr/bin/python3';
const script = fileURLToPath(new URL('./reference/threads_torch.py', import.meta.url));
function torchRound(): void {
  for (const [side, defaultMalloc] of [['kept', false], ['defaults', true]] as const) {
    try {
      // No OMP_NUM_THREADS: the script sets each count (torch.set_num_threads, and its BLAS's threads).
      const out = execFileSync(python, [script, '--threads', threadCounts.join(','), '--batches', batches.join(','), '--steps', String(steps)], { encoding: 'utf8', env: torchEnv(undefined, defaultMalloc) });
      for (const line of out.trim().split('\n')) {
        const r = JSON.parse(line) as { threads: number; batch: number; seconds_per_step: number; blas: string };
        record(side, `${r.threads}:${r.batch}`, 1000 * r.seconds_per_step);
        blasSeen.add(r.blas);
      }
    } catch (e) {
      console.log(`(PyTorch side failed: ${(e as Error).message.split('\n')[0]})`);
    }
  }
}

/** The q-quantile of a list of figures (the nearest rank; 0.5: the median, the upper one of an even count). */
const quantile = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(q * v.length))];
const median = (v: number[]) => quantile(v, 0.5);

/** A configuration of PyTorch's threads: torch.set_num_threads(own), its BLAS on `blas`. */
interface TorchThreads {
  own: number;
  blas: number;
}

/** PyTorch's step from one long-lived process (threads_torch.py --serve), one request at a time. */
class TorchSteps {
  private readonly child = spawn(python, [script, '--serve'], { env: torchEnv(undefined, false), stdio: ['pipe', 'pipe', 'inherit'] });
  private readonly lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  private failure?: Error;
  /** The BLAS, as the last answer named it (its thread count changes with the request). */
  blas = '';

  constructor() {
    this.child.on('error', (e) => (this.failure = e));
    this.child.stdin!.on('error', (e) => (this.failure ??= e));
  }

  async msPerStep({ own, blas }: TorchThreads, batch: number): Promise<number> {
    if (this.failure) throw new Error(`the PyTorch process failed: ${this.failure.message}`);
    this.child.stdin!.write(`${JSON.stringify({ threads: own, blas, batch, steps })}\n`);
    // A step takes milliseconds: a minute to start and a second a step mean a stuck process, not a slow one.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the PyTorch process did not answer')), 60_000 + 1000 * steps)));
    try {
      const { value, done } = await Promise.race([this.lines.next(), timeout]);
      if (done) throw new Error(`the PyTorch process stopped${this.failureNote()}`);
      const answer = JSON.parse(value) as { seconds_per_step: number; blas: string };
      this.blas = answer.blas.replace(/, \d+ thread\(s\)$/, '');
      return 1000 * answer.seconds_per_step;
    } finally {
      clearTimeout(timer);
    }
  }

  /** ': why', when the process failed (set by its event handlers, between awaits). */
  private failureNote(): string {
    return this.failure ? `: ${this.failure.message}` : '';
  }

  close(): void {
    this.child.stdin!.end();
    // A process that does not leave on end of input is stopped.
    setTimeout(() => this.child.exitCode === null && this.child.kill(), 2000).unref();
  }
}

/** Figures as their median and quartiles. */
const spread = (v: number[], digits = 3, unit = '') => `${median(v).toFixed(digits)}${unit} (${quantile(v, 0.25).toFixed(digits)}-${quantile(v, 0.75).toFixed(digits)})`;

/**
 * --pairs: for each batch and each thread count n, N pairs, each cnfkit on n threads and PyTorch in
 * every configuration of its threads on at most n cores, back to back (the order reversed every
 * pair), the ratios taken within the pair: against PyTorch on n threads (n its own and n its
 * BLAS's) and against PyTorch's fastest configuration in that pair (its best on those cores).
 */
async function pairedRuns(): Promise<void> {
  const torch = new TorchSteps();
  const data = toyData('8gaussians', 20000, 0);
  const named = (c: TorchThreads) => `${c.own}+${c.blas}`;
  const rows: string[] = [];
  let blasLine = '';
  try {
    for (const batchSize of batches) {
      for (const threads of threadCounts) {
        const info = await ready({ threads });
        if (plannedKernelThreads() !== threads) throw new Error(`cnfkit asked for ${threads} threads but runs on ${info.kernelThreads}`);
        const flow = new CNF({ dim: 2, seed: 0 });
        const cnfkitMs = async (seed: number) =>
          (1000 * (await flow.fit(data, { objective: 'flow-matching', iterations: steps, batchSize, learningRate: 3e-3, seed })).seconds) / steps;
        const configs: TorchThreads[] = [];
        for (let own = 1; own <= threads; own++) for (let blas = 1; blas <= threads; blas++) configs.push({ own, blas });
        const ours: number[] = [];
        const theirs = new Map(configs.map((c) => [named(c), [] as number[]]));
        // Pair 0 is unrecorded: both sides' first few hundred steps (and new kernel threads) run slower.
        for (let pair = 0; pair <= pairs; pair++) {
          const runs: (() => Promise<void>)[] = [
            async () => void ours.push(await cnfkitMs(pair)),
            ...configs.map((c) => async () => void theirs.get(named(c))!.push(await torch.msPerStep(c, batchSize))),
          ];
          for (const run of pair % 2 === 0 ? runs : runs.reverse()) await run();
          if (pair === 0) {
            ours.pop();
            for (const v of theirs.values()) v.pop();
            continue;
          }
          console.log(`  pair ${pair}, batch ${batchSize}: cnfkit on ${threads} thread(s) ${ours[pair - 1].toFixed(3)}, PyTorch ${configs.map((c) => `${named(c)} ${theirs.get(named(c))![pair - 1].toFixed(3)}`).join(', ')} ms/step`);
        }
        flow.dispose();
        blasLine = torch.blas;
        const same = theirs.get(named({ own: threads, blas: threads }))!;
        const best = ours.map((_, i) => Math.min(...configs.map((c) => theirs.get(named(c))![i])));
        const fastest = configs.map((c) => ({ c, ms: median(theirs.get(named(c))!) })).sort((a, b) => a.ms - b.ms)[0].c;
        rows.push(`| ${threads} | ${batchSize} | ${spread(ours)} | ${spread(same)} | ${spread(ours.map((o, i) => o / same[i]), 2, 'x')} | ${spread(best)} (fastest by median: ${named(fastest)}) | ${spread(ours.map((o, i) => o / best[i]), 2, 'x')} |`);
        if (configs.length > 1) console.log(`  PyTorch by configuration, batch ${batchSize} (its threads + its BLAS's: ms/step): ${configs.map((c) => `${named(c)} ${spread(theirs.get(named(c))!)}`).join('; ')}`);
      }
    }
  } finally {
    torch.close();
    tf.dispose(data);
  }
  console.log(`\n${torchAllocatorLine(false)}; PyTorch's BLAS: ${blasLine}; ${pairs} pairs of ${steps} steps a side; medians, quartiles in brackets\n`);
  console.log("| threads | batch | cnfkit ms/step | PyTorch on as many threads (its own and its BLAS's) | ratio within each pair | PyTorch's best on at most as many cores (its threads + its BLAS's) | ratio to it within each pair |");
  console.log('|---|---|---|---|---|---|---|');
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
else console.log(`\n${torchAllocatorLine(false)}; beside it, ${torchAllocatorLine(true).replace(' (--torch-default-malloc)', '')}\nPyTorch's BLAS: ${[...blasSeen].join('; ')}`);

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

