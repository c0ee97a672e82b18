/**
 * Flow matching on 8gaussians with the protocol of shared/reference/flow_matching (PyTorch I-CFM on
 * the same network): fresh training samples every iteration, a fixed held-out set of 5000 points
 * (seed 12345), exact-trace NLL with dopri5 rtol = atol = 1e-5 at 0.5, 1, 1.5, 2, 3, 4, 5, 6, 8, 10,
 * 12, 15, 20, 25 s of training and every 30 s after (evaluation time excluded).
 *
 *   taskset -c 0 npx tsx bench/flow_matching.ts [--budget 60] [--batch 1024] [--lr 3e-3] [--coupling independent] [--torch]
 *
 * Prints seconds per iteration (mean over the training seconds), the time to NLL 3.111 and 2.934, and
 * the best NLL, beside the PyTorch figures recorded in shared/reference/flow_matching on a machine like
 * ours (its median step, glibc's default allocator); with `--torch`, beside PyTorch run first by this
 * script (shared/reference/flow_matching/train_fm.py, the same budget, on as many threads as cnfkit's
 * kernels, its allocator tuned: bench/torch_env.ts; needs FFJORD_SRC and TORCHDIFFEQ_SRC).
 */
import { CNF, TOY_ENTROPY, ready, tf, toyData, type Coupling } from '../src/index.node.js';
import { toyPoints } from '../src/data/toy.js';
import { Rng } from '../src/random.js';
import { plannedKernelThreads } from '../src/native/runtime.js';
import { machineLine } from './machine.js';
import { runReferenceDriver } from './torch_env.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const budget = Number(arg('budget', '60'));
const batchSize = Number(arg('batch', '1024'));
const learningRate = Number(arg('lr', '3e-3'));
const coupling = arg('coupling', 'independent') as Coupling;

/** PyTorch I-CFM (and OT-CFM, `:ot`), sigma 0.1, same network, one pinned core (shared/reference/flow_matching/results.md). */
const REFERENCE: Record<string, { sPerIter: number; t3111: number | null; t2934: number | null; best: string }> = {
  '1024:0.003': { sPerIter: 0.00435, t3111: 2.0, t2934: 4.0, best: '2.856 (15 s) in 60 s' },
  '1024:0.001': { sPerIter: 0.00441, t3111: 5.0, t2934: 8.0, best: '2.848 (60 s) in 60 s; 2.837 (540 s) in 600 s' },
  '256:0.003': { sPerIter: 0.00245, t3111: 2.0, t2934: 4.0, best: '2.871 (25 s) in 60 s' },
  '256:0.001': { sPerIter: 0.00214, t3111: 4.0, t2934: 6.0, best: '2.853 (60 s) in 60 s' },
  '256:0.001:ot': { sPerIter: 0.01144, t3111: 25.0, t2934: 60.0, best: '2.863 (60 s) in 60 s' },
};

/** PyTorch's run of the same protocol, now, in the recorded figures' form (undefined when it cannot run here). */
function runTorch(threads: number): { sPerIter: number; t3111: number | null; t2934: number | null; best: string } | undefined {
  const args = ['--lr', String(learningRate), '--batch_size', String(batchSize), '--budget_s', String(budget), '--coupling', coupling === 'ot' ? 'exact_ot' : 'independent', '--threads', String(threads)];
  const r = runReferenceDriver<{ s_per_iter_mean: number; t_to_3_111: number | null; t_to_2_934: number | null; best_nll: number; best_at_s: number }>({ name: 'PyTorch', flag: '--torch' }, 'flow_matching/train_fm.py', args, 'torch', threads);
  return r && { sPerIter: r.s_per_iter_mean, t3111: r.t_to_3_111, t2934: r.t_to_2_934, best: `${r.best_nll.toFixed(3)} (${r.best_at_s.toFixed(0)} s) in ${budget} s` };
}
await ready();
// PyTorch on as many threads as cnfkit's kernels (every core of this process's affinity, as taskset sets it).
const threads = plannedKernelThreads();
const live = process.argv.includes('--torch') ? runTorch(threads) : undefined;
console.log(`bench/flow_matching.ts: ${machineLine()}${live ? `; PyTorch on ${threads} thread(s) too` : ''}`);
console.log(`I-CFM sigma 0.1, ${coupling} coupling, batch ${batchSize}, Adam lr ${learningRate}, weight decay 1e-5, budget ${budget} s\n`);

const heldOut = toyData('8gaussians', 5000, 12345);
const flow = new CNF({ dim: 2, seed: 0 });
const checkpoints = [0.5, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25];
for (let t = 30; t <= budget; t += 30) checkpoints.push(t);
const evals: { seconds: number; iteration: number; nll: number }[] = [];
let evalSeconds = 0;
let next = 0;
const controller = new AbortController();
const sampler = (n: number, iteration: number) => tf.tensor2d(toyPoints('8gaussians', n, new Rng(`bench:${iteration}`)), [n, 2]);
const evaluate = (seconds: number, iteration: number) => {
  const started = performance.now();
  const nll = tf.tidy(() => -tf.mean(flow.logProb(heldOut)).dataSync()[0]);
  evalSeconds += (performance.now() - started) / 1000;
  evals.push({ seconds, iteration, nll });
  console.log(`  ${seconds.toFixed(1).padStart(6)} s  iteration ${String(iteration).padStart(6)}  held-out NLL ${nll.toFixed(3)}`);
};
evaluate(0, 0);
// fit's clock starts after this evaluation: only the ones inside it come off its seconds.
evalSeconds = 0;
const report = await flow.fit(sampler, {
  iterations: 100_000_000,
  batchSize,
  learningRate,
  weightDecay: 1e-5,
  objective: 'flow-matching',
  sigma: 0.1,
  coupling,
  signal: controller.signal,
  onProgress: (r) => {
    const training = r.seconds - evalSeconds;
    if (next < checkpoints.length && training >= checkpoints[next]) {
      evaluate(training, r.iteration);
      while (next < checkpoints.length && training >= checkpoints[next]) next++;
    }
    if (training >= budget) controller.abort();
  },
});
const iterations = report.history.length;
const trainingSeconds = report.seconds - evalSeconds;
const firstBelow = (threshold: number) => evals.find((e) => e.nll <= threshold);
const best = evals.reduce((a, b) => (b.nll < a.nll ? b : a));
const fmt = (e?: { seconds: number; iteration: number }) => (e ? `${e.seconds.toFixed(1)} s (it ${e.iteration})` : 'not reached');
const ref = live ?? REFERENCE[`${batchSize}:${learningRate}${coupling === 'ot' ? ':ot' : ''}`];
const seconds = (t: number | null) => (t === null ? 'not reached' : `${t.toFixed(1)} s`);
console.log(`\n                         cnfkit                          ${live ? 'PyTorch, this run (mean step)' : 'PyTorch reference (recorded, median step)'}`);
console.log(`s/iteration              ${(trainingSeconds / iterations).toFixed(5).padEnd(32)}${ref ? ref.sPerIter.toFixed(5) : '-'}`);
console.log(`time to NLL <= 3.111     ${fmt(firstBelow(3.111)).padEnd(32)}${ref ? seconds(ref.t3111) : '-'}`);
console.log(`time to NLL <= 2.934     ${fmt(firstBelow(2.934)).padEnd(32)}${ref ? seconds(ref.t2934) : '-'}`);
console.log(`best NLL                 ${`${best.nll.toFixed(3)} (${best.seconds.toFixed(0)} s) in ${budget} s`.padEnd(32)}${ref ? ref.best : '-'}`);
console.log(`entropy bound            ${TOY_ENTROPY['8gaussians']!.toFixed(4)}`);
heldOut.dispose();
flow.dispose();
