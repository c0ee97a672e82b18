import { describe, expect, it } from 'vitest';
import { CNF, OdeInputError, createStats, tf } from '../src/index.js';
import type { DynamicsNet } from '../src/nn/dynamics_net.js';
import { drawRegressionProblem } from '../src/train/flow_matching.js';
import { linearSumAssignment, squaredDistances } from '../src/train/ot_coupling.js';
import { setWasmKernels } from '../src/native/runtime.js';
import { Rng } from '../src/random.js';

const netOf = (flow: CNF) => (flow as unknown as { blocks: { net: DynamicsNet }[] }).blocks[0].net;

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

// Each case runs on cnfkit's wasm kernels and on the JavaScript version of the same algorithm.
const onKernels = (on: boolean, fn: () => void) => {
  setWasmKernels(on);
  try {
    fn();
  } finally {
    setWasmKernels(true);
  }
};

describe('exact OT coupling', () => {
  it.each([
    [2, true],
    [3, false],
    [5, true],
    [7, false],
    [7, true],
  ])('finds the minimum-cost assignment of %i points (checked against every permutation; wasm kernels %s)', (n, kernels) => onKernels(kernels, () => {
    const rng = new Rng(`ot-${n}`);
    for (let trial = 0; trial < 5; trial++) {
      const a = rng.normals(2 * n);
      const b = rng.normals(2 * n);
      const cost = squaredDistances(a, b, n, 2);
      const assignment = linearSumAssignment(cost, n);
      expect(new Set(assignment).size).toBe(n);
      const total = (p: ArrayLike<number>) => Array.from(p).reduce((s, j, i) => s + cost[i * n + j], 0);
      const best = Math.min(...permutations(n).map(total));
      expect(total(assignment)).toBeCloseTo(best, 10);
    }
  }));
});

/** The textbook O(n³) Hungarian algorithm (e-maxx's form), an independent reference for larger n. */
function referenceAssignmentCost(cost: ArrayLike<number>, n: number): number {
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1);
  const way = new Int32Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(n + 1).fill(Infinity);
    const used = new Uint8Array(n + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const reduced = cost[(i0 - 1) * n + j - 1] - u[i0] - v[j];
        if (reduced < minv[j]) [minv[j], way[j]] = [reduced, j0];
        if (minv[j] < delta) [delta, j1] = [minv[j], j];
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  let total = 0;
  for (let j = 1; j <= n; j++) total += cost[(p[j] - 1) * n + j - 1];
  return total;
}

describe('exact OT coupling, larger batches', () => {
  it.each([
    [20, true],
    [64, false],
    [200, true],
    [200, false],
  ])('matches the textbook Hungarian algorithm on %i points, ties and repeated points included (wasm kernels %s)', (n, kernels) => onKernels(kernels, () => {
    const rng = new Rng(`ot-large-${n}`);
    for (let trial = 0; trial < 3; trial++) {
      // Points on a coarse integer grid (trial 0-1: many equal costs) or continuous ones.
      const coarse = trial < 2;
      const a = Float32Array.from(rng.normals(2 * n), (x) => (coarse ? Math.round(2 * x) : x));
      const b = Float32Array.from(rng.normals(2 * n), (x) => (coarse ? Math.round(2 * x) : x));
      const cost = squaredDistances(a, b, n, 2);
      const assignment = linearSumAssignment(cost, n);
      expect(new Set(assignment).size).toBe(n);
      const total = Array.from(assignment).reduce((s, j, i) => s + cost[i * n + j], 0);
      expect(total).toBeCloseTo(referenceAssignmentCost(cost, n), 8);
    }
  }));

  it('refuses NaN costs with a clear error on either path', () => {
    const cost = Float64Array.from([1, 2, NaN, 4]);
    for (const kernels of [true, false]) onKernels(kernels, () => expect(() => linearSumAssignment(cost, 2)).toThrow("linearSumAssignment: 'cost' must be finite, but cost[2] is NaN"));
  });
});

describe('flow matching', () => {
  it('learns the closed-form field from one Gaussian to another', async () => {
    // Data N(μ, s²I), base N(0, I), straight paths x_r = (1 − r)x + r z (σ = 0, independent pairs).
    // The marginal field in CNF time s = rT is linear: E[(z − x)/T | x_r] =
    //   −μ/T + (r − (1 − r)s²) / (T v_r) · (x_r − (1 − r)μ),  v_r = (1 − r)²s² + r².
    const mu = [1, -0.5];
    const sd = 0.5;
    const T = 0.5;
    const data = tf.add(tf.mul(tf.tensor2d(new Rng(1).normals(8000), [4000, 2]), sd), tf.tensor1d(mu)) as tf.Tensor2D;
    const flow = new CNF({ dim: 2, hiddenDims: [32, 32], seed: 1, trainT: false, T });
    await flow.fit(data, { iterations: 1500, batchSize: 512, learningRate: 3e-3, objective: 'flow-matching', sigma: 0 });
    for (const r of [0.1, 0.3, 0.5, 0.7, 0.9]) {
      const m = mu.map((v) => (1 - r) * v);
      const v = (1 - r) ** 2 * sd * sd + r * r;
      const relative = tf.tidy(() => {
        const xs = tf.add(tf.mul(tf.tensor2d(new Rng(r).normals(4000), [2000, 2]), Math.sqrt(v)), tf.tensor1d(m)) as tf.Tensor2D;
        const exact = tf.add(tf.mul((r - (1 - r) * sd * sd) / (T * v), tf.sub(xs, tf.tensor1d(m))), tf.tensor1d(mu.map((q) => -q / T)));
        const learned = netOf(flow).forward(tf.scalar(r * T), xs);
        return tf.div(tf.mean(tf.sum(tf.square(tf.sub(learned, exact)), 1)), tf.mean(tf.sum(tf.square(exact), 1))).dataSync()[0];
      });
      // Relative mean squared error over the path's marginal. Near the data (r = 0.1) the regression
      // target is noisiest relative to the field, so the network is least accurate there; a field
      // of the wrong sign or time direction would be off by more than 100%.
      expect(relative, `r = ${r}`).toBeLessThan(r < 0.2 ? 0.15 : 0.02);
    }
    flow.dispose();
    data.dispose();
  });

  it('gives a density that integrates to 1 ± 3% on a grid, and OT pairs need fewer evaluations than independent ones', async () => {
    const rng = new Rng(3);
    const n = 4000;
    const pts = new Float32Array(2 * n);
    const noise = rng.normals(2 * n);
    for (let i = 0; i < n; i++) {
      const side = rng.uniform() < 0.5 ? -1 : 1;
      pts[2 * i] = 1.5 * side + 0.35 * noise[2 * i];
      pts[2 * i + 1] = 0.35 * noise[2 * i + 1];
    }
    const data = tf.tensor2d(pts, [n, 2]);
    const nfe: Record<string, number> = {};
    for (const coupling of ['independent', 'ot'] as const) {
      const flow = new CNF({ dim: 2, hiddenDims: [32, 32], seed: 2 });
      await flow.fit(data, { iterations: 1000, batchSize: 128, learningRate: 3e-3, objective: 'flow-matching', coupling, seed: 4 });
      // Evaluations of an exact-trace logProb of 1000 data points (dopri5, rtol = atol = 1e-5).
      const stats = createStats();
      tf.tidy(() => flow.logProb(data.slice([0, 0], [1000, 2]) as tf.Tensor2D, { stats }));
      nfe[coupling] = stats.nfe;
      const mass = tf.tidy(() => {
        const g: number[] = [];
        for (let i = 0; i < 80; i++) for (let j = 0; j < 80; j++) g.push(-4 + (i + 0.5) * 0.1, -4 + (j + 0.5) * 0.1);
        return tf.sum(tf.exp(flow.logProb(tf.tensor2d(g, [6400, 2])))).dataSync()[0] * 0.01;
      });
      expect(Math.abs(mass - 1), coupling).toBeLessThan(0.03);
      flow.dispose();
    }
    // Measured when written: 50 evaluations with independent pairs, 38 with OT pairs.
    expect(nfe.ot).toBeLessThan(nfe.independent);
    data.dispose();
  });

  it('rejects bad flow-matching options', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [4] });
    const data = tf.zeros([8, 2]) as tf.Tensor2D;
    await expect(flow.fit(data, { iterations: 1, objective: 'fm' as never })).rejects.toThrow("'options.objective' must be 'maximum-likelihood' or 'flow-matching'");
    await expect(flow.fit(data, { iterations: 1, objective: 'flow-matching', coupling: 'sinkhorn' as never })).rejects.toThrow("'options.coupling' must be 'independent' or 'ot'");
    await expect(flow.fit(data, { iterations: 1, objective: 'flow-matching', sigma: -1 })).rejects.toThrow(OdeInputError);
    const two = new CNF({ dim: 2, hiddenDims: [4], blocks: 2 });
    await expect(two.fit(data, { iterations: 1, objective: 'flow-matching' })).rejects.toThrow("'flow-matching' trains one block, but the flow has 2");
    tf.dispose([data]);
    flow.dispose();
    two.dispose();
  });
});

describe('the hand-derived flow-matching backward pass', () => {
  it.each(['concatsquash', 'concat'] as const)('%s: loss and every gradient equal autodiff on the same minibatch', (layer) => {
    for (const activation of ['tanh', 'softplus'] as const) {
      const flow = new CNF({ dim: 2, hiddenDims: [16, 16], layer, activation, seed: 9 });
      const x = tf.tensor2d(new Rng(1).normals(2 * 64), [64, 2]);
      const net = (flow as unknown as { blocks: { net: DynamicsNet }[] }).blocks[0].net;
      const p = drawRegressionProblem(x.dataSync() as Float32Array, 64, 2, 0.5, 0.1, 'independent', new Rng(5));
      const [s, xs, target] = [tf.tensor2d(p.s, [64, 1]), tf.tensor2d(p.xs, [64, 2]), tf.tensor2d(p.target, [64, 2])];
      const manual = net.regressionGradients(s, xs, target);
      const auto = tf.variableGrads(() => tf.mean(tf.sum(tf.square(tf.sub(net.forward(s, xs), target)), 1)) as tf.Scalar, flow.trainableVariables.slice(0, -1));
      expect(Math.abs(manual.loss.dataSync()[0] - auto.value.dataSync()[0])).toBeLessThan(1e-4 * Math.abs(auto.value.dataSync()[0]));
      for (const [name, v] of flow.namedVariables()) {
        if (name.endsWith('sqrtT')) continue;
        const a = auto.grads[v.name];
        const m = manual.grads[v.name];
        expect(m.shape, name).toEqual(a.shape);
        const scale = tf.max(tf.abs(a)).dataSync()[0];
        expect(tf.max(tf.abs(tf.sub(m, a))).dataSync()[0], `${layer}/${activation} ${name}`).toBeLessThan(1e-4 * Math.max(scale, 1e-3));
      }
      tf.dispose([x, manual.loss, auto.value, ...Object.values(manual.grads), ...Object.values(auto.grads)]);
      flow.dispose();
    }
  });
});
