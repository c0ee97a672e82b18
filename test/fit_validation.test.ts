// fit with held-out points: the validation NLL in the records, the best weights kept, early stopping.
import { describe, expect, it } from 'vitest';
import { CNF, InputError, tf, toyData } from '../src/index.js';

const meanNll = (flow: CNF, x: tf.Tensor2D) => tf.tidy(() => -tf.mean(flow.logProb(x)).dataSync()[0]);

describe.each(['flow-matching', 'maximum-likelihood'] as const)('fit with validation data (%s)', (objective) => {
  const fast = objective === 'flow-matching';
  const settings = { objective, batchSize: 64, learningRate: fast ? 1e-2 : 5e-3, seed: 3 };

  it('measures the validation NLL every validateEvery iterations and after the last, as logProb gives it then', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [16, 16], seed: 1 });
    const data = toyData('moons', 2000, 0);
    const validation = toyData('moons', 300, 1);
    const seen: [number, number][] = [];
    const report = await flow.fit(data, {
      ...settings,
      iterations: 12,
      validation,
      validateEvery: 5,
      keepBest: false,
      onProgress: (r) => void (r.validationNll !== undefined && seen.push([r.validationNll, meanNll(flow, validation)])),
    });
    expect(report.history.filter((r) => r.validationNll !== undefined).map((r) => r.iteration)).toEqual([5, 10, 12]);
    for (const [reported, measured] of seen) expect(reported).toBe(measured);
    // keepBest: false ends with the last weights.
    expect(meanNll(flow, validation)).toBe(report.history[11].validationNll);
    expect(report.stoppedEarly).toBe(false);
    tf.dispose([data, validation]);
    flow.dispose();
  });

  it('keeps the weights of the best validation NLL by default', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [16, 16], seed: 1 });
    const data = toyData('moons', 2000, 0);
    const validation = toyData('moons', 300, 1);
    const report = await flow.fit(data, { ...settings, learningRate: 5e-2, iterations: 20, validation, validateEvery: 2 });
    const measured = report.history.filter((r) => r.validationNll !== undefined);
    const best = measured.reduce((a, b) => (b.validationNll! < a.validationNll! ? b : a));
    expect(report.best).toEqual({ iteration: best.iteration, validationNll: best.validationNll });
    expect(meanNll(flow, validation)).toBe(best.validationNll);
    tf.dispose([data, validation]);
    flow.dispose();
  });

  it('a signal aborted before the start trains nothing, for either objective', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [8], seed: 1 });
    const data = toyData('moons', 200, 0);
    const before = flow.trainableVariables.map((v) => Array.from(v.dataSync()));
    for (const objective of ['maximum-likelihood', 'flow-matching'] as const) {
      const report = await flow.fit(data, { iterations: 5, objective, signal: AbortSignal.abort() });
      expect(report.history).toEqual([]);
      expect(report.stopped).toBe(true);
    }
    expect(flow.trainableVariables.map((v) => Array.from(v.dataSync()))).toEqual(before);
    tf.dispose(data);
    flow.dispose();
  });

  it('a run stopped by its signal keeps the weights of its checkpoint (to resume from), not the best', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [16, 16], seed: 1 });
    const data = toyData('moons', 2000, 0);
    const validation = toyData('moons', 300, 1);
    const stop = new AbortController();
    let atCheckpoint: tf.TypedArray[] = [];
    const report = await flow.fit(data, {
      ...settings,
      learningRate: 5e-2,
      iterations: 40,
      validation,
      validateEvery: 2,
      signal: stop.signal,
      onProgress: (r) => void (r.iteration === 17 && stop.abort()),
      onCheckpoint: () => void (atCheckpoint = flow.trainableVariables.map((v) => v.dataSync().slice())),
    });
    expect(report.stopped).toBe(true);
    expect(report.history).toHaveLength(17);
    expect(report.best).toBeDefined();
    flow.trainableVariables.forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(Array.from(atCheckpoint[i])));
    tf.dispose([data, validation]);
    flow.dispose();
  });

  it('stops early after `patience` validations without a better NLL', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [8], seed: 2 });
    const data = toyData('moons', 2000, 0);
    const validation = toyData('moons', 200, 1);
    // A learning rate this high makes the validation NLL bounce: it soon fails to improve twice.
    const report = await flow.fit(data, { ...settings, learningRate: 0.3, iterations: 200, validation, validateEvery: 1, patience: 2 });
    expect(report.stoppedEarly).toBe(true);
    expect(report.history.length).toBeLessThan(200);
    const nlls = report.history.map((r) => r.validationNll!);
    const bestBefore = Math.min(...nlls.slice(0, -2));
    expect(nlls.slice(-2).every((v) => v >= bestBefore)).toBe(true);
    tf.dispose([data, validation]);
    flow.dispose();
  });
});

describe('fit validation options', () => {
  it('are checked: points of the right shape, positive integers, and only with validation', async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [4] });
    const data = toyData('moons', 50, 0);
    const bad = tf.zeros([5, 3]) as tf.Tensor2D;
    const cases: [object, string][] = [
      [{ validation: bad }, "CNF.fit: 'options.validation' must be a tf.Tensor2D of shape [B, 2]"],
      [{ validation: data, validateEvery: 0 }, "'options.validateEvery' must be a positive integer"],
      [{ validation: data, patience: 1.5 }, "'options.patience' must be a positive integer"],
      [{ validation: data, keepBest: 'yes' }, "'options.keepBest' must be a boolean"],
      [{ patience: 3 }, "'options.patience' needs options.validation"],
    ];
    for (const [extra, message] of cases) {
      const error = await flow.fit(data, { iterations: 1, ...extra }).catch((e) => e);
      expect(error).toBeInstanceOf(InputError);
      expect(error.message).toContain(message);
    }
    tf.dispose([data, bad]);
    flow.dispose();
  });
});
