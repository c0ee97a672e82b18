// The seeds' latent-ODE experiment (examples/latent_ode): the spirals are the paper's (clockwise
// ones around (−5, 0), counter-clockwise ones around (5, 0), noise 0.3), each spiral observes exactly
// k of its 100 times, and the model's −ELBO falls in a few Adam steps through odeintAdjoint with
// nothing left behind (issue 16).
import { describe, expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { Rng } from '../src/random.js';
import { LatentOde } from '../examples/latent_ode/model.js';
import { GapRnn } from '../examples/latent_ode/rnn.js';
import { observationMasks, SAMPLES, spirals, TIMES } from '../examples/latent_ode/spirals.js';

describe('latent ODE on irregularly sampled spirals', () => {
  it('the data: both turning directions, the noise, exactly k observations per spiral, the same for a seed', () => {
    const set = spirals(200, 3);
    const cw = set.filter((s) => s.clockwise);
    expect(cw.length).toBeGreaterThan(60);
    expect(set.length - cw.length).toBeGreaterThan(60);
    const centre = (s: (typeof set)[number]) => s.truth.reduce((a, p) => a + p[0], 0) / s.truth.length;
    expect(cw.every((s) => centre(s) < 0)).toBe(true);
    expect(set.filter((s) => !s.clockwise).every((s) => centre(s) > 0)).toBe(true);
    const residuals = set.flatMap((s) => s.observed.flatMap((p, i) => [p[0] - s.truth[i][0], p[1] - s.truth[i][1]]));
    const std = Math.sqrt(residuals.reduce((a, r) => a + r * r, 0) / residuals.length);
    expect(std).toBeGreaterThan(0.28);
    expect(std).toBeLessThan(0.32);
    for (const k of [30, 50, 100]) expect(observationMasks(20, k, 1).every((m) => m.filter(Boolean).length === k)).toBe(true);
    expect(spirals(5, 3)).toEqual(spirals(5, 3));
    expect(TIMES).toHaveLength(2 * SAMPLES);
  });

  it('the −ELBO falls over a few Adam steps (adjoint through 100 output times), with no tensor left', () => {
    const n = 16;
    const set = spirals(n, 0);
    const masks = observationMasks(n, 30, 0);
    const x = tf.tensor3d(Array.from({ length: SAMPLES }, (_, t) => set.map((s) => s.observed[t])));
    const mask = tf.tensor2d(Array.from({ length: SAMPLES }, (_, t) => masks.map((m) => (m[t] ? 1 : 0))));
    const model = new LatentOde(0);
    const optimizer = tf.train.adam(0.01);
    const rng = new Rng('elbo');
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    for (let i = 0; i < 8; i++) {
      const loss = optimizer.minimize(() => model.loss(x, mask, TIMES.slice(0, SAMPLES), rng), true, model.variables)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
      if (i === 0) expect(tf.memory().numTensors).toBeGreaterThanOrEqual(before); // Adam's moments appear once
    }
    const settled = tf.memory().numTensors;
    const loss = optimizer.minimize(() => model.loss(x, mask, TIMES.slice(0, SAMPLES), rng), true, model.variables)!;
    loss.dispose();
    expect(tf.memory().numTensors).toBe(settled);
    expect(losses[7]).toBeLessThan(losses[0] * 0.9);
    tf.dispose([x, mask]);
    optimizer.dispose();
    model.dispose();
  });

  it('the RNN baseline with time gaps: its error on the observed points falls, it extrapolates past them, no tensor left', () => {
    const n = 16;
    const set = spirals(n, 0);
    const masks = observationMasks(n, 30, 0);
    const x = tf.tensor3d(Array.from({ length: SAMPLES }, (_, t) => set.map((s) => s.observed[t])));
    const mask = tf.tensor2d(Array.from({ length: SAMPLES }, (_, t) => masks.map((m) => (m[t] ? 1 : 0))));
    const rnn = new GapRnn(0);
    const optimizer = tf.train.adam(0.01);
    const losses: number[] = [];
    for (let i = 0; i < 15; i++) {
      const loss = optimizer.minimize(() => rnn.loss(x, mask, TIMES.slice(0, SAMPLES)), true, rnn.variables)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    expect(losses[14]).toBeLessThan(losses[0] * 0.8);
    const before = tf.memory().numTensors;
    const predicted = rnn.predict(x, mask, TIMES);
    expect(predicted.shape).toEqual([2 * SAMPLES, n, 2]);
    expect(predicted.dataSync().every(Number.isFinite)).toBe(true);
    predicted.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, mask]);
    optimizer.dispose();
    rnn.dispose();
  });
});
