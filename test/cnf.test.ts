/**
 * The CNF's contract, as zuko tests every flow: the trace, the density, the inverse, gradients,
 * seeding, save/load and memory.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNF, CnfkitError, OdeInputError, createStats, tf, toyData, type FitReport, type TrainingState } from '../src/index.js';
import { runSync } from '../src/ode/host_reads.js';
import type { TrainableFlow } from '../src/train/trainable_flow.js';
import { DynamicsNet } from '../src/nn/dynamics_net.js';
import { Rng } from '../src/random.js';

const tmp = mkdtempSync(join(tmpdir(), 'cnfkit-cnf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Two well-separated Gaussian blobs in 2D, seeded. */
function blobs(n: number, seed: number): tf.Tensor2D {
  const rng = new Rng(seed);
  const noise = rng.normals(2 * n);
  const values = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const sign = rng.uniform() < 0.5 ? -1 : 1;
    values[2 * i] = 1.5 * sign + 0.4 * noise[2 * i];
    values[2 * i + 1] = 0.5 * sign + 0.4 * noise[2 * i + 1];
  }
  return tf.tensor2d(values, [n, 2]);
}

describe('exact trace', () => {
  it.each([
    ['concatsquash', 'tanh', 2],
    ['concatsquash', 'softplus', 3],
    ['concat', 'elu', 3],
    ['concat', 'swish', 2],
  ] as const)('%s/%s in %i dimensions equals the trace of the Jacobian built from d VJPs', (layer, activation, dim) => {
    const net = new DynamicsNet({ dim, hiddenDims: [16, 16], activation, layer }, new Rng(`trace-${layer}-${activation}`));
    const x = tf.tensor2d(new Rng(5).normals(4 * dim), [4, dim]);
    const t = tf.scalar(0.3);
    const basis = tf.tile(tf.eye(dim).reshape([dim, 1, dim]), [1, 4, 1]) as tf.Tensor3D;
    const { f, jv } = net.forwardWithTangents(t, x, basis);
    // Row i of J for every point: the gradient of Σ_b F_i(x_b) w.r.t. x (points are independent).
    const rows = Array.from({ length: dim }, (_, i) => tf.grad((y: tf.Tensor) => tf.sum(net.forward(t, y as tf.Tensor2D).slice([0, i], [-1, 1])))(x));
    const jacobianTrace = tf.addN(rows.map((r, i) => r.slice([0, i], [-1, 1]).reshape([4])));
    const tangentTrace = tf.sum(tf.mul(basis, jv), [0, 2]);
    expect(tf.max(tf.abs(tf.sub(jacobianTrace, tangentTrace))).dataSync()[0]).toBeLessThan(1e-5);
    // The full J·e_k too, not just its diagonal.
    for (let k = 0; k < dim; k++) {
      const column = tf.stack(rows.map((r) => r.slice([0, k], [-1, 1]).reshape([4])), 1);
      expect(tf.max(tf.abs(tf.sub(column, jv.slice([k, 0, 0], [1, -1, -1]).reshape([4, dim])))).dataSync()[0]).toBeLessThan(1e-5);
    }
    expect(tf.max(tf.abs(tf.sub(f, net.forward(t, x)))).dataSync()[0]).toBe(0);
    net.dispose();
  });
});

describe('a CNF after a short training', () => {
  // Trained for 60 iterations so its dynamics are far from zero.
  let flow: CNF;
  let trained: Promise<FitReport>;
  beforeAll(() => {
    trained = train();
  });
  const train = async () => {
    flow = new CNF({ dim: 2, hiddenDims: [32, 32], seed: 3 });
    const data = blobs(2000, 1);
    const report = await flow.fit(data, { iterations: 60, batchSize: 200, learningRate: 1e-2, seed: 2 });
    data.dispose();
    return report;
  };

  it('learned: the loss fell and T moved (T is really trained)', async () => {
    const report = await trained;
    const first = report.history.slice(0, 5).reduce((s, r) => s + r.loss, 0) / 5;
    const last = report.history.slice(-5).reduce((s, r) => s + r.loss, 0) / 5;
    expect(last).toBeLessThan(first - 0.3);
    expect(Math.abs(flow.endTimes()[0] - 0.5)).toBeGreaterThan(1e-3);
  });

  it('has exp(logProb) that integrates to 1 ± 3% on a grid', async () => {
    await trained;
    const n = 90;
    const lo = -4.5;
    const hi = 4.5;
    const cell = (hi - lo) / n;
    const pts: number[] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) pts.push(lo + (i + 0.5) * cell, lo + (j + 0.5) * cell);
    const grid = tf.tensor2d(pts, [n * n, 2]);
    const lp = flow.logProb(grid);
    const mass = tf.sum(tf.exp(lp)).dataSync()[0] * cell * cell;
    expect(Math.abs(mass - 1)).toBeLessThan(0.03);
    tf.dispose([grid, lp]);
  });

  it('gives logProb = log N(z) + log|det ∂z/∂x|, with the Jacobian from central differences of toLatent', async () => {
    await trained;
    const x = tf.tensor2d([[1.2, 0.3], [-1.6, -0.4], [0.1, 0.2]]);
    const lp = flow.logProb(x).dataSync();
    const h = 1e-2;
    const xs = x.arraySync();
    for (let b = 0; b < 3; b++) {
      const shifted = [[h, 0], [-h, 0], [0, h], [0, -h]].map(([dx, dy]) => [xs[b][0] + dx, xs[b][1] + dy]);
      const z = flow.toLatent(tf.tensor2d([xs[b], ...shifted])).arraySync();
      const j = [
        [(z[1][0] - z[2][0]) / (2 * h), (z[3][0] - z[4][0]) / (2 * h)],
        [(z[1][1] - z[2][1]) / (2 * h), (z[3][1] - z[4][1]) / (2 * h)],
      ];
      const logDet = Math.log(Math.abs(j[0][0] * j[1][1] - j[0][1] * j[1][0]));
      const logN = -0.5 * (z[0][0] ** 2 + z[0][1] ** 2) - Math.log(2 * Math.PI);
      // Float32 solves with rtol 1e-5 give z to ~1e-5; divided by 2h that is ~1e-3 in J.
      expect(Math.abs(lp[b] - (logN + logDet))).toBeLessThan(5e-3);
    }
    x.dispose();
  });

  it.each(['gaussian', 'rademacher'] as const)('has Hutchinson (%s) estimates whose mean is the exact logProb within 4 standard errors', async (noise) => {
    await trained;
    const copy = new CNF({ ...flow.options, noise });
    copy.namedVariables().forEach(([, v], i) => v.assign(flow.trainableVariables[i]));
    const rows = 2000;
    const x = tf.tile(tf.tensor2d([[0.7, 0.2]]), [rows, 1]) as tf.Tensor2D;
    const exact = copy.logProb(x.slice([0, 0], [1, 2])).dataSync()[0];
    const estimates = Array.from(copy.logProb(x, { trace: 'hutchinson', seed: 9 }).dataSync());
    const mean = estimates.reduce((s, v) => s + v, 0) / rows;
    const sd = Math.sqrt(estimates.reduce((s, v) => s + (v - mean) ** 2, 0) / (rows - 1));
    expect(sd).toBeGreaterThan(1e-3); // the estimates do vary
    expect(Math.abs(mean - exact)).toBeLessThan(4 * (sd / Math.sqrt(rows)));
    copy.dispose();
    x.dispose();
  });

  it('inverts: toLatent(fromLatent(z)) ≈ z and fromLatent(toLatent(x)) ≈ x', async () => {
    await trained;
    const z = tf.tensor2d(new Rng(4).normals(40), [20, 2]);
    const back = flow.toLatent(flow.fromLatent(z));
    expect(tf.max(tf.abs(tf.sub(back, z))).dataSync()[0]).toBeLessThan(1e-3);
    tf.dispose([z, back]);
  });

  it('samples reproducibly: the same seed gives the same samples, another seed others', async () => {
    await trained;
    const [a, b, c] = [flow.sample(50, 7), flow.sample(50, 7), flow.sample(50, 8)];
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]).toBeGreaterThan(0.1);
    tf.dispose([a, b, c]);
  });

  it('gives every parameter, T included, a non-zero gradient', async () => {
    await trained;
    const x = blobs(64, 11);
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(flow.logProb(x))) as tf.Scalar, flow.trainableVariables);
    for (const [name, v] of flow.namedVariables()) {
      const norm = tf.norm(grads[v.name]).dataSync()[0];
      expect(norm, name).toBeGreaterThan(0);
      expect(Number.isFinite(norm), name).toBe(true);
    }
    tf.dispose([x, value, ...Object.values(grads)]);
  });

  it('saves and loads: the loaded flow gives the same logProb to the last bit', async () => {
    await trained;
    const dir = join(tmp, 'model');
    await flow.save(dir);
    await flow.save(dir); // replacing an existing model works too
    const loaded = await CNF.load(dir);
    const x = blobs(32, 12);
    expect(Array.from(loaded.logProb(x).dataSync())).toEqual(Array.from(flow.logProb(x).dataSync()));
    expect(loaded.endTimes()).toEqual(flow.endTimes());
    loaded.dispose();
    x.dispose();
  });
});

describe('CNF memory, seeding and errors', () => {
  it('keeps numTensors flat over 50 training iterations, and the same seeds give the same training', async () => {
    const data = blobs(500, 21);
    const counts: number[] = [];
    const flow = new CNF({ dim: 2, hiddenDims: [8, 8], seed: 1 });
    const report = await flow.fit(data, { iterations: 50, batchSize: 32, seed: 5, onProgress: () => counts.push(tf.memory().numTensors) });
    expect(new Set(counts.slice(1)).size).toBe(1);
    const again = new CNF({ dim: 2, hiddenDims: [8, 8], seed: 1 });
    const second = await again.fit(data, { iterations: 5, batchSize: 32, seed: 5 });
    expect(second.history.map((r) => r.loss)).toEqual(report.history.slice(0, 5).map((r) => r.loss));
    flow.dispose();
    again.dispose();
    data.dispose();
  });

  it('leaves no tensor behind: new CNF + dispose, and CNF.load + dispose, for every layer kind and with trained T', async () => {
    const dir = join(tmp, 'leak-check');
    for (const options of [{ dim: 2 }, { dim: 3, hiddenDims: [8], layer: 'concat' as const, blocks: 2 }, { dim: 2, hiddenDims: [4], trainT: false }]) {
      const before = tf.memory().numTensors;
      const flow = new CNF(options);
      expect(tf.memory().numTensors).toBeGreaterThan(before);
      await flow.save(dir);
      flow.dispose();
      expect(tf.memory().numTensors).toBe(before);
      const loaded = await CNF.load(dir);
      loaded.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('draws minibatches with replacement, so batchSize may exceed the data (5 points, batches of 32)', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [4], seed: 3 });
    const data = tf.tensor2d([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]]);
    for (const objective of ['maximum-likelihood', 'flow-matching'] as const) {
      const report = await flow.fit(data, { iterations: 2, batchSize: 32, objective });
      expect(report.history.map((r) => Number.isFinite(r.loss))).toEqual([true, true]);
    }
    flow.dispose();
    data.dispose();
  });

  it('rejects bad options, points and data with typed errors', async () => {
    expect(() => new CNF({ dim: 0 })).toThrow("new CNF: 'options.dim' must be a positive integer, but got 0");
    expect(() => new CNF({ dim: 2, trace: 'approx' as never })).toThrow("'options.trace' must be one of exact, hutchinson");
    expect(() => new CNF({ dim: 2, width: 3 } as never)).toThrow("'options.width' is not an option");
    const flow = new CNF({ dim: 2, hiddenDims: [4] });
    expect(() => flow.logProb(tf.zeros([3, 3]) as tf.Tensor2D)).toThrow("CNF.logProb: 'x' must be a tf.Tensor2D of shape [B, 2], but got shape [3,3]");
    expect(() => flow.logProb(tf.tensor2d([[NaN, 0]]))).toThrow(OdeInputError);
    expect(() => flow.sample(0)).toThrow("CNF.sample: 'n' must be a positive integer, but got 0");
    await expect(flow.fit(tf.zeros([0, 2]) as tf.Tensor2D, { iterations: 1 })).rejects.toThrow("CNF.fit: 'data' must hold at least one point");
    await expect(flow.fit(tf.zeros([4, 3]) as tf.Tensor2D, { iterations: 1 })).rejects.toThrow("'data' must be a tf.Tensor2D of shape [N, 2]");
    await expect(flow.fit(tf.zeros([4, 2]) as tf.Tensor2D, { iterations: 0 })).rejects.toThrow("'options.iterations' must be a positive integer");
    flow.dispose();
  });

  it('refuses to load a corrupt or missing model, naming the problem', async () => {
    await expect(CNF.load(join(tmp, 'nothing-here'))).rejects.toThrow(CnfkitError);
    const flow = new CNF({ dim: 2, hiddenDims: [4] });
    const dir = join(tmp, 'corrupt');
    await flow.save(dir);
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(10));
    await expect(CNF.load(dir)).rejects.toThrow(/weights.bin holds 10 bytes, but model.json lists \d+/);
    flow.dispose();
  });
});

describe("a CNF's solver limits", () => {
  it('maxSteps: a fixed-step flow that needs more steps says so, and the option lets it run', async () => {
    const x = tf.tensor2d([[0.5, -1]]);
    const short = new CNF({ dim: 2, hiddenDims: [4], method: 'rk4', stepSize: 0.1, maxSteps: 3 });
    expect(() => short.logProb(x)).toThrow(/^stepSize 0.1 takes 5 steps from t=0 to t=0.49999\d+, more than maxSteps \(3\); raise maxSteps or take a larger stepSize$/);
    const enough = new CNF({ dim: 2, hiddenDims: [4], method: 'rk4', stepSize: 0.1, maxSteps: 5 });
    expect(Number.isFinite(tf.tidy(() => enough.logProb(x).dataSync()[0]))).toBe(true);
    tf.dispose(x);
    [short, enough].forEach((f) => f.dispose());
  });

  it('a saved rtol below float32 (before 0.2, or an FFJORD export) loads as 1e-7, which new CNF refuses below', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [4], rtol: 1e-7 });
    const dir = join(tmp, 'tight-rtol');
    await flow.save(dir);
    const file = join(dir, 'model.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    json.modelTopology.cnfkit.options.rtol = 1e-9;
    delete json.modelTopology.cnfkit.configChecksum;
    writeFileSync(file, JSON.stringify(json));
    const loaded = await CNF.load(dir);
    expect(loaded.options.rtol).toBe(1e-7);
    const x = tf.tensor2d([[0.5, -1]]);
    expect(tf.tidy(() => loaded.logProb(x).dataSync()[0])).toBe(tf.tidy(() => flow.logProb(x).dataSync()[0]));
    tf.dispose(x);
    [flow, loaded].forEach((f) => f.dispose());
  });
});

describe('a CNF with custom dynamics (traces from VJPs)', () => {
  it('gives log p(x) = log N(z) + T·tr A for linear dynamics F = A x, and refuses training and saving', async () => {
    const A = tf.variable(tf.tensor2d([[-0.5, 1], [0.3, 0.2]]), true, 'custom_A');
    const flow = new CNF({ dim: 2, trainT: false, dynamics: { f: (_t, x) => tf.matMul(x, A.transpose()) as tf.Tensor2D, params: [A] } });
    const x = tf.tensor2d([[0.5, -1], [2, 0.3]]);
    const lp = flow.logProb(x).dataSync();
    const z = flow.toLatent(x).arraySync();
    z.forEach((row, b) => {
      const logN = -0.5 * (row[0] ** 2 + row[1] ** 2) - Math.log(2 * Math.PI);
      expect(Math.abs(lp[b] - (logN + 0.5 * -0.3))).toBeLessThan(1e-5);
    });
    // Hutchinson on a linear field: εᵀAε (Gaussian ε) averages to tr A, with variance 2‖(A + Aᵀ)/2‖²_F.
    const hutch = Array.from(flow.logProb(tf.tile(x.slice([0, 0], [1, 2]), [4000, 1]) as tf.Tensor2D, { trace: 'hutchinson', seed: 3 }).dataSync());
    const mean = hutch.reduce((s, v) => s + v, 0) / hutch.length;
    const se = Math.sqrt(hutch.reduce((s, v) => s + (v - mean) ** 2, 0) / (hutch.length - 1) / hutch.length);
    expect(se).toBeGreaterThan(1e-3);
    expect(Math.abs(mean - lp[0])).toBeLessThan(4 * se);
    await expect(flow.fit(x, { iterations: 1 })).rejects.toThrow('CNF.fit: a flow with custom dynamics cannot be trained');
    await expect(flow.save(join(tmp, 'custom'))).rejects.toThrow('CNF.save: a flow with custom dynamics cannot be saved');
    expect(() => tf.grad((y: tf.Tensor) => tf.sum(flow.logProb(y as tf.Tensor2D)))(x)).toThrow(CnfkitError);
    flow.dispose();
    tf.dispose([A, x]);
  });
});

describe('stacked blocks and RNODE regularisers', () => {
  it('two blocks: logProb matches log N(z) + log|det| from central differences, and the inverse round-trips', () => {
    const flow = new CNF({ dim: 2, hiddenDims: [16], blocks: 2, seed: 4, T: 1 });
    // Scale the last layer up so each block moves points by O(1).
    for (const [name, v] of flow.namedVariables()) if (name.endsWith('layer1.W')) v.assign(tf.mul(v, 4));
    const x = tf.tensor2d([[0.3, -0.8]]);
    const lp = flow.logProb(x).dataSync()[0];
    const h = 1e-2;
    const pts = [[0.3, -0.8], [0.3 + h, -0.8], [0.3 - h, -0.8], [0.3, -0.8 + h], [0.3, -0.8 - h]];
    const z = flow.toLatent(tf.tensor2d(pts)).arraySync();
    const det = ((z[1][0] - z[2][0]) * (z[3][1] - z[4][1]) - (z[3][0] - z[4][0]) * (z[1][1] - z[2][1])) / (4 * h * h);
    const expected = -0.5 * (z[0][0] ** 2 + z[0][1] ** 2) - Math.log(2 * Math.PI) + Math.log(Math.abs(det));
    expect(Math.abs(Math.log(Math.abs(det)))).toBeGreaterThan(0.05); // the flow really deforms
    expect(Math.abs(lp - expected)).toBeLessThan(5e-3);
    const back = flow.fromLatent(flow.toLatent(x));
    expect(tf.max(tf.abs(tf.sub(back, x))).dataSync()[0]).toBeLessThan(1e-4);
    flow.dispose();
  });

  it('integrates ∫‖F‖² dt and ∫‖∂F/∂x‖²_F dt along the trajectory (checked by Simpson on a fine rk4 trajectory)', () => {
    const flow = new CNF({ dim: 2, hiddenDims: [16, 16], seed: 6, kineticEnergy: 0.1, jacobianNorm: 0.1, rtol: 1e-7, atol: 1e-7 });
    const x = tf.tensor2d([[0.4, 1.1], [-1, 0.2]]);
    const terms = flow.logProbTerms(x, { trace: 'exact' });
    // The trajectory at 41 times, then F and J along it, integrated by Simpson's rule.
    const net = (flow as unknown as { blocks: { net: DynamicsNet }[] }).blocks[0].net;
    const T = flow.endTimes()[0];
    const n = 40;
    const ts = Array.from({ length: n + 1 }, (_, i) => (i * T) / n);
    const path = tf.tidy(() => {
      const ys: tf.Tensor2D[] = [];
      let y: tf.Tensor2D = x;
      for (let i = 0; i < n; i++) {
        ys.push(y);
        const seg = tf.tensor2d(y.arraySync());
        y = tf.tidy(() => {
          let s = seg;
          const m = 20;
          const dt = T / n / m;
          for (let k = 0; k < m; k++) {
            const t0 = ts[i] + k * dt;
            const f = (tt: number, yy: tf.Tensor2D) => net.forward(tf.scalar(tt), yy);
            const k1 = f(t0, s);
            const k2 = f(t0 + dt / 2, tf.add(s, tf.mul(k1, dt / 2)) as tf.Tensor2D);
            const k3 = f(t0 + dt / 2, tf.add(s, tf.mul(k2, dt / 2)) as tf.Tensor2D);
            const k4 = f(t0 + dt, tf.add(s, tf.mul(k3, dt)) as tf.Tensor2D);
            s = tf.add(s, tf.mul(tf.addN([k1, tf.mul(k2, 2), tf.mul(k3, 2), k4]), dt / 6)) as tf.Tensor2D;
          }
          return s;
        });
      }
      ys.push(y);
      return ys.map((p) => p.arraySync());
    });
    const basis = tf.tile(tf.eye(2).reshape([2, 1, 2]), [1, 2, 1]) as tf.Tensor3D;
    const kin: number[][] = [];
    const jac: number[][] = [];
    ts.forEach((t, i) => {
      const { f, jv } = net.forwardWithTangents(tf.scalar(t), tf.tensor2d(path[i]), basis);
      kin.push(Array.from(tf.sum(tf.square(f), 1).dataSync()));
      jac.push(Array.from(tf.sum(tf.square(jv), [0, 2]).dataSync()));
    });
    const simpson = (vals: number[][], b: number) =>
      (T / n / 3) * vals.reduce((s, v, i) => s + v[b] * (i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2), 0);
    const kinetic = terms.kinetic!.dataSync();
    const jacobian = terms.jacobian!.dataSync();
    for (let b = 0; b < 2; b++) {
      expect(Math.abs(kinetic[b] - simpson(kin, b)) / simpson(kin, b)).toBeLessThan(1e-3);
      expect(Math.abs(jacobian[b] - simpson(jac, b)) / simpson(jac, b)).toBeLessThan(1e-3);
    }
    flow.dispose();
  });
});

describe("maximum likelihood's forward solves start where the last one did", () => {
  // dopri5 evaluates f(0) once and six times a step (FSAL); Hairer's initial-step heuristic adds a
  // probe. So a block's forward solve costs 2 + 6k evaluations with the heuristic, 1 + 6k without.
  const blocks = 2;
  const options = { iterations: 6, batchSize: 64, seed: 2, checkpointEvery: 3 };

  it('after the first iteration (no probe), resumed from a checkpoint to the same steps and the same weights', async () => {
    const data = toyData('8gaussians', 400, 6);
    const straight = new CNF({ dim: 2, hiddenDims: [12, 12], blocks, seed: 1 });
    let saved: TrainingState | undefined;
    let weights: Float32Array[] = [];
    const run = await straight.fit(data, {
      ...options,
      onCheckpoint: (state) => {
        if (state.iteration !== 3) return;
        saved = state;
        weights = straight.trainableVariables.map((v) => v.dataSync().slice() as Float32Array);
      },
    });
    const nfe = run.history.map((h) => h.nfeForward);
    expect(nfe[0] % 6).toBe((2 * blocks) % 6);
    nfe.slice(1).forEach((n) => expect(n % 6).toBe(blocks % 6));
    expect(saved!.firstSteps).toHaveLength(blocks);
    saved!.firstSteps!.forEach((h) => expect(h).toBeGreaterThan(0));

    const resume = async (state: TrainingState) => {
      const flow = new CNF({ dim: 2, hiddenDims: [12, 12], blocks, seed: 5 });
      flow.trainableVariables.forEach((v, i) => v.assign(tf.tensor(weights[i], v.shape)));
      const report = await flow.fit(data, { ...options, resume: state });
      const values = flow.trainableVariables.map((v) => Array.from(v.dataSync()));
      flow.dispose();
      return { nfe: report.history.map((h) => h.nfeForward), values };
    };
    const resumed = await resume(saved!);
    expect(resumed.nfe).toEqual(nfe);
    straight.trainableVariables.forEach((v, i) => expect(resumed.values[i]).toEqual(Array.from(v.dataSync())));
    // A state written before 0.2 has no first steps: its first resumed solves probe again.
    const { firstSteps: _, ...older } = saved!;
    expect((await resume(older)).nfe[3] % 6).toBe((2 * blocks) % 6);
    // Kept as JSON: values written with Array.from come back as arrays and resume to the same numbers;
    // as JSON.stringify leaves a Float32Array (an object keyed "0", "1", …), they are named.
    const asJson = (values: (v: Float32Array | number[]) => unknown) => JSON.parse(JSON.stringify({ ...saved!, optimizer: saved!.optimizer.map((o) => ({ ...o, values: values(o.values) })) }));
    const fromJson = await resume(asJson((v) => Array.from(v)));
    expect(fromJson.nfe).toEqual(nfe);
    straight.trainableVariables.forEach((v, i) => expect(fromJson.values[i]).toEqual(Array.from(v.dataSync())));
    await expect(straight.fit(data, { ...options, resume: asJson((v) => v) })).rejects.toThrow(
      "CNF.fit: 'options.resume' has optimizer[0].values a plain object (a Float32Array after JSON.stringify), not a Float32Array or an array of numbers; to store a state as JSON write each values with Array.from(values)",
    );
    await expect(straight.fit(data, { ...options, resume: { ...saved!, firstSteps: [0.1] } })).rejects.toThrow("CNF.fit: 'options.resume' does not fit this flow: it holds first steps for 1 blocks, the flow has 2");
    await expect(straight.fit(data, { ...options, resume: { ...saved!, firstSteps: [0.1, -1] } })).rejects.toThrow("CNF.fit: 'options.resume' has firstSteps that are not an array of positive numbers or nulls");
    tf.dispose(data);
    straight.dispose();
  });

  it('on the tape-free path too (WebGPU trains there)', () => {
    const flow = new CNF({ dim: 2, hiddenDims: [12, 12], seed: 1 });
    const view = (flow as unknown as { trainingView(): TrainableFlow }).trainingView();
    const batch = toyData('8gaussians', 64, 3);
    const forwardNfe = () => {
      const stats = createStats();
      const { grads } = runSync('test', view.negativeLogLikelihoodGrads(batch, new Rng('nll'), stats, createStats()));
      tf.dispose(Object.values(grads));
      return stats.nfe;
    };
    expect(forwardNfe() % 6).toBe(2);
    expect(view.stepMemory[0].firstStep).toBeGreaterThan(0);
    expect(forwardNfe() % 6).toBe(1);
    tf.dispose(batch);
    flow.dispose();
  });
});

describe('training that diverges', () => {
  it('stops with a typed error naming the learning rate and keeps the last finite weights', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [8] });
    const data = tf.randomNormal([64, 2], 0, 1, 'float32', 1) as tf.Tensor2D;
    // A learning rate of 1e38 overflows float32 within a step or two.
    await expect(flow.fit(data, { iterations: 10, batchSize: 32, learningRate: 1e38, objective: 'flow-matching' })).rejects.toThrow(
      /CNF.fit: 'options.learningRate' training diverged at iteration \d+ \(loss \S+\); lower the learning rate/,
    );
    data.dispose();
    for (const v of flow.trainableVariables) expect(tf.all(tf.isFinite(v)).dataSync()[0]).toBe(1);
    flow.dispose();
  });
});
