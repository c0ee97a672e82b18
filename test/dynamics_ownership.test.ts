// Dynamics that return their input, or a tensor captured from outside, are ordinary user code: the
// solvers must never dispose a tensor they do not own (issue 12: every method crashed inside tfjs).
import { describe, expect, it } from 'vitest';
import { METHODS, SOLVERS, odeint, odeintAdjoint, tf, type Dynamics, type MethodName } from '../src/index.js';

/** Fixed-step methods take ten steps per unit interval; adaptive ones choose their own. */
const stepOptions = (method: MethodName) => (SOLVERS[method].adaptive ? { method } : { method, stepSize: 0.1 });

/** The same dynamics written so that every evaluation makes a fresh tensor (the reference). */
const identity: Dynamics = (_t, y) => y;
const freshIdentity: Dynamics = (_t, y) => tf.mul(y, 1);

describe.each(METHODS)('%s with dynamics whose result it does not own', (method) => {
  it('f = y (returns its input) gives the same solution as a fresh copy, and leaks nothing', () => {
    const y0 = tf.tensor1d([1, -2]);
    const expected = odeint(freshIdentity, y0, [0, 0.5, 1], stepOptions(method));
    const before = tf.memory().numTensors;
    const ys = odeint(identity, y0, [0, 0.5, 1], stepOptions(method));
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(Array.from(ys.dataSync())).toEqual(Array.from(expected.dataSync()));
    // e^1 to the method's accuracy: the identity really was integrated.
    expect(ys.dataSync()[4]).toBeCloseTo(Math.E, SOLVERS[method].order === 1 ? 0 : 1);
    expect(y0.isDisposed).toBe(false);
    tf.dispose([y0, expected, ys]);
  });

  it('f = c (a captured constant) keeps c alive and gives y0 + c t exactly', () => {
    const c = tf.tensor1d([0.5, -3]);
    const y0 = tf.tensor1d([1, 2]);
    const before = tf.memory().numTensors;
    const ys = odeint(() => c, y0, [0, 1, 2], stepOptions(method));
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(c.isDisposed).toBe(false);
    const values = Array.from(ys.dataSync());
    const exact = [1, 2, 1.5, -1, 2, -4];
    values.forEach((v, i) => expect(Math.abs(v - exact[i])).toBeLessThan(1e-5));
    tf.dispose([c, y0, ys]);
  });

  it('odeintAdjoint with f = y and f = c gives the gradients of the fresh-copy dynamics', () => {
    const y0 = tf.tensor1d([1, -2]);
    const c = tf.tensor1d([0.5, -3]);
    const grad = (f: Dynamics) => tf.grad((y: tf.Tensor) => tf.sum(tf.mul(odeintAdjoint(f, y, [0, 1], { ...stepOptions(method), params: [] }), tf.tensor([[1, 2], [3, 4]]))))(y0);
    const before = tf.memory().numTensors;
    const gIdentity = grad(identity);
    const gConstant = grad(() => c);
    expect(tf.memory().numTensors).toBe(before + 2);
    const gFresh = grad(freshIdentity);
    expect(Array.from(gIdentity.dataSync())).toEqual(Array.from(gFresh.dataSync()));
    // y(1) = y0 + c does not depend on y0 beyond the identity: dL/dy0 = [1 + 3, 2 + 4].
    expect(Array.from(gConstant.dataSync())).toEqual([4, 6]);
    expect(c.isDisposed).toBe(false);
    tf.dispose([y0, c, gIdentity, gConstant, gFresh]);
  });
});

describe('odeintAdjoint with y0 and ts held in tf.Variables (as tf.variableGrads users write it)', () => {
  it('gives the same gradients as with plain tensors, for y0, every output time and the params', () => {
    const k = tf.variable(tf.scalar(-0.5), true, 'ownership.k');
    const f: Dynamics = (_t, y) => tf.mul(k, y);
    const y0Variable = tf.variable(tf.tensor1d([1, 2]), true, 'ownership.y0');
    const tsVariable = tf.variable(tf.tensor1d([0, 0.5, 1]), true, 'ownership.ts');
    const y0 = tf.tensor1d([1, 2]);
    const ts = tf.tensor1d([0, 0.5, 1]);
    const loss = (y: tf.Tensor, times: tf.Tensor1D) => () => tf.sum(tf.square(odeintAdjoint(f, y, times, { params: [k] }))) as tf.Scalar;

    const held = tf.variableGrads(loss(y0Variable, tsVariable), [k, y0Variable, tsVariable]);
    const plain = tf.grads((y: tf.Tensor, times: tf.Tensor) => loss(y, times as tf.Tensor1D)());
    const [gy0, gts] = plain([y0, ts]);
    const gk = tf.variableGrads(loss(y0, ts), [k]).grads['ownership.k'];

    expect(held.value.dataSync()[0]).toBeGreaterThan(0);
    expect(Array.from(held.grads['ownership.y0'].dataSync())).toEqual(Array.from(gy0.dataSync()));
    expect(Array.from(held.grads['ownership.ts'].dataSync())).toEqual(Array.from(gts.dataSync()));
    expect(held.grads['ownership.k'].dataSync()[0]).toBe(gk.dataSync()[0]);
    // Closed form: L = Σ_j Σ_i y0_i² e^{2k t_j}; dL/dy0_i = 2 y0_i Σ_j e^{2k t_j}.
    const sumExp = [0, 0.5, 1].reduce((s, t) => s + Math.exp(-t), 0);
    expect(gy0.dataSync()[1]).toBeCloseTo(4 * sumExp, 4);
    tf.dispose([k, y0Variable, tsVariable, y0, ts, held.value, gy0, gts, gk, ...Object.values(held.grads)]);
  });
});
