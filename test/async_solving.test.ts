// The async forms (odeintAsync, CNF.*Async) run the same stepping logic as the sync ones, only
// reading the host values with `await data()`: the same steps, statistics and results to the bit,
// the same errors, nothing leaked (issue 15). test/webgpu.test.ts runs them where reads must be async.
import { describe, expect, it } from 'vitest';
import { runSync } from '../src/ode/host_reads.js';
import { Rng } from '../src/random.js';
import type { TrainableFlow } from '../src/train/trainable_flow.js';
import { CNF, InputError, MaxStepsError, createStats, odeint, odeintAdjoint, odeintAdjointGrads, odeintAsync, tf, type MethodName } from '../src/index.js';

const f = (t: tf.Scalar, y: tf.Tensor) => tf.tidy(() => tf.sub(tf.mul(tf.sin(t), y), tf.mul(0.3, tf.pow(y, 3))));
const y0 = () => tf.tensor2d([[0.5, -1.2], [2, 0.1]]);

describe('odeintAsync', () => {
  it.each([
    ['dopri5', {}],
    ['bosh3', { rtol: 1e-4, atol: 1e-6 }],
    ['rk4', { stepSize: 0.05 }],
    ['nystrom2', { stepSize: 0.05 }],
    ['implicit_euler', { stepSize: 0.1, implicitSolver: 'newton' }],
    ['trapezoid', { stepSize: 0.1, implicitSolver: 'fixed-point' }],
  ] as [MethodName, object][])('%s: the same values, steps and evaluations as odeint, bit for bit, no tensor left', async (method, extra) => {
    const y = y0();
    const syncStats = createStats();
    const asyncStats = createStats();
    const ts = [0, 0.7, 1.5, 2];
    const sync = odeint(f, y, ts, { method, ...extra, stats: syncStats });
    const before = tf.memory().numTensors;
    const result = await odeintAsync(f, y, ts, { method, ...extra, stats: asyncStats });
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(Array.from(await result.data())).toEqual(Array.from(sync.dataSync()));
    expect(asyncStats).toEqual(syncStats);
    expect(asyncStats.nfe).toBeGreaterThan(3);
    tf.dispose([y, sync, result]);
  });

  it('takes ts as a tensor, and rejects with the errors odeint throws, leaving nothing behind', async () => {
    const y = y0();
    const ts = tf.tensor1d([0, 1]);
    expect(Array.from(await (await odeintAsync(f, y, ts)).data())).toEqual(Array.from(odeint(f, y, ts).dataSync()));
    const before = tf.memory().numTensors;
    await expect(odeintAsync(f, y, [0, 100], { maxSteps: 3 })).rejects.toBeInstanceOf(MaxStepsError);
    const bad = tf.tensor1d([NaN]);
    await expect(odeintAsync((_t, v) => v, bad, [0, 1])).rejects.toThrow(new InputError('odeintAsync', 'y0', 'must be finite, but contains NaN or Inf'));
    await expect(odeintAsync(f, y, [0, 0])).rejects.toThrow(/^odeintAsync: 'ts' must be strictly increasing or strictly decreasing/);
    bad.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([y, ts]);
  });
});

describe('the flow\'s async forms', () => {
  it('logProbAsync, sampleAsync, toLatentAsync and fromLatentAsync equal their sync forms, bit for bit', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [12, 12], blocks: 2, seed: 5 });
    const x = tf.tensor2d([[0.3, -1], [1.5, 0.2], [-2, 0.7]]);
    const before = tf.memory().numTensors;
    const pairs: [tf.Tensor, tf.Tensor][] = [
      [flow.logProb(x), await flow.logProbAsync(x)],
      [flow.logProb(x, { trace: 'hutchinson', seed: 4 }), await flow.logProbAsync(x, { trace: 'hutchinson', seed: 4 })],
      [flow.sample(7, 3), await flow.sampleAsync(7, 3)],
      [flow.toLatent(x), await flow.toLatentAsync(x)],
      [flow.fromLatent(x), await flow.fromLatentAsync(x)],
    ];
    for (const [sync, async] of pairs) expect(Array.from(await async.data())).toEqual(Array.from(sync.dataSync()));
    expect(tf.memory().numTensors).toBe(before + 2 * pairs.length);
    tf.dispose(pairs.flat());
    await expect(flow.logProbAsync(tf.tensor2d([[NaN, 0]]))).rejects.toThrow(/^CNF.logProbAsync: 'x' must be finite/);
    await expect(flow.sampleAsync(0)).rejects.toThrow(/^CNF.sampleAsync: 'n' must be a positive integer/);
    x.dispose();
    flow.dispose();
  });
});

describe('the async forms beside a running fit', () => {
  it('a loop awaiting logProbAsync lets fit take its iterations (each call gives the event loop a turn)', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [8], seed: 4 });
    const [data, grid] = [tf.randomNormal([200, 2], 0, 1, 'float32', 1) as tf.Tensor2D, tf.randomNormal([50, 2], 0, 1, 'float32', 2) as tf.Tensor2D];
    let done = false;
    const training = flow.fit(data, { iterations: 20, batchSize: 32, objective: 'flow-matching' }).then(() => (done = true));
    let evaluations = 0;
    // Microtask-only promises starved fit here: it never got past its first iteration.
    while (!done && evaluations < 200) {
      (await flow.logProbAsync(grid)).dispose();
      evaluations++;
    }
    await training;
    expect(done).toBe(true);
    expect(evaluations).toBeLessThan(200);
    tf.dispose([data, grid]);
    flow.dispose();
  });
});

describe('odeintAdjointGrads (the adjoint without a tape, reads awaited)', () => {
  it('gives odeintAdjoint\'s gradients w.r.t. y0, the params and the times, bit for bit, and the solution', async () => {
    const w = tf.variable(tf.tensor2d([[-0.4, 0.9], [-0.7, -0.2]]));
    const b = tf.variable(tf.tensor1d([0.1, -0.3]));
    const dyn = (t: tf.Scalar, y: tf.Tensor) => tf.tidy(() => tf.add(tf.tanh(tf.matMul(y, w)), tf.mul(t, b)));
    const y0 = tf.tensor2d([[0.5, -1], [1, 0.3]]);
    const ts = tf.tensor1d([0, 0.4, 1.1]);
    const weights = tf.tensor3d([[[0, 0], [0, 0]], [[1, -2], [0.5, 1]], [[0.3, 0.2], [-1, 2]]]);
    // Reference: L = Σ weights · y(ts) through odeintAdjoint and the tape.
    const y0v = tf.variable(y0.clone());
    const tsv = tf.variable(ts.clone());
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(weights, odeintAdjoint(dyn, y0v, tsv, { params: [w, b] }))) as tf.Scalar, [w, b, y0v, tsv]);
    const before = tf.memory().numTensors;
    const result = await odeintAdjointGrads(dyn, y0, ts, weights, { params: [w, b] });
    expect(tf.memory().numTensors).toBe(before + 5);
    expect(Array.from(await result.y0.data())).toEqual(Array.from(grads[y0v.name].dataSync()));
    expect(Array.from(await result.params[0].data())).toEqual(Array.from(grads[w.name].dataSync()));
    expect(Array.from(await result.params[1].data())).toEqual(Array.from(grads[b.name].dataSync()));
    expect(Array.from(await result.ts!.data())).toEqual(Array.from(grads[tsv.name].dataSync()));
    expect(Array.from(await result.value.data())).toEqual(Array.from(odeint(dyn, y0, ts).dataSync()));
    await expect(odeintAdjointGrads(dyn, y0, ts, tf.zeros([2, 2]), { params: [w, b] })).rejects.toThrow(/^odeintAdjointGrads: 'dLdy' must be a float32 tensor of shape \[3,2,2\]/);
    tf.dispose([w, b, y0, ts, weights, y0v, tsv, ...Object.values(grads), result.value, result.y0, ...result.params, result.ts!]);
  });
});

describe('maximum likelihood without a tape (the path fit takes where reads are async)', () => {
  it.each([
    ['one block, exact trace', { blocks: 1 }],
    ['two blocks, trained T, RNODE regularisers, Hutchinson', { blocks: 2, trainT: true, kineticEnergy: 0.1, jacobianNorm: 0.05, trace: 'hutchinson' as const }],
  ])('%s: the loss and every gradient equal the tape\'s through odeintAdjoint (float32 rounding apart)', async (_name, extra) => {
    const flow = new CNF({ dim: 2, hiddenDims: [10, 10], seed: 9, ...extra });
    // The interface fit trains through (private to the flow; train/ sees only this).
    const view = (flow as unknown as { trainingView(): TrainableFlow }).trainingView();
    const batch = tf.tensor2d([[0.3, -1], [1.5, 0.2], [-2, 0.7], [0.1, 0.1]]);
    const taped = tf.variableGrads(() => view.negativeLogLikelihood(batch, new Rng('nll'), createStats(), createStats()), [...view.variables]);
    const before = tf.memory().numTensors;
    const stats = createStats();
    const tapeFree = runSync('test', view.negativeLogLikelihoodGrads(batch, new Rng('nll'), stats, createStats()));
    expect(tf.memory().numTensors).toBe(before + view.variables.length);
    expect(Math.abs(tapeFree.loss - taped.value.dataSync()[0])).toBeLessThan(1e-6 * Math.abs(tapeFree.loss));
    expect(stats.nfe).toBeGreaterThan(0);
    for (const v of view.variables) {
      const want = taped.grads[v.name].dataSync();
      const got = tapeFree.grads[v.name].dataSync();
      const scale = Math.max(...Array.from(want, Math.abs));
      want.forEach((w, i) => expect(Math.abs(got[i] - w), `${v.name}[${i}]`).toBeLessThan(1e-5 * scale + 1e-7));
    }
    tf.dispose([batch, taped.value, ...Object.values(taped.grads), ...Object.values(tapeFree.grads)]);
    flow.dispose();
  });
});

describe('sync and async agree where the review found they did not', () => {
  it('a default flow (trained T) gives the same log-densities sync and async on 200 rows, and the async form of a Hutchinson flow chunks as the sync one', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [12], seed: 1 });
    const x = tf.tensor2d(Array.from({ length: 400 }, (_, i) => Math.sin(i * 1.7) * 2), [200, 2]);
    const [a, b] = [flow.logProb(x), await flow.logProbAsync(x)];
    expect(Array.from(await b.data())).toEqual(Array.from(a.dataSync()));
    const hutchinson = new CNF({ dim: 2, hiddenDims: [12], seed: 1, trace: 'hutchinson', memoryLimit: 2 ** 20 });
    const [c, d] = [hutchinson.logProb(x), await hutchinson.logProbAsync(x)];
    expect(Array.from(await d.data())).toEqual(Array.from(c.dataSync()));
    tf.dispose([x, a, b, c, d]);
    flow.dispose();
    hutchinson.dispose();
  });

  it('odeintAdjointGrads leaves nothing behind with checkpoints, or when its backward solve fails', async () => {
    const k = tf.variable(tf.scalar(-0.5));
    const f = (_t: tf.Scalar, y: tf.Tensor) => tf.mul(k, y);
    const y0 = tf.tensor1d([1, 2]);
    const dLdy = tf.tensor2d([[0, 0], [1, 1], [1, 1]]);
    await odeintAdjointGrads(f, y0, [0, 0.5, 1], dLdy, { params: [k] }).then((g) => tf.dispose([g.value, g.y0, ...g.params]));
    const before = tf.memory().numTensors;
    for (const method of ['dopri5', 'rk4'] as const) {
      const g = await odeintAdjointGrads(f, y0, [0, 0.5, 1], dLdy, { params: [k], method, ...(method === 'rk4' ? { stepSize: 0.25 } : {}), adjointCheckpoints: true });
      tf.dispose([g.value, g.y0, ...g.params]);
      expect(tf.memory().numTensors, method).toBe(before);
    }
    await expect(odeintAdjointGrads(f, y0, [0, 0.5, 1], dLdy, { params: [k], maxSteps: 4, adjointRtol: 1e-7, adjointAtol: 1e-12, adjointNorm: 'full' })).rejects.toBeInstanceOf(MaxStepsError);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([k, y0, dLdy]);
  });
});
