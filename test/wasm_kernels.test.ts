/**
 * cnfkit's own WebAssembly kernels (native/kernels.ts): elementary functions to within 2 ulp,
 * products against float64 on shapes that exercise every remainder path, and the whole
 * flow-matching step against the tfjs implementation it replaces.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CNF, backendInfo, ready, tf, toyData, type TrainingState } from '../src/index.js';
import { drawRegressionProblem } from '../src/train/flow_matching.js';
import { WasmFlowMatching } from '../src/native/flow_matching_step.js';
import { KernelWorkspace } from '../src/native/runtime.js';
import { computePath } from '../src/nn/compute_path.js';
import { ACTIVATIONS, type ActivationName } from '../src/nn/activations.js';
import { ACTIVATION_IDS } from '../src/native/squash_network.js';
import { onBothPaths, onPath } from './compute_paths.js';
import type { DynamicsNet } from '../src/nn/dynamics_net.js';
import { Rng } from '../src/random.js';
import { FlatAdam } from '../src/train/flat_adam.js';
import { runSync } from '../src/ode/host_reads.js';

beforeAll(async () => {
  await ready({ verbose: false });
});

/** The spacing of float32 numbers at |v|. */
function ulp(v: number): number {
  const a = Math.abs(Math.fround(v));
  return a === 0 ? 2 ** -149 : Math.max(2 ** (Math.floor(Math.log2(a)) - 23), 2 ** -149);
}

function netOf(flow: CNF): DynamicsNet {
  return (flow as unknown as { blocks: { net: DynamicsNet }[] }).blocks[0].net;
}

describe('elementary functions', () => {
  /** A workspace with n inputs x = at(u) for u evenly in [−1, 1], and n outputs y. */
  const arrays = (n: number, at: (u: number) => number) => {
    const ws = new KernelWorkspace();
    const src = ws.reserve(n);
    const dst = ws.reserve(n);
    ws.open();
    const x = ws.view(src, n);
    x.forEach((_, i) => (x[i] = at((i / (n - 1)) * 2 - 1)));
    return { ws, src, dst, x, y: ws.view(dst, n) };
  };

  it('tanh and sigmoid are within 2 ulp of float64 from 1e-30 to 100 in magnitude', () => {
    const n = 40001;
    const { ws, src, dst, x, y } = arrays(n, (u) => Math.sign(u) * 10 ** (Math.abs(u) * 32 - 30));
    const worst = (reference: (v: number) => number, from = -Infinity) => {
      let w = 0;
      for (let i = 0; i < n; i++) if (x[i] >= from) w = Math.max(w, Math.abs(y[i] - reference(x[i])) / ulp(reference(x[i])));
      return w;
    };
    ws.kernels.tanhArray(src, dst, n);
    expect(worst(Math.tanh)).toBeLessThan(2);
    ws.kernels.sigmoidArray(src, dst, n);
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
    expect(worst(sigmoid, -80)).toBeLessThan(2.5);
    // Below −87 the result underflows to (almost) zero, as it should.
    for (let i = 0; i < n; i++) if (x[i] < -87) expect(y[i]).toBeLessThan(1e-37);
  });

  it('every activation of the registry agrees with float64: within a few ulp, or ~1e-7 absolute where it cancels', () => {
    const n = 20001;
    // −60 … 60, denser near 0 where the functions bend.
    const { ws, src, dst, x, y } = arrays(n, (u) => 60 * u * u * u);
    const references: Record<ActivationName, (v: number) => number> = {
      tanh: Math.tanh,
      softplus: (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))),
      elu: (v) => (v > 0 ? v : Math.expm1(v)),
      swish: (v) => v / (1 + Math.exp(-v)),
    };
    for (const name of Object.keys(ACTIVATIONS) as ActivationName[]) {
      ws.kernels.activationArray(src, dst, n, ACTIVATION_IDS[name]);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const r = references[name](x[i]);
        worst = Math.max(worst, Math.abs(y[i] - r) / Math.max(ulp(r), 1.2e-7));
      }
      expect(worst, name).toBeLessThan(4);
    }
  });
});

describe('products', () => {
  /** Fills a matrix with a fixed pattern of values in [−1, 1]. */
  const fill = (v: Float32Array, seed: number) => v.forEach((_, i) => (v[i] = Math.sin(seed * 12.9898 + i * 78.233) % 1));

  it.each([
    [1, 1, 1],
    [4, 8, 8],
    [7, 5, 13],
    [9, 64, 2],
    [13, 2, 64],
    [33, 64, 64],
    [11, 3, 22], // mmTN's rows past the last 4-row block: 16-, 4- and 1-column blocks
    [300, 5, 26], // mmTN in passes of 128 rows, the last one shorter
  ])('mmNN, mmNT and mmTN agree with float64 for [m, k, n] = [%i, %i, %i]', (m, k, n) => {
    const ws = new KernelWorkspace();
    const at = { a: ws.reserve(m * k), b: ws.reserve(k * n), bt: ws.reserve(n * k), c: ws.reserve(m * n), d: ws.reserve(m * n), e: ws.reserve(k * n) };
    ws.open();
    const [A, B, D] = [ws.view(at.a, m * k), ws.view(at.b, k * n), ws.view(at.d, m * n)];
    fill(A, 1);
    fill(B, 2);
    fill(D, 3);
    const C = ws.view(at.c, m * n);
    const E = ws.view(at.e, k * n);
    const expectClose = (got: Float32Array, want: (i: number, j: number) => number, rows: number, cols: number, count: number) => {
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) expect(Math.abs(got[i * cols + j] - want(i, j))).toBeLessThan(1e-6 * count + 1e-7);
    };
    const ab = (i: number, j: number) => Array.from({ length: k }, (_, p) => A[i * k + p] * B[p * n + j]).reduce((s, v) => s + v, 0);
    ws.kernels.mmNN(at.a, at.b, at.c, m, k, n, false);
    expectClose(C, ab, m, n, k);
    ws.kernels.mmNN(at.a, at.b, at.c, m, k, n, true);
    expectClose(C, (i, j) => 2 * ab(i, j), m, n, k);
    ws.kernels.transpose(at.b, at.bt, k, n);
    ws.kernels.mmNT(at.a, at.bt, at.c, m, k, n);
    expectClose(C, ab, m, n, k);
    const atd = (i: number, j: number) => Array.from({ length: m }, (_, r) => A[r * k + i] * D[r * n + j]).reduce((s, v) => s + v, 0);
    ws.kernels.mmTN(at.a, at.d, at.e, m, k, n, false);
    expectClose(E, atd, k, n, m);
    ws.kernels.mmTN(at.a, at.d, at.e, m, k, n, true);
    expectClose(E, (i, j) => 2 * atd(i, j), k, n, m);
  });
});

describe('the flow-matching step', () => {
  it.each([
    [[64, 64, 64], 256],
    [[64, 64, 64], 1],
    [[5, 13], 7], // widths that are not multiples of 4 or 8: every remainder path
  ])('gives the loss and gradients of the tfjs backward pass (hidden %j, %i rows)', (hiddenDims, rows) => {
    const flow = new CNF({ dim: 2, hiddenDims, seed: 3 });
    const x = toyData('8gaussians', rows, 1);
    const problem = drawRegressionProblem(x.dataSync() as Float32Array, rows, 2, 0.5, 0.1, 'independent', new Rng(2));
    const tensors = [tf.tensor2d(problem.s, [rows, 1]), tf.tensor2d(problem.xs, [rows, 2]), tf.tensor2d(problem.target, [rows, 2])] as const;
    const reference = netOf(flow).regressionGradients!(...tensors);
    const kernels = new WasmFlowMatching(netOf(flow), flow.trainableVariables, rows, { learningRate: 1e-3, weightDecay: 0 });
    const loss = kernels.lossAndGradients(problem.s, problem.xs, problem.target, rows);
    expect(Math.abs(loss - reference.loss.dataSync()[0])).toBeLessThan(1e-5 * Math.abs(loss));
    const flat = kernels.gradients();
    let offset = 0;
    for (const v of flow.trainableVariables) {
      const want = reference.grads[v.name]?.dataSync();
      const got = flat.subarray(offset, offset + v.size);
      offset += v.size;
      if (!want) {
        expect(Array.from(got).every((g) => g === 0)).toBe(true); // T: flow matching leaves it alone
        continue;
      }
      // The tfjs path's own tanh, 2σ(2z) − 1, is off by up to ~1e-7 absolute: 1e-5 of the largest
      // gradient is that rounding, still far below what a wrong term would give.
      const scale = Math.max(...Array.from(want, Math.abs));
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5 * scale + 1e-9);
    }
    tf.dispose([x, ...tensors, reference.loss, ...Object.values(reference.grads)]);
    flow.dispose();
  });

  it("applies FlatAdam's update and refuses one that would make a weight non-finite", () => {
    const flow = new CNF({ dim: 2, seed: 4 });
    const twin = new CNF({ dim: 2, seed: 4 });
    const rows = 64;
    const x = toyData('8gaussians', rows, 1);
    const settings = { learningRate: 1e-2, weightDecay: 1e-3 };
    const kernels = new WasmFlowMatching(netOf(flow), flow.trainableVariables, rows, settings);
    const adam = new FlatAdam(twin.trainableVariables, settings.learningRate, settings.weightDecay);
    for (let step = 0; step < 5; step++) {
      const p = drawRegressionProblem(x.dataSync() as Float32Array, rows, 2, 0.5, 0.1, 'independent', new Rng(step));
      kernels.lossAndGradients(p.s, p.xs, p.target, rows);
      expect(kernels.applyAdam()).toBe(true);
      const ts = [tf.tensor2d(p.s, [rows, 1]), tf.tensor2d(p.xs, [rows, 2]), tf.tensor2d(p.target, [rows, 2])] as const;
      const r = netOf(twin).regressionGradients!(...ts);
      runSync('test', adam.apply(r.grads));
      tf.dispose([...ts, r.loss, ...Object.values(r.grads)]);
    }
    kernels.writeVariables();
    flow.trainableVariables.forEach((v, i) => {
      const a = v.dataSync();
      const b = twin.trainableVariables[i].dataSync();
      for (let j = 0; j < a.length; j++) expect(Math.abs(a[j] - b[j])).toBeLessThan(1e-5);
    });
    expect(kernels.optimizerState().step).toBe(5);
    // An absurd step size overflows the weights: nothing changes.
    const wild = new WasmFlowMatching(netOf(flow), flow.trainableVariables, rows, { learningRate: 1e39, weightDecay: 0 });
    const p = drawRegressionProblem(x.dataSync() as Float32Array, rows, 2, 0.5, 0.1, 'independent', new Rng(9));
    wild.lossAndGradients(p.s, p.xs, p.target, rows);
    const before = flow.trainableVariables.map((v) => v.dataSync().slice());
    expect(wild.applyAdam()).toBe(false);
    wild.writeVariables();
    flow.trainableVariables.forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(Array.from(before[i])));
    expect(wild.optimizerState().step).toBe(0);
    adam.dispose();
    tf.dispose(x);
    flow.dispose();
    twin.dispose();
  });

  it.each(Object.keys(ACTIVATIONS) as ActivationName[])('%s: trains in fit as the tfjs path does, with the weights up to date whenever read, numTensors flat', async (activation) => {
    expect(backendInfo().kernels).toBe('in use');
    const data = toyData('8gaussians', 500, 0);
    const probe = toyData('8gaussians', 20, 9);
    const run = (kernelsOn: boolean) => onPath(kernelsOn ? 'wasm-kernels' : 'tfjs', async () => {
      {
        const flow = new CNF({ dim: 2, seed: 5, activation });
        const counts: number[] = [];
        const midway: number[][] = [];
        const report = await flow.fit(data, {
          iterations: 30,
          batchSize: 128,
          learningRate: 3e-3,
          objective: 'flow-matching',
          onProgress: (r) => {
            // The flow's own methods see this iteration's weights (written lazily on the kernels).
            if (r.iteration % 10 === 0) midway.push(Array.from(tf.tidy(() => flow.logProb(probe).dataSync())));
            counts.push(tf.memory().numTensors);
          },
        });
        const weights = flow.trainableVariables.map((v) => Array.from(v.dataSync()));
        flow.dispose();
        return { losses: report.history.map((h) => h.loss), weights, counts, midway };
      }
    });
    const withKernels = await run(true);
    const withTfjs = await run(false);
    withKernels.losses.forEach((loss, i) => expect(Math.abs(loss - withTfjs.losses[i])).toBeLessThan(1e-4 * Math.abs(loss)));
    const reference = withTfjs.weights.flat();
    const worst = withKernels.weights.flat().reduce((m, w, i) => Math.max(m, Math.abs(w - reference[i])), 0);
    expect(worst).toBeLessThan(1e-4);
    expect(withKernels.midway.length).toBe(3);
    withKernels.midway.forEach((logp, i) => logp.forEach((v, j) => expect(Math.abs(v - withTfjs.midway[i][j])).toBeLessThan(1e-3)));
    // …and the three probes differ from one another: training moved the weights in between.
    expect(Math.abs(withKernels.midway[0][0] - withKernels.midway[2][0])).toBeGreaterThan(1e-3);
    expect(new Set(withKernels.counts.slice(1)).size).toBe(1);
    tf.dispose([data, probe]);
  });
});

describe('flow matching on the kernels, bad data', () => {
  it('refuses NaN data and mis-shaped or oversized minibatches with typed errors, not a divergence', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [8], seed: 12 });
    const fm = { iterations: 2, batchSize: 2, objective: 'flow-matching' as const };
    await expect(flow.fit(tf.tensor2d([[0, NaN], [1, 1]]), fm)).rejects.toThrow("CNF.fit: 'data' must be finite, but contains NaN or Inf");
    await expect(flow.fit(() => tf.zeros([2, 3]) as tf.Tensor2D, fm)).rejects.toThrow("CNF.fit: 'data' must be a tf.Tensor2D of shape [B, 2]");
    await expect(flow.fit(() => tf.zeros([5, 2]) as tf.Tensor2D, fm)).rejects.toThrow('sampler returned 5 points, more than batchSize 2');
    flow.dispose();
  });
});

describe('flow matching on the kernels, interrupted and resumed', () => {
  it('continues from a checkpoint to exactly the uninterrupted weights', async () => {
    const data = toyData('8gaussians', 400, 6);
    const options = { batchSize: 64, learningRate: 3e-3, objective: 'flow-matching' as const, seed: 4 };
    const straight = new CNF({ dim: 2, hiddenDims: [16, 16], seed: 11 });
    await straight.fit(data, { ...options, iterations: 20 });
    const expected = straight.trainableVariables.map((v) => Array.from(v.dataSync()));

    const first = new CNF({ dim: 2, hiddenDims: [16, 16], seed: 11 });
    const controller = new AbortController();
    let saved: TrainingState | undefined;
    let weights: Float32Array[] = [];
    await first.fit(data, {
      ...options,
      iterations: 20,
      signal: controller.signal,
      onProgress: (r) => r.iteration === 10 && controller.abort(),
      onCheckpoint: (state) => {
        saved = state;
        weights = first.trainableVariables.map((v) => v.dataSync().slice() as Float32Array);
      },
    });
    expect(saved?.iteration).toBe(10);
    const second = new CNF({ dim: 2, hiddenDims: [16, 16], seed: 99 });
    second.trainableVariables.forEach((v, i) => v.assign(tf.tensor(weights[i], v.shape)));
    await second.fit(data, { ...options, iterations: 20, resume: saved });
    second.trainableVariables.forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(expected[i]));
    tf.dispose(data);
    [straight, first, second].forEach((f) => f.dispose());
  });
});

describe('the joint dynamics on the kernels', () => {
  /** Runs `fn` on the kernels, then on tfjs (each path proven to have run), and returns both results. */
  const both = onBothPaths;
  const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

  it('gives the logProb (exact and Hutchinson), latents and samples of the tfjs kernels', async () => {
    const flow = new CNF({ dim: 2, seed: 6 });
    const x = toyData('8gaussians', 50, 2);
    const [exact, exactTfjs] = await both(() => tf.tidy(() => flow.logProb(x).dataSync()));
    expect(maxDiff(exact, exactTfjs)).toBeLessThan(1e-4);
    const [hutch, hutchTfjs] = await both(() => tf.tidy(() => flow.logProb(x, { trace: 'hutchinson', seed: 3 }).dataSync()));
    expect(maxDiff(hutch, hutchTfjs)).toBeLessThan(1e-4);
    const [z, zTfjs] = await both(() => tf.tidy(() => flow.toLatent(x).dataSync()));
    expect(maxDiff(z, zTfjs)).toBeLessThan(1e-4);
    const [s, sTfjs] = await both(() => tf.tidy(() => flow.sample(40, 1).dataSync()));
    expect(maxDiff(s, sTfjs)).toBeLessThan(1e-4);
    tf.dispose(x);
    flow.dispose();
  });

  it.each(['trapezoid', 'implicit_euler'] as const)("%s: maps and samples on the kernels, with Newton's Jacobian (taped) on tfjs, as the tfjs path does", async (method) => {
    const flow = new CNF({ dim: 2, hiddenDims: [8], method, stepSize: 0.1, seed: 5 });
    const x = toyData('8gaussians', 6, 2);
    const [z, zTfjs] = await both(() => tf.tidy(() => flow.toLatent(x).dataSync()));
    expect(maxDiff(z, zTfjs)).toBeLessThan(1e-5);
    const [back, backTfjs] = await both(() => tf.tidy(() => flow.fromLatent(flow.toLatent(x)).dataSync()));
    expect(maxDiff(back, backTfjs)).toBeLessThan(1e-5);
    const [s, sTfjs] = await both(() => tf.tidy(() => flow.sample(5, 1).dataSync()));
    expect(maxDiff(s, sTfjs)).toBeLessThan(1e-5);
    tf.dispose(x);
    flow.dispose();
  });

  it('handles ten dimensions (outputs wide enough for the blocked products) as the tfjs path does', async () => {
    const x = tf.tensor2d(new Rng(3).normals(40 * 10), [40, 10]);
    const [on, off] = await both(async () => {
      const flow = new CNF({ dim: 10, hiddenDims: [32, 32], seed: 2 });
      await flow.fit(x, { iterations: 3, batchSize: 16 });
      const logp = Array.from(tf.tidy(() => flow.logProb(x).dataSync()));
      flow.dispose();
      return logp;
    });
    expect(maxDiff(on, off)).toBeLessThan(1e-4);
    x.dispose();
  });

  it('sizes workspaces up to 1 GiB and leaves larger batches to tfjs', () => {
    const flow = new CNF({ dim: 2, seed: 9 });
    const net = netOf(flow);
    // FFJORD's network: 2 + 2·64 + 2·(64 + 64 + 64 + 2) = 518 floats per stacked row.
    const limit = Math.floor(2 ** 30 / (518 * 4));
    expect(computePath(net, limit)).toBe('wasm-kernels');
    expect(computePath(net, limit + 1)).toBe('tfjs');
    flow.dispose();
  });

  it('still differentiates the flow map under a gradient tape (where the kernels step aside)', () => {
    const flow = new CNF({ dim: 2, seed: 7 });
    const x = toyData('8gaussians', 5, 3);
    const f = (p: tf.Tensor) => tf.sum(tf.square(flow.toLatent(p as tf.Tensor2D))) as tf.Scalar;
    const grad = tf.grad(f)(x);
    // Central differences on one coordinate (float32: a step of 1e-2 balances the errors).
    const h = 1e-2;
    const bump = (s: number) => tf.tidy(() => f(tf.add(x, tf.mul(s * h, tf.oneHot([0], 10).reshape([5, 2]))) as tf.Tensor2D).dataSync()[0]);
    const numeric = (bump(1) - bump(-1)) / (2 * h);
    expect(Math.abs(grad.dataSync()[0] - numeric)).toBeLessThan(1e-2 * Math.abs(numeric) + 1e-3);
    tf.dispose([x, grad]);
    flow.dispose();
  });

  it.each([
    ['exact', false],
    ['hutchinson', true],
  ] as const)('gives the adjoint gradients of the tfjs path (%s trace, regularisers %s), for x, every weight and T', async (trace, regularise) => {
    const data = toyData('8gaussians', 40, 5);
    const [on, off] = await both(() => {
      const flow = new CNF({ dim: 2, hiddenDims: [16, 16], seed: 10, trace, kineticEnergy: regularise ? 0.1 : 0, jacobianNorm: regularise ? 0.1 : 0 });
      const x = tf.variable(data);
      const vars = [x, ...flow.trainableVariables];
      const { grads } = tf.variableGrads(() => {
        const terms = flow.logProbTerms(x, { seed: 1 });
        let loss = tf.neg(tf.mean(terms.logProb));
        if (terms.kinetic) loss = tf.add(loss, tf.mean(terms.kinetic));
        if (terms.jacobian) loss = tf.add(loss, tf.mean(terms.jacobian));
        return loss as tf.Scalar;
      }, vars);
      const out = vars.map((v) => Array.from(grads[v.name].dataSync()));
      tf.dispose([x, ...Object.values(grads)]);
      flow.dispose();
      return out;
    });
    on.forEach((g, i) => {
      const scale = Math.max(...off[i].map(Math.abs));
      expect(scale).toBeGreaterThan(0);
      g.forEach((v, j) => expect(Math.abs(v - off[i][j])).toBeLessThan(1e-3 * scale));
    });
    data.dispose();
  });

  it('trains by maximum likelihood as the tfjs path does, with numTensors flat', async () => {
    const data = toyData('8gaussians', 300, 4);
    const [on, off] = await both(async () => {
      const flow = new CNF({ dim: 2, hiddenDims: [16, 16], seed: 8 });
      const counts: number[] = [];
      const report = await flow.fit(data, { iterations: 6, batchSize: 32, onProgress: () => counts.push(tf.memory().numTensors) });
      flow.dispose();
      return { losses: report.history.map((r) => r.loss), counts };
    });
    on.losses.forEach((loss, i) => expect(Math.abs(loss - off.losses[i])).toBeLessThan(1e-3 * Math.abs(loss)));
    expect(new Set(on.counts.slice(1)).size).toBe(1);
    data.dispose();
  });
});
