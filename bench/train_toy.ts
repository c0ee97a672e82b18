/**
 * FFJORD's toy experiment with FFJORD's protocol (shared/reference/ffjord_toy): concatsquash
 * 64-64-64, tanh, T = 0.5 (trained), dopri5 rtol = atol = 1e-5, exact trace, batch 100, Adam 1e-3,
 * weight decay 1e-5, fresh samples every iteration; held-out NLL on 5000 points (seed 12345, exact
 * trace) every 250 iterations against cumulative training seconds (evaluation excluded); evaluations
 * per iteration; peak tensor memory.
 *
 *   taskset -c 0 npx tsx bench/train_toy.ts [--data 8gaussians] [--iterations 1500] [--batch 100]
 *                                            [--trace exact|hutchinson] [--objective maximum-likelihood|flow-matching]
 *                                            [--ffjord]
 *
 * Beside FFJORD's figures recorded in shared/reference/ffjord_toy, or with --ffjord beside FFJORD
 * run here first, in the same sitting (shared/reference/ffjord_toy/run_toy.py, pinned to core 0, one
 * thread, its allocator tuned: bench/torch_env.ts; FFJORD_SRC and TORCHDIFFEQ_SRC name its sources,
 * Debian's python3-torch runs it). cnfkit runs on every core of its affinity: under `taskset -c 0`
 * both sides have core 0 alone; unpinned, cnfkit's threads against FFJORD's one (the lines say which).
 */
import { existsSync, readFileSync } from 'node:fs';
import { CNF, TOY_ENTROPY, createStats, ready, tf, toyData, type Objective, type ToyDataset, type TraceMode } from '../src/index.node.js';
import { toyPoints } from '../src/data/toy.js';
import { Rng } from '../src/random.js';
import { runReferenceDriver } from './torch_env.js';
import { plannedKernelThreads } from '../src/native/runtime.js';
import { machineLine } from './machine.js';
import { withPeakBytes } from './peak_memory.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const data = arg('data', '8gaussians') as ToyDataset;
const iterations = Number(arg('iterations', '1500'));
const batchSize = Number(arg('batch', '100'));
const trace = arg('trace', 'exact') as TraceMode;
const objective = arg('objective', 'maximum-likelihood') as Objective;

const tag = `${data}_b${batchSize}_${trace === 'exact' ? 'exact' : 'hutchinson'}`;
const ffjordHere = process.argv.includes('--ffjord') && objective === 'maximum-likelihood' ? runFfjord() : undefined;

await ready();
console.log(`bench/train_toy.ts: ${machineLine()}`);
console.log(`${data}, ${objective}, ${trace} trace, batch ${batchSize}, ${iterations} iterations\n`);

const heldOut = toyData(data, 5000, 12345);
const flow = new CNF({ dim: 2, seed: 0, trace });
const evals: { iteration: number; nll: number; seconds: number; evalSeconds: number; evalNfe: number }[] = [];
let evalSeconds = 0;
const evaluate = (iteration: number, seconds: number) => {
  const started = performance.now();
  const stats = createStats();
  const nll = tf.tidy(() => -tf.mean(flow.logProb(heldOut, { stats })).dataSync()[0]);
  const took = (performance.now() - started) / 1000;
  evalSeconds += took;
  evals.push({ iteration, nll, seconds, evalSeconds: took, evalNfe: stats.nfe });
  console.log(`  iteration ${String(iteration).padStart(5)}  held-out NLL ${nll.toFixed(3)}  training ${seconds.toFixed(1)} s  T ${flow.endTimes()[0].toFixed(3)}  (evaluation ${took.toFixed(2)} s, NFE ${stats.nfe})`);
};
evaluate(0, 0);
// fit's clock starts after this evaluation: only the ones inside it come off its seconds.
evalSeconds = 0;
const sampler = (n: number, iteration: number) => tf.tensor2d(toyPoints(data, n, new Rng(`bench:${data}:${iteration}`)), [n, 2]);
let report!: Awaited<ReturnType<CNF['fit']>>;
const { peakBytes } = await (async () => {
  let peak = 0;
  report = await flow.fit(sampler, {
    iterations,
    batchSize,
    objective,
    learningRate: objective === 'flow-matching' ? 3e-3 : 1e-3,
    onProgress: (r) => {
      if (r.iteration % 250 === 0 || r.iteration === iterations) evaluate(r.iteration, r.seconds - evalSeconds);
    },
  });
  // Peak memory of one more training iteration, measured on its own.
  peak = withPeakBytes(() => {
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(flow.logProb(sampler(batchSize, 0)))) as tf.Scalar, flow.trainableVariables);
    tf.dispose([value, ...Object.values(grads)]);
  }).peakBytes;
  return { peakBytes: peak };
})();

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}
const last = report.history.slice(-500);
const perIteration = last.slice(1).map((r, i) => r.seconds - last[i].seconds);
console.log(`\nmedian over the last ${last.length} iterations: ${median(perIteration).toFixed(3)} s/iteration, NFE ${median(last.map((r) => r.nfeForward))}/${median(last.map((r) => r.nfeBackward))}`);
console.log(`peak tensor memory of one iteration: ${(peakBytes / 2 ** 20).toFixed(1)} MiB; entropy bound ${TOY_ENTROPY[data]?.toFixed(4) ?? 'none'}`);
const sampleStarted = performance.now();
tf.tidy(() => flow.sample(5000, 1).dataSync());
const sampleSeconds = (performance.now() - sampleStarted) / 1000;
console.log(`sample of 5000 points: ${sampleSeconds.toFixed(2)} s`);
console.log(`peak resident memory of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);

const referencePath = new URL('../../shared/reference/ffjord_toy/results.json', import.meta.url);
if (objective === 'maximum-likelihood' && (ffjordHere || existsSync(referencePath))) {
  const run = ffjordHere ?? JSON.parse(readFileSync(referencePath, 'utf8')).runs[tag];
  if (run) {
    const sides = `cnfkit on ${plannedKernelThreads()} kernel thread(s), FFJORD on one (its driver's), ${ffjordHere ? 'pinned to core 0, run by this script just before' : "recorded in shared/reference/ffjord_toy with glibc's default allocator"}`;
    console.log(`\nbeside FFJORD (${tag}; ${sides})`);
    console.log('  iteration: held-out NLL (training s) | FFJORD;   evaluation of the 5000 points: s (NFE) | FFJORD');
    for (const e of evals) {
      const r = run.evals.find((x: { iter: number }) => x.iter === e.iteration);
      if (r) {
        console.log(
          `  ${String(e.iteration).padStart(5)}: ${e.nll.toFixed(3)} (${e.seconds.toFixed(0)} s) | ${r.nll.toFixed(3)} (${r.cum_train_s.toFixed(0)} s);   ` +
            `${e.evalSeconds.toFixed(2)} s (${e.evalNfe}) | ${r.eval_s.toFixed(2)} s (${r.eval_nfe})`,
        );
      }
    }
    const last = evals[evals.length - 1];
    const theirs = run.evals.find((x: { iter: number }) => x.iter === last.iteration);
    if (theirs && last.iteration > 0) console.log(`  training to iteration ${last.iteration}: ${last.seconds.toFixed(1)} s against ${theirs.cum_train_s.toFixed(1)} s, ${(last.seconds / theirs.cum_train_s).toFixed(2)}x FFJORD's time (${plannedKernelThreads()} thread(s) against 1)`);
    console.log('  iterations: median s/iteration (NFE forward/backward) | FFJORD');
    for (const w of run.windows_250 as { iters: [number, number]; median_s: number; median_nfe_f: number; median_nfe_b: number }[]) {
      const ours = report.history.filter((r) => r.iteration >= w.iters[0] && r.iteration <= w.iters[1]);
      if (ours.length < 250) continue;
      const seconds = ours.slice(1).map((r, i) => r.seconds - ours[i].seconds);
      console.log(
        `  ${w.iters[0]}-${w.iters[1]}: ${median(seconds).toFixed(3)} (${median(ours.map((r) => r.nfeForward))}/${median(ours.map((r) => r.nfeBackward))}) | ` +
          `${w.median_s.toFixed(3)} (${w.median_nfe_f}/${w.median_nfe_b})`,
      );
    }
  }
}
heldOut.dispose();
flow.dispose();

/**
 * FFJORD on the same protocol, run now (see the header); its evaluations and 250-iteration windows
 * in the form of shared/reference/ffjord_toy/results.json, or undefined when it cannot run here.
 */
function runFfjord(): { evals: unknown[]; windows_250: unknown[] } | undefined {
  const args = ['--data', data, '--niters', String(iterations), '--batch_size', String(batchSize), '--divergence_fn', trace === 'exact' ? 'brute_force' : 'approximate'];
  const run = runReferenceDriver<{ evals: unknown[]; iters: { iter: number; s: number; nfe_f: number; nfe_b: number }[] }>({ name: 'FFJORD', flag: '--ffjord' }, 'ffjord_toy/run_toy.py', args, tag, 1, 0);
  if (!run) return undefined;
  const windows_250 = [];
  for (let from = 1; from + 249 <= run.iters.length; from += 250) {
    const w = run.iters.filter((r) => r.iter >= from && r.iter < from + 250);
    windows_250.push({ iters: [from, from + 249], median_s: median(w.map((r) => r.s)), median_nfe_f: median(w.map((r) => r.nfe_f)), median_nfe_b: median(w.map((r) => r.nfe_b)) });
  }
  return { evals: run.evals, windows_250 };
}
