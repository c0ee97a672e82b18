/**
 * The contract of a density model (zuko's test_flows), over the flow's configurations and on every
 * host compute path, each path proven to have run: log p is log N(z) + log|det ∂z/∂x| with the
 * Jacobian from central differences of the flow map, the density integrates to one, the map inverts,
 * Hutchinson's estimate is unbiased, and seeds reproduce.
 *
 * The full matrix (every activation × trace × blocks × dim × path) is derived from the registries; CI
 * runs a covering subset (each value of each factor at least once, both paths for every row) and
 * `CNFKIT_FULL_MATRIX=1 npm test -- cnf_contract` runs all of it.
 */
import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, type ActivationName } from '../src/nn/activations.js';
import { CNF, tf } from '../src/index.js';
import { kernelsImplement } from '../src/nn/compute_path.js';
import { HOST_PATHS, onPath } from './compute_paths.js';

interface Config {
  activation: ActivationName;
  trace: 'exact' | 'hutchinson';
  blocks: number;
  dim: number;
}

const FACTORS = {
  activation: Object.keys(ACTIVATIONS) as ActivationName[],
  trace: ['exact', 'hutchinson'] as const,
  blocks: [1, 2],
  dim: [2, 10],
};

const FULL: Config[] = FACTORS.activation.flatMap((activation) =>
  FACTORS.trace.flatMap((trace) => FACTORS.blocks.flatMap((blocks) => FACTORS.dim.map((dim) => ({ activation, trace, blocks, dim })))),
);

/** Rows of the full matrix such that every value of every factor appears, cycling the others. */
function coveringSubset(): Config[] {
  const longest = Math.max(...Object.values(FACTORS).map((values) => values.length));
  return Array.from({ length: longest }, (_, i) => ({
    activation: FACTORS.activation[i % FACTORS.activation.length],
    trace: FACTORS.trace[i % FACTORS.trace.length],
    blocks: FACTORS.blocks[(i >> 1) % FACTORS.blocks.length],
    dim: FACTORS.dim[(i + (i >> 1)) % FACTORS.dim.length],
  }));
}

const CONFIGS = process.env.CNFKIT_FULL_MATRIX === '1' ? FULL : coveringSubset();
const ROWS = CONFIGS.flatMap((c) => HOST_PATHS.map((path) => ({ ...c, path })));

/** A flow of the configuration, solved tightly enough for central differences in float32. */
function makeFlow(c: Config): CNF {
  return new CNF({ dim: c.dim, hiddenDims: [16, 16], activation: c.activation, trace: c.trace, blocks: c.blocks, seed: 11, rtol: 1e-6, atol: 1e-6 });
}

/** log|det A| of a small dense matrix by Gaussian elimination with partial pivoting (float64). */
function logAbsDet(a: number[][]): number {
  const m = a.map((row) => [...row]);
  const n = m.length;
  let sum = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i][k]) > Math.abs(m[p][k])) p = i;
    [m[k], m[p]] = [m[p], m[k]];
    sum += Math.log(Math.abs(m[k][k]));
    for (let i = k + 1; i < n; i++) {
      const f = m[i][k] / m[k][k];
      for (let j = k; j < n; j++) m[i][j] -= f * m[k][j];
    }
  }
  return sum;
}

describe('the CNF contract on every configuration and compute path', () => {
  it('covers every value of every factor', () => {
    for (const [factor, values] of Object.entries(FACTORS)) {
      expect(new Set(CONFIGS.map((c) => c[factor as keyof Config])), factor).toEqual(new Set<unknown>(values));
    }
  });

  it.each(ROWS)('$activation, $trace trace, $blocks block(s), dim $dim, $path', async (row) => {
    // Where the kernels do not implement a network, it must fall back to tfjs, visibly.
    const ran = row.path === 'wasm-kernels' && kernelsImplement({ layer: 'concatsquash', activation: row.activation }) ? 'wasm-kernels' : 'tfjs';
    await onPath(row.path, () => {
      const flow = makeFlow(row);
      const { dim } = row;
      const before = tf.memory().numTensors;
      const x = tf.tidy(() => tf.mul(tf.randomNormal([3, dim], 0, 1, 'float32', 5), 0.7) as tf.Tensor2D);
      const points = x.arraySync() as number[][];

      // Change of variables: log p(x) = log N(z) + log|det ∂z/∂x|, the Jacobian by central differences.
      const exact = tf.tidy(() => flow.logProb(x, { trace: 'exact' }).arraySync() as number[]);
      const h = 1e-2;
      points.forEach((p, b) => {
        const shifted = p.flatMap((_, j) => [-1, 1].map((sign) => p.map((v, k) => (k === j ? v + sign * h : v))));
        const z = tf.tidy(() => flow.toLatent(tf.tensor2d(shifted)).arraySync() as number[][]);
        const jacobian = Array.from({ length: dim }, (_, i) => Array.from({ length: dim }, (_, j) => (z[2 * j + 1][i] - z[2 * j][i]) / (2 * h)));
        const z0 = tf.tidy(() => flow.toLatent(tf.tensor2d([p])).arraySync() as number[][])[0];
        const logN = -0.5 * z0.reduce((s, v) => s + v * v, 0) - (dim / 2) * Math.log(2 * Math.PI);
        expect(Math.abs(exact[b] - (logN + logAbsDet(jacobian))), `point ${b}`).toBeLessThan(5e-3 * dim);
      });

      // The map inverts.
      const back = tf.tidy(() => flow.fromLatent(flow.toLatent(x)).arraySync() as number[][]);
      back.forEach((r, b) => r.forEach((v, j) => expect(Math.abs(v - points[b][j])).toBeLessThan(1e-3)));

      // Hutchinson is unbiased: the mean of 64 estimates is within 4 standard errors of the exact value.
      if (row.trace === 'hutchinson') {
        const estimates = Array.from({ length: 64 }, (_, seed) => tf.tidy(() => flow.logProb(x, { trace: 'hutchinson', seed }).arraySync() as number[]));
        exact.forEach((e, b) => {
          const values = estimates.map((r) => r[b]);
          const mean = values.reduce((s, v) => s + v, 0) / values.length;
          const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
          expect(Math.abs(mean - e), `point ${b}`).toBeLessThanOrEqual(4 * (sd / Math.sqrt(values.length)) + 1e-4);
        });
      }

      // Seeds reproduce: the same seed, the same samples; another seed, others.
      const [a, b, c] = [flow.sample(8, 3), flow.sample(8, 3), flow.sample(8, 4)];
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
      expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));

      // The density integrates to one (in two dimensions, on a grid over [−6, 6]²).
      if (dim === 2) {
        const n = 60;
        const cell = 12 / n;
        const grid = tf.tensor2d(Array.from({ length: n * n }, (_, i) => [-6 + (Math.floor(i / n) + 0.5) * cell, -6 + ((i % n) + 0.5) * cell]));
        const mass = tf.tidy(() => tf.sum(tf.exp(flow.logProb(grid))).dataSync()[0]) * cell * cell;
        expect(Math.abs(mass - 1)).toBeLessThan(0.02);
        grid.dispose();
      }
      tf.dispose([x, a, b, c]);
      expect(tf.memory().numTensors).toBe(before);
      flow.dispose();
    }, ran);
  });
});
