// Large batches are solved in chunks under the flow's memoryLimit (flows/chunks.ts): each chunk takes
// its own adaptive steps, so the results agree with one big solve to the solver's tolerance, the
// statistics add up, gradients flow through, and nothing is left behind (issue 17).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CNF, createStats, tf, toyData } from '../src/index.js';
import { chunkRows, chunkSizes } from '../src/flows/chunks.js';
import { resolveCnfOptions } from '../src/flows/cnf_options.js';

const options = { dim: 2, hiddenDims: [16, 16], seed: 6 };
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const value = d.dataSync()[0];
  d.dispose();
  return value;
};

describe('chunked solves', () => {
  it('splits a batch into equal chunks under the memory limit (more tangents, smaller chunks)', () => {
    const small = resolveCnfOptions({ ...options, memoryLimit: 2 ** 20 });
    expect(chunkRows(small, 2)).toBe(Math.floor(2 ** 20 / (24 * 34 * 3)));
    expect(chunkRows(small, 0)).toBeGreaterThan(chunkRows(small, 1));
    expect(chunkSizes(1000, 300)).toEqual([250, 250, 250, 250]);
    expect(chunkSizes(7, 3)).toEqual([2, 2, 3]);
    expect(() => new CNF({ ...options, memoryLimit: 1000 })).toThrow(/'options.memoryLimit' must be a number of bytes ≥ 2 \*\* 20/);
    // One point that does not fit is a clear error, not a 1-row chunk that fails to allocate.
    const wide = resolveCnfOptions({ dim: 4000, hiddenDims: [64] });
    expect(() => chunkRows(wide, 4000)).toThrow(/'options.memoryLimit' is 268435456 bytes, but one point of this 4000-dimensional flow needs about \d+ \(4000 tangents beside x\); the exact trace carries one tangent per dimension, Hutchinson's \(trace: 'hutchinson'\) one in all/);
    expect(chunkRows(wide, 1)).toBeGreaterThan(1000);
  });

  it('logProb, its async form, toLatent, fromLatent and sample of a chunked batch agree with one solve to the tolerance', async () => {
    const whole = new CNF(options);
    const chunked = new CNF({ ...options, memoryLimit: 2 ** 20 }); // ~400 rows per chunk for the exact trace
    const x = toyData('8gaussians', 1500, 2);
    expect(chunkRows(resolveCnfOptions(chunked.options), 2)).toBeLessThan(500);
    const before = tf.memory().numTensors;
    const wholeStats = createStats();
    const chunkStats = createStats();
    const pairs: [tf.Tensor, tf.Tensor, number][] = [
      [whole.logProb(x, { stats: wholeStats }), chunked.logProb(x, { stats: chunkStats }), 2e-4],
      [whole.logProb(x), await chunked.logProbAsync(x), 2e-4],
      [whole.toLatent(x), chunked.toLatent(x), 1e-4],
      [whole.fromLatent(x), await chunked.fromLatentAsync(x), 1e-4],
      [whole.sample(900, 3), chunked.sample(900, 3), 1e-4],
    ];
    for (const [a, b, tolerance] of pairs) {
      expect(b.shape).toEqual(a.shape);
      expect(maxDiff(a, b)).toBeLessThan(tolerance);
    }
    // Each chunk took its own steps: more evaluations in all, each chunk's counted.
    expect(chunkStats.nfe).toBeGreaterThan(wholeStats.nfe);
    expect(tf.memory().numTensors).toBe(before + 2 * pairs.length);
    tf.dispose(pairs.flatMap(([a, b]) => [a, b]));
    x.dispose();
    whole.dispose();
    chunked.dispose();
  });

  it('the memory of a chunked log-density is that of one chunk, whatever the batch (sync and async forms)', async () => {
    const flow = new CNF({ ...options, memoryLimit: 2 ** 20 }); // ~400 rows per chunk for the exact trace
    const peak = async (work: () => tf.TensorContainer | Promise<tf.TensorContainer>) => {
      const info = await tf.profile(work as () => tf.TensorContainer);
      tf.dispose(info.result);
      return info.peakBytes;
    };
    for (const [name, solve] of [
      ['logProb', (x: tf.Tensor2D) => flow.logProb(x)],
      ['logProbTerms', (x: tf.Tensor2D) => flow.logProbTerms(x).logProb],
      ['logProbAsync', (x: tf.Tensor2D) => flow.logProbAsync(x)],
    ] as const) {
      const [two, ten] = [toyData('8gaussians', 800, 1), toyData('8gaussians', 4000, 1)];
      // Every chunk's tangents and intermediates once piled up to the end: 5x the memory for 5x the points.
      const [small, large] = [await peak(() => solve(two)), await peak(() => solve(ten))];
      expect(large, `${name}: peak ${large} bytes for 10 chunks, ${small} for 2`).toBeLessThan(1.5 * small);
      tf.dispose([two, ten]);
    }
    flow.dispose();
  });

  it("fit's minibatches are solved whole, whatever memoryLimit (its batchSize is the caller's; they were chunked under the tape)", async () => {
    const x = toyData('8gaussians', 512, 4);
    const runs = [];
    for (const memoryLimit of [2 ** 28, 2 ** 20]) {
      const flow = new CNF({ ...options, memoryLimit });
      runs.push((await flow.fit(x, { iterations: 2, batchSize: 500 })).history.map((r) => [r.loss, r.nfeForward]));
      flow.dispose();
    }
    expect(runs[1]).toEqual(runs[0]);
    x.dispose();
  });

  it("Hutchinson's estimate with a seed does not depend on the chunks (two blocks, odd chunk sizes, Gaussian noise)", async () => {
    const flowOptions = { dim: 3, hiddenDims: [12], blocks: 2, noise: 'gaussian' as const, seed: 4 };
    const whole = new CNF(flowOptions);
    const chunked = new CNF({ ...flowOptions, memoryLimit: 2 ** 20 });
    const sizes = chunkSizes(2001, chunkRows(resolveCnfOptions(chunked.options), 1));
    expect(sizes.length).toBeGreaterThan(1);
    expect(sizes.some((n) => (n * 3) % 2 === 1)).toBe(true); // a chunk splits a pair of normals
    const x = tf.tidy(() => tf.randomNormal([2001, 3], 0, 1, 'float32', 7)) as tf.Tensor2D;
    const logProbOptions = { trace: 'hutchinson' as const, seed: 9 };
    const pairs = [
      [whole.logProb(x, logProbOptions), chunked.logProb(x, logProbOptions)],
      [whole.logProbTerms(x, logProbOptions).logProb, chunked.logProbTerms(x, logProbOptions).logProb],
      [whole.logProb(x, logProbOptions), await chunked.logProbAsync(x, logProbOptions)],
    ];
    // The same noise, row for row: only each chunk's own adaptive steps differ (another seed's
    // estimate differs by ~1 nat here; noise shifted by a chunk differed by that much).
    for (const [a, b] of pairs) expect(maxDiff(a, b)).toBeLessThan(2e-4);
    const other = whole.logProb(x, { ...logProbOptions, seed: 10 });
    expect(maxDiff(pairs[0][0], other)).toBeGreaterThan(0.1);
    tf.dispose([x, other, ...pairs.flat()]);
    whole.dispose();
    chunked.dispose();
  });

  it("a loaded flow takes this machine's memoryLimit (the saved one is the training machine's)", async () => {
    const flow = new CNF(options);
    const dir = mkdtempSync(join(tmpdir(), 'cnfkit-limit-'));
    await flow.save(join(dir, 'm'));
    const loaded = await CNF.load(join(dir, 'm'), { memoryLimit: 2 ** 20 });
    expect(loaded.options.memoryLimit).toBe(2 ** 20);
    const asSaved = await CNF.load(join(dir, 'm'));
    expect(asSaved.options.memoryLimit).toBe(2 ** 28);
    asSaved.dispose();
    await expect(CNF.load(join(dir, 'm'), { memoryLimit: 1000 })).rejects.toThrow("CNF.load: 'options.memoryLimit' must be a number of bytes ≥ 2 ** 20");
    const x = toyData('8gaussians', 1500, 2);
    const [a, b] = [flow.logProb(x), loaded.logProb(x)];
    expect(maxDiff(a, b)).toBeLessThan(2e-4);
    tf.dispose([x, a, b]);
    flow.dispose();
    loaded.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a chunked logProb is differentiable: the gradient w.r.t. the points and the weights match one solve', () => {
    const whole = new CNF(options);
    const chunked = new CNF({ ...options, memoryLimit: 2 ** 20 });
    const x = toyData('8gaussians', 600, 4); // under a tape chunks are three times smaller: ~130 rows
    const grad = (flow: CNF) => tf.variableGrads(() => tf.mean(flow.logProb(x)) as tf.Scalar, flow.trainableVariables);
    const a = grad(whole);
    const b = grad(chunked);
    expect(Math.abs(a.value.dataSync()[0] - b.value.dataSync()[0])).toBeLessThan(1e-4);
    whole.trainableVariables.forEach((v, i) => {
      const scale = Math.max(1e-3, ...Array.from(a.grads[v.name].dataSync(), Math.abs));
      expect(maxDiff(a.grads[v.name], b.grads[chunked.trainableVariables[i].name]) / scale, v.name).toBeLessThan(2e-3);
    });
    const dx = (flow: CNF) => tf.grad((p: tf.Tensor) => tf.sum(flow.logProb(p as tf.Tensor2D)))(x);
    const [dxWhole, dxChunked] = [dx(whole), dx(chunked)];
    expect(maxDiff(dxWhole, dxChunked)).toBeLessThan(1e-3);
    tf.dispose([x, a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads), dxWhole, dxChunked]);
    whole.dispose();
    chunked.dispose();
  });
});

describe('samples with their log-densities from one solve', () => {
  it.each([
    ['one block', { blocks: 1 }],
    ['two blocks, chunked', { blocks: 2, memoryLimit: 2 ** 20 }],
  ])('%s: the samples are sample()\'s and the log-densities logProb()\'s, to the tolerance; the async form agrees', async (_name, extra) => {
    const flow = new CNF({ ...options, ...extra });
    const before = tf.memory().numTensors;
    const { samples, logProb } = flow.sampleWithLogProb(700, 5);
    expect(tf.memory().numTensors).toBe(before + 2);
    const plain = flow.sample(700, 5);
    const direct = flow.logProb(samples);
    expect(maxDiff(samples, plain)).toBeLessThan(1e-4);
    expect(maxDiff(logProb, direct)).toBeLessThan(5e-4);
    const async = await flow.sampleWithLogProbAsync(700, 5);
    expect(maxDiff(async.samples, samples)).toBe(0);
    expect(maxDiff(async.logProb, logProb)).toBe(0);
    tf.dispose([samples, logProb, plain, direct, async.samples, async.logProb]);
    expect(() => flow.sampleWithLogProb(0)).toThrow(/^CNF.sampleWithLogProb: 'n' must be a positive integer/);
    flow.dispose();
  });
});
