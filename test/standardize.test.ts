// A flow on standardised data (option `standardize`): every method takes and returns x, the network
// sees u = (x − mean)/std, and log p(x) = log p(u) − Σ log std. Checked against a plain flow with the
// same weights fed u by hand, through training (both objectives, both gradient paths) and saving.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CNF, ready, tf, toyData } from '../src/index.js';
import { runSync } from '../src/ode/host_reads.js';
import { Rng } from '../src/random.js';
import { disposeWithTwin, flowSpaceTwin, picturePoints } from '../src/cli/flow_space.js';
import type { TrainableFlow } from '../src/train/trainable_flow.js';

const standardize = { mean: [2, -1], std: [3, 0.5] };
const logScale = Math.log(3) + Math.log(0.5);
const options = { dim: 2, hiddenDims: [12, 12], seed: 4 };
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const toU = (x: tf.Tensor) => tf.tidy(() => tf.div(tf.sub(x, tf.tensor1d(standardize.mean)), tf.tensor1d(standardize.std))) as tf.Tensor2D;
const toX = (u: tf.Tensor) => tf.tidy(() => tf.add(tf.mul(u, tf.tensor1d(standardize.std)), tf.tensor1d(standardize.mean))) as tf.Tensor2D;

describe('a flow on standardised data', () => {
  it('every method is the plain flow composed with the affine map, log p shifted by −Σ log std', async () => {
    const flow = new CNF({ ...options, standardize });
    const plain = new CNF(options);
    const x = tf.tensor2d([[2.5, -1.2], [-4, 0], [8, -2]]);
    const u = toU(x);
    const before = tf.memory().numTensors;
    const pairs: [tf.Tensor, tf.Tensor][] = [
      [flow.logProb(x), tf.tidy(() => tf.sub(plain.logProb(u), logScale))],
      [await flow.logProbAsync(x), tf.tidy(() => tf.sub(plain.logProb(u), logScale))],
      [flow.toLatent(x), plain.toLatent(u)],
      [flow.fromLatent(u), tf.tidy(() => toX(plain.fromLatent(u)))],
      [flow.sample(50, 3), tf.tidy(() => toX(plain.sample(50, 3)))],
      [flow.trajectory(u, 3).states, tf.tidy(() => tf.add(tf.mul(plain.trajectory(u, 3).states, tf.tensor1d(standardize.std)), tf.tensor1d(standardize.mean)))],
    ];
    for (const [a, b] of pairs) expect(maxDiff(a, b)).toBeLessThan(2e-6);
    const { samples, logProb } = flow.sampleWithLogProb(20, 2);
    const direct = flow.logProb(samples);
    expect(maxDiff(logProb, direct)).toBeLessThan(5e-4);
    tf.dispose([...pairs.flat(), samples, logProb, direct]);
    expect(tf.memory().numTensors).toBe(before);
    const dir = mkdtempSync(join(tmpdir(), 'cnfkit-std-'));
    await flow.save(join(dir, 'm'));
    const loaded = await CNF.load(join(dir, 'm'));
    expect(loaded.options.standardize).toEqual(standardize);
    expect(maxDiff(loaded.logProb(x), flow.logProb(x))).toBe(0);
    rmSync(dir, { recursive: true });
    tf.dispose([x, u]);
    [flow, plain, loaded].forEach((f) => f.dispose());
  });

  it('trains on data far from the origin; the tape-free likelihood gradients equal the tape\'s', async () => {
    const raw = toyData('8gaussians', 2000, 1);
    const data = tf.tidy(() => tf.add(tf.mul(raw, 10), 100)) as tf.Tensor2D;
    const flow = new CNF({ ...options, standardize: { mean: [100, 100], std: [10, 10] } });
    const fm = await flow.fit(data, { iterations: 150, objective: 'flow-matching', batchSize: 256, learningRate: 3e-3 });
    expect(fm.history[149].loss).toBeLessThan(fm.history[0].loss);
    const heldOut = tf.tidy(() => tf.add(tf.mul(toyData('8gaussians', 500, 9), 10), 100)) as tf.Tensor2D;
    const nll = tf.tidy(() => -tf.mean(flow.logProb(heldOut)).dataSync()[0]);
    // 8gaussians' entropy is 2.83 nats; scaled by 10 in both dimensions it gains 2 log 10 = 4.61.
    expect(nll).toBeGreaterThan(2.83 + 4.6 - 0.01);
    expect(nll).toBeLessThan(2.83 + 4.61 + 1.5);
    const view = (flow as unknown as { trainingView(): TrainableFlow }).trainingView();
    const batch = data.slice([0, 0], [64, 2]) as tf.Tensor2D;
    const taped = tf.variableGrads(() => view.negativeLogLikelihood(batch, new Rng('s'), { nfe: 0, acceptedSteps: 0, rejectedSteps: 0, implicitIterations: 0 }, { nfe: 0, acceptedSteps: 0, rejectedSteps: 0, implicitIterations: 0 }), [...view.variables]);
    const free = runSync('test', view.negativeLogLikelihoodGrads(batch, new Rng('s'), { nfe: 0, acceptedSteps: 0, rejectedSteps: 0, implicitIterations: 0 }, { nfe: 0, acceptedSteps: 0, rejectedSteps: 0, implicitIterations: 0 }));
    expect(Math.abs(free.loss - taped.value.dataSync()[0])).toBeLessThan(1e-5 * Math.abs(free.loss));
    for (const v of view.variables) expect(maxDiff(free.grads[v.name], taped.grads[v.name])).toBeLessThan(1e-5 * Math.max(1e-3, ...Array.from(taped.grads[v.name].dataSync(), Math.abs)));
    tf.dispose([raw, data, heldOut, batch, taped.value, ...Object.values(taped.grads), ...Object.values(free.grads)]);
    flow.dispose();
  });

  it('refuses a standardisation that does not fit, naming the field and the entry', () => {
    const refused = (standardize: unknown) => () => new CNF({ ...options, standardize: standardize as never });
    expect(refused({ mean: [0], std: [1] })).toThrow(/'options.standardize' must be \{ mean, std \}, each an array of 2 finite numbers, std positive; mean has 1 entries$/);
    expect(refused({ mean: [0, 0], std: [1, 0] })).toThrow(/; std\[1\] is 0 \(a constant column has no density: drop it\)$/);
    expect(refused({ mean: [0, NaN], std: [1, 1] })).toThrow(/; mean\[1\] is NaN$/);
    expect(refused({ mean: new Float64Array(2), std: [1, 1] })).toThrow(/; mean is a typed array \(pass Array.from\(…\)\)$/);
    expect(refused({ mean: [0, 0] })).toThrow(/; std is missing$/);
  });

  it("pictures of points float32 cannot hold at their offset are drawn standardised (in float64), and said so", () => {
    const spy = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const coarse = new CNF({ ...options, standardize: { mean: [1_700_000_000, 0], std: [87, 1] } });
      const twin = flowSpaceTwin(coarse);
      const times = Float64Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 1_700_000_000 + i * 7 : i / 10));
      const drawn = picturePoints(coarse, twin, times);
      expect(drawn.flow).toBe(twin);
      expect(drawn.note).toBe(' (standardised: float32 cannot hold these offsets)');
      expect(new Set(Array.from(drawn.data.dataSync()).filter((_, i) => i % 2 === 0)).size).toBe(10); // 7 s apart stay apart
      const fine = new CNF({ ...options, standardize: { mean: [1000, 0], std: [87, 1] } });
      const fineTwin = flowSpaceTwin(fine);
      const plain = picturePoints(fine, fineTwin, Float64Array.of(1000, 0, 1001, 1));
      expect([plain.flow, plain.note]).toEqual([fine, '']);
      tf.dispose([drawn.data, plain.data]);
      disposeWithTwin(coarse, twin);
      disposeWithTwin(fine, fineTwin);
    } finally {
      spy.mockRestore();
    }
  });

  it('warns once where float32 cannot resolve points at the standardisation (a large offset against the spread)', () => {
    const warned: string[] = [];
    const spy = vi.spyOn(console, 'warn').mockImplementation((m: string) => void warned.push(m));
    try {
      const x = tf.tensor2d([[1_700_000_000, 0]]);
      const coarse = new CNF({ ...options, standardize: { mean: [1_700_000_000, 0], std: [10, 1] } });
      tf.dispose([coarse.logProb(x), coarse.logProb(x), coarse.sample(2)]);
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(/^cnfkit: dimension 0 of this flow is centred at 1700000000 with a spread of 10: float32 points there lie 128 apart \(13 standard deviations\), so its log-densities and samples are coarse/);
      const fine = new CNF({ ...options, standardize: { mean: [1000, -5], std: [10, 1] } });
      tf.dispose(fine.logProb(x));
      expect(warned).toHaveLength(1);
      tf.dispose(x);
      coarse.dispose();
      fine.dispose();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('training never changes the caller\'s data', () => {
  it('on the cpu backend (whose reads return the tensor\'s own array), flow matching with a standardisation leaves the data as it was', async () => {
    await ready({ backend: 'cpu', verbose: false });
    try {
      const data = tf.tidy(() => tf.add(tf.mul(toyData('8gaussians', 500, 1), 10), 100)) as tf.Tensor2D;
      const before = Array.from(data.dataSync());
      const flow = new CNF({ ...options, standardize: { mean: [100, 100], std: [10, 10] } });
      await flow.fit(data, { iterations: 3, objective: 'flow-matching', batchSize: 64 });
      await flow.fit((n) => data.slice([0, 0], [n, 2]) as tf.Tensor2D, { iterations: 3, objective: 'flow-matching', batchSize: 64 });
      expect(Array.from(data.dataSync())).toEqual(before);
      data.dispose();
      flow.dispose();
    } finally {
      await ready({ backend: 'wasm', verbose: false });
    }
  });
});
