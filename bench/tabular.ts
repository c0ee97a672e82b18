/**
 * Beyond two dimensions: flow matching on a d-dimensional set with an exact density, d = 8, 16, 32,
 * 64, timed and scored beside PyTorch on the same machine (bench/reference/tabular_torch.py, the same
 * model and protocol, run by this script when Debian's python3-torch is there).
 *
 * The data: x = R s, s_j independent ½N(−2, ½²) + ½N(2, ½²), R a seeded rotation: non-Gaussian, with
 * log p(x) = Σ_j log p₁((Rᵀx)_j) exact and entropy d·H₁ (H₁ by quadrature), so the held-out NLL has a
 * floor to be measured against. The model: FFJORD's ConcatSquash network, two hidden layers of
 * max(64, 4d), tanh, T = 0.5; I-CFM (σ 0.1), batch 512, Adam 1e-3; held-out NLL of 1000 points with
 * the exact trace, dopri5 rtol = atol = 1e-5.
 *
 *   npx tsx bench/tabular.ts [--dims 8,16,32,64] [--iterations 1500] [--no-torch]   (each side on CNFKIT_THREADS threads, default every core)
 *   npx tsx bench/tabular.ts --trace-costs [--dims 2,4,8,16,32]
 *   npx tsx bench/tabular.ts --race [--dims 32] [--gap 0.1] [--eval-every 1000] [--iterations 30000] [--no-torch]
 *   npx tsx bench/tabular.ts --ml [--dims 8] [--blocks 2] [--iterations 1000] [--eval-every 250] [--no-torch]
 *
 * `--trace-costs` prints instead the cost of a maximum-likelihood iteration (batch 256, the same
 * network) with the exact trace (d tangents per evaluation) and Hutchinson's (one), by d.
 * `--race` trains each side until its held-out NLL (every `--eval-every` iterations, not timed) is within
 * `--gap` nats per dimension of the true entropy d·H₁, and prints the training seconds to get there,
 * both sides on the same number of threads (cnfkit's kernel threads, `CNFKIT_THREADS` or every core;
 * PyTorch's set_num_threads).
 * `--ml` trains by maximum likelihood in FFJORD's tabular configuration (`--blocks` stacked CNFs, two
 * hidden layers of 10·d, softplus, T = 1 trained, Hutchinson with Rademacher noise, batch 1000, Adam
 * 1e-3, weight decay 1e-6, dopri5 1e-5) beside FFJORD itself (bench/reference/ffjord_tabular.py, run
 * when FFJORD_SRC and TORCHDIFFEQ_SRC name its sources), on the same number of threads.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CNF, createStats, ready, tf } from '../src/index.node.js';
import { Rng } from '../src/random.js';
import { torchAllocatorLine, torchEnv } from './torch_env.js';
import { plannedKernelThreads } from '../src/native/runtime.js';
import { machineLine } from './machine.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const dims = arg('dims', '8,16,32,64').split(',').map(Number);
const iterations = Number(arg('iterations', '1500'));
const withTorch = !process.argv.includes('--no-torch');

/** The 1-D bimodal density p₁ and its entropy H₁ (trapezoid rule on [−8, 8], 2·10⁵ intervals). */
const SIGMA = 0.5;
const logP1 = (s: number) => {
  const a = -((s - 2) ** 2) / (2 * SIGMA * SIGMA);
  const b = -((s + 2) ** 2) / (2 * SIGMA * SIGMA);
  const m = Math.max(a, b);
  return m + Math.log(0.5 * Math.exp(a - m) + 0.5 * Math.exp(b - m)) - Math.log(SIGMA * Math.sqrt(2 * Math.PI));
};
function entropy1(): number {
  const n = 200_000;
  const h = 16 / n;
  let sum = 0;
  for (let i = 0; i <= n; i++) {
    const s = -8 + i * h;
    const lp = logP1(s);
    sum += (i === 0 || i === n ? 0.5 : 1) * -Math.exp(lp) * lp;
  }
  return sum * h;
}

/** A seeded rotation (Gram–Schmidt of Gaussian columns), row-major d×d. */
function rotation(d: number, rng: Rng): Float64Array {
  const q = new Float64Array(d * d);
  for (let c = 0; c < d; c++) {
    const v = Array.from(rng.normals(d));
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += v[i] * q[i * d + p];
      for (let i = 0; i < d; i++) v[i] -= dot * q[i * d + p];
    }
    const norm = Math.hypot(...v);
    for (let i = 0; i < d; i++) q[i * d + c] = v[i] / norm;
  }
  return q;
}

/** n points of the d-dimensional set, and their exact log-densities. */
function sampleSet(d: number, n: number, r: Float64Array, rng: Rng): { x: Float32Array; logp: Float64Array } {
  const x = new Float32Array(n * d);
  const logp = new Float64Array(n);
  const noise = rng.normals(n * d);
  const signs = rng.uniforms(n * d);
  for (let k = 0; k < n; k++) {
    const s = Array.from({ length: d }, (_, j) => (signs[k * d + j] < 0.5 ? -2 : 2) + SIGMA * noise[k * d + j]);
    logp[k] = s.reduce((acc, v) => acc + logP1(v), 0);
    for (let i = 0; i < d; i++) {
      let v = 0;
      for (let j = 0; j < d; j++) v += r[i * d + j] * s[j];
      x[k * d + i] = v;
    }
  }
  return { x, logp };
}

// The same number of threads on both sides: as many as cnfkit's kernels run on (CNFKIT_THREADS, which
// ready() reads, by default every core; one where threads cannot start).
await ready();
const threads = plannedKernelThreads();
console.log(`bench/tabular.ts: ${machineLine()}`);
if (withTorch) console.log(torchAllocatorLine());
if (process.argv.includes('--trace-costs')) {
  console.log('maximum likelihood, batch 256, ms per iteration (forward + adjoint evaluations)');
  for (const d of dims) {
    const hidden = Math.max(64, 4 * d);
    const data = tf.randomNormal([4000, d]) as tf.Tensor2D;
    const cells: string[] = [];
    for (const trace of ['exact', 'hutchinson'] as const) {
      const flow = new CNF({ dim: d, hiddenDims: [hidden, hidden], seed: 0, trace });
      await flow.fit(data, { iterations: 2, batchSize: 256 });
      const r = await flow.fit(data, { iterations: 6, batchSize: 256 });
      const last = r.history[r.history.length - 1];
      cells.push(`${trace} ${((1000 * r.seconds) / 6).toFixed(0)} ms (${last.nfeForward}+${last.nfeBackward})`);
      flow.dispose();
    }
    console.log(`  d ${String(d).padStart(2)}, hidden ${String(hidden).padStart(3)}: ${cells.join(', ')}`);
    data.dispose();
  }
  process.exit(0);
}
const h1 = entropy1();
if (process.argv.includes('--ml')) {
  await likelihoodBesideFfjord(Number(arg('blocks', '2')), Number(arg('eval-every', '250')));
  process.exit(0);
}
if (process.argv.includes('--race')) {
  await race(Number(arg('gap', '0.1')), Number(arg('eval-every', '1000')));
  process.exit(0);
}
console.log(`rotated product of ½N(−2, ½²) + ½N(2, ½²): entropy ${h1.toFixed(4)} nats per dimension; I-CFM, batch 512, Adam 1e-3, ${iterations} iterations\n`);
const rows: string[] = [];
/** The BLAS PyTorch reported (its products' library and threads). */
let torchBlas = '';
for (const d of dims) {
  const { train, test, testLogp, hidden } = problem(d);
  const flow = new CNF({ dim: d, hiddenDims: [hidden, hidden], seed: 0 });
  const data = tf.tensor2d(train, [20_000, d]);
  // Plain Adam, as tabular_torch.py's (fit's default weight decay is 1e-5).
  const report = await flow.fit(data, { iterations, objective: 'flow-matching', batchSize: 512, learningRate: 1e-3, weightDecay: 0 });
  const perIteration = report.seconds / iterations;
  const x = tf.tensor2d(test, [1000, d]);
  const head = x.slice([0, 0], [8, d]);
  tf.dispose([head, await flow.logProbAsync(head)]); // warm-up, as PyTorch's side has
  const evalStats = createStats();
  const started = performance.now();
  const logp = await flow.logProbAsync(x, { stats: evalStats });
  const nll = -Array.from(await logp.data()).reduce((a, b) => a + b, 0) / 1000;
  logp.dispose();
  const evalSeconds = (performance.now() - started) / 1000;
  const trueNll = -testLogp.reduce((a, b) => a + b, 0) / 1000;
  let torch = '';
  const script = new URL('reference/tabular_torch.py', import.meta.url).pathname;
  if (withTorch && existsSync('/usr/bin/python3')) {
    try {
      const out = execFileSync('/usr/bin/python3', [script, '--dim', String(d), '--iterations', String(iterations), '--threads', String(threads)], { encoding: 'utf8', env: torchEnv(threads), timeout: 1_800_000 });
      const last = JSON.parse(out.trim().split('\n').pop()!);
      torch = `${(1000 * last.seconds_per_iteration).toFixed(2).padStart(9)} ms ${last.nll.toFixed(3).padStart(8)} ${last.eval_seconds.toFixed(1).padStart(7)} s (NFE ${last.eval_nfe})`;
      torchBlas = last.blas;
    } catch (e) {
      torch = `torch failed: ${(e as Error).message.split('\n')[0].slice(0, 60)}`;
    }
  }
  rows.push(`${String(d).padStart(3)} ${String(hidden).padStart(6)} ${(1000 * perIteration).toFixed(2).padStart(9)} ms ${nll.toFixed(3).padStart(8)} ${evalSeconds.toFixed(1).padStart(7)} s (NFE ${evalStats.nfe}) ${trueNll.toFixed(3).padStart(9)} ${(d * h1).toFixed(3).padStart(9)}   ${torch}`);
  console.log(rows[rows.length - 1]);
  tf.dispose([data, x]);
  flow.dispose();
}
if (torchBlas) console.log(`\nPyTorch's BLAS: ${torchBlas}`);
console.log(`\n  d hidden   cnfkit/it  cnfkit NLL  (eval)   test −log p  d·H₁    PyTorch/it  PyTorch NLL (eval)   (${withTorch ? `${threads} thread(s) each: CNFKIT_THREADS; PyTorch's own and its BLAS's` : `cnfkit on ${threads} thread(s), CNFKIT_THREADS; PyTorch not run`})`);
for (const row of rows) console.log(row);

/** The d-dimensional problem of seed `tabular:d`: training and test points, and the network's width. */
function problem(d: number): { train: Float32Array; test: Float32Array; testLogp: Float64Array; hidden: number } {
  const rng = new Rng(`tabular:${d}`);
  const r = rotation(d, rng);
  const train = sampleSet(d, 20_000, r, rng);
  const test = sampleSet(d, 1000, r, rng);
  return { train: train.x, test: test.x, testLogp: test.logp, hidden: Math.max(64, 4 * d) };
}

/** Time to a held-out NLL within `gap` nats per dimension of d·H₁, cnfkit and PyTorch, same protocol. */
async function race(gap: number, every: number): Promise<void> {
  for (const d of dims) {
    const target = d * (h1 + gap);
    console.log(`d ${d} on ${threads} thread(s) each: I-CFM, batch 512, Adam 1e-3, until the held-out NLL ≤ ${target.toFixed(3)} (d·H₁ ${(d * h1).toFixed(3)} + ${gap} nats/dim), at most ${iterations} iterations; NLL every ${every}`);
    const { train, test, hidden } = problem(d);
    const flow = new CNF({ dim: d, hiddenDims: [hidden, hidden], seed: 0 });
    const data = tf.tensor2d(train, [20_000, d]);
    const x = tf.tensor2d(test, [1000, d]);
    const stop = new AbortController();
    let evalSeconds = 0;
    let reached: { iteration: number; seconds: number } | undefined;
    await flow.fit(data, {
      iterations,
      objective: 'flow-matching',
      batchSize: 512,
      learningRate: 1e-3,
      weightDecay: 0, // plain Adam, as tabular_torch.py's
      signal: stop.signal,
      onProgress: (r) => {
        if (r.iteration % every !== 0) return;
        // r.seconds was taken before this evaluation: only the earlier ones come off it.
        const seconds = r.seconds - evalSeconds;
        const started = performance.now();
        const nll = tf.tidy(() => -tf.mean(flow.logProb(x)).dataSync()[0]);
        evalSeconds += (performance.now() - started) / 1000;
        console.log(`  cnfkit   iteration ${String(r.iteration).padStart(6)}  ${seconds.toFixed(1).padStart(7)} s  NLL ${nll.toFixed(3)}  (${((nll - d * h1) / d).toFixed(3)} nats/dim above)`);
        if (nll <= target && !reached) {
          reached = { iteration: r.iteration, seconds };
          stop.abort();
        }
      },
    });
    tf.dispose([data, x]);
    flow.dispose();
    let torchReached: { iteration: number; seconds: number } | undefined;
    const script = new URL('reference/tabular_torch.py', import.meta.url).pathname;
    if (withTorch && existsSync('/usr/bin/python3')) {
      const args = [script, '--dim', String(d), '--iterations', String(iterations), '--eval-every', String(every), '--stop-at', String(target), '--threads', String(threads)];
      const out = execFileSync('/usr/bin/python3', args, { encoding: 'utf8', env: torchEnv(threads), timeout: 3_600_000 });
      for (const line of out.trim().split('\n')) {
        const e = JSON.parse(line);
        if (e.iteration === undefined) {
          if (e.blas) console.log(`  PyTorch's BLAS: ${e.blas}`);
          continue;
        }
        console.log(`  PyTorch  iteration ${String(e.iteration).padStart(6)}  ${e.seconds.toFixed(1).padStart(7)} s  NLL ${e.nll.toFixed(3)}  (${((e.nll - d * h1) / d).toFixed(3)} nats/dim above)`);
        if (e.nll <= target && !torchReached) torchReached = { iteration: e.iteration, seconds: e.seconds };
      }
    }
    const say = (who: string, r?: { iteration: number; seconds: number }) => `${who} ${r ? `${r.seconds.toFixed(1)} s (iteration ${r.iteration})` : `not within ${iterations} iterations`}`;
    console.log(`d ${d}, time to within ${gap} nats/dim: ${say('cnfkit', reached)}; ${withTorch ? say('PyTorch', torchReached) : 'PyTorch not run'}\n`);
  }
}

/** Maximum likelihood in FFJORD's tabular configuration, cnfkit and FFJORD, held-out NLL against training seconds. */
async function likelihoodBesideFfjord(blocks: number, every: number): Promise<void> {
  for (const d of dims) {
    console.log(`d ${d} on ${threads} thread(s) each: maximum likelihood, ${blocks} blocks of ConcatSquash ${10 * d}-${10 * d}, softplus, T = 1 trained, Hutchinson (Rademacher), batch 1000, Adam 1e-3, dopri5 1e-5; exact-trace NLL of 1000 held-out points every ${every} (d·H₁ ${(d * h1).toFixed(3)})`);
    const { train, test } = problem(d);
    const flow = new CNF({ dim: d, hiddenDims: [10 * d, 10 * d], blocks, activation: 'softplus', T: 1, trainT: true, trace: 'hutchinson', noise: 'rademacher', rtol: 1e-5, atol: 1e-5, seed: 0 });
    const data = tf.tensor2d(train, [20_000, d]);
    const x = tf.tensor2d(test, [1000, d]);
    let evalSeconds = 0;
    let last = 0;
    await flow.fit(data, {
      iterations,
      batchSize: 1000,
      learningRate: 1e-3,
      weightDecay: 1e-6,
      onProgress: (r) => {
        if (r.iteration % every !== 0 && r.iteration !== iterations) return;
        last = r.seconds - evalSeconds; // taken before this evaluation
        const started = performance.now();
        const nll = tf.tidy(() => -tf.mean(flow.logProb(x, { trace: 'exact' })).dataSync()[0]);
        evalSeconds += (performance.now() - started) / 1000;
        console.log(`  cnfkit  iteration ${String(r.iteration).padStart(5)}  ${last.toFixed(1).padStart(7)} s  NLL ${nll.toFixed(3)}  NFE ${r.nfeForward}/${r.nfeBackward}  T ${r.endTimes.map((t) => t.toFixed(2)).join(',')}`);
      },
    });
    console.log(`  cnfkit: ${((1000 * last) / iterations).toFixed(0)} ms/iteration, ${flow.trainableVariables.reduce((n, v) => n + v.size, 0)} parameters`);
    tf.dispose([data, x]);
    flow.dispose();
    const script = new URL('reference/ffjord_tabular.py', import.meta.url).pathname;
    if (!withTorch) continue;
    if (!process.env.FFJORD_SRC || !process.env.TORCHDIFFEQ_SRC || !existsSync('/usr/bin/python3')) {
      console.log('  FFJORD not run: set FFJORD_SRC and TORCHDIFFEQ_SRC (see bench/reference/ffjord_tabular.py)');
      continue;
    }
    const args = [script, '--dim', String(d), '--blocks', String(blocks), '--iterations', String(iterations), '--eval-every', String(every), '--threads', String(threads)];
    const out = execFileSync('/usr/bin/python3', args, { encoding: 'utf8', env: torchEnv(threads), timeout: 7_200_000 });
    for (const line of out.trim().split('\n')) {
      const e = JSON.parse(line);
      if (e.iteration !== undefined) console.log(`  FFJORD  iteration ${String(e.iteration).padStart(5)}  ${e.seconds.toFixed(1).padStart(7)} s  NLL ${e.nll.toFixed(3)}  NFE ${e.nfe.map((n: number) => n.toFixed(0)).join('/')}`);
      else console.log(`  FFJORD: ${(1000 * e.seconds_per_iteration).toFixed(0)} ms/iteration, ${e.parameters} parameters; its BLAS: ${e.blas}`);
    }
  }
}
