import { describe, expect, it } from 'vitest';
import { METHODS, SOLVERS, matMul, odeint, tf } from '../src/index.js';

describe('odeint leaks no tensors', () => {
  it.each(METHODS)('%s: numTensors is the same after each of 5 calls', (method) => {
    const y0 = tf.tensor2d([[1, 0.5], [-1, 2]]);
    const w = tf.tensor2d([[-0.5, 1], [-1, -0.5]]);
    const f = (t: tf.Scalar, y: tf.Tensor) => tf.add(tf.matMul(y as tf.Tensor2D, w), tf.mul(0.1, tf.sin(t)));
    const options = SOLVERS[method].adaptive ? { rtol: 1e-4, atol: 1e-4 } : { stepSize: 0.05 };
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      odeint(f, y0, [0, 0.4, 1], { method, ...options }).dispose();
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    tf.dispose([y0, w]);
  });
});

describe('a solve that fails under a gradient tape', () => {
  it("leaves none of the tape's saved tensors behind (tfjs frees them only in a backward pass that never comes)", () => {
    const k = tf.variable(tf.scalar(1));
    const blowUp = (_t: tf.Scalar, y: tf.Tensor) => tf.mul(k, tf.square(y)); // y' = y² from 1: infinite at t = 1
    const y0 = tf.tensor1d([1]);
    const before = tf.memory().numTensors;
    expect(() => tf.grad((y: tf.Tensor) => tf.sum(odeint(blowUp, y, [0, 2])))(y0)).toThrow(/step size underflow/);
    expect(() => tf.variableGrads(() => tf.sum(odeint(blowUp, y0, [0, 2], { method: 'rk4', stepSize: 0.1 })) as tf.Scalar)).toThrow();
    expect(tf.memory().numTensors).toBe(before);
    // A tensor the dynamics keep on purpose (a cache) is the user's: it survives the failure.
    let cache: tf.Tensor | undefined;
    const cached = (t: tf.Scalar, y: tf.Tensor) => tf.mul((cache ??= tf.keep(tf.scalar(1))), blowUp(t, y));
    expect(() => tf.grad((y: tf.Tensor) => tf.sum(odeint(cached, y, [0, 2])))(y0)).toThrow(/step size underflow/);
    expect(cache!.isDisposed).toBe(false);
    tf.dispose([k, y0, cache!]);
  });
});

describe('backprop through odeint', () => {
  it.each(['rk4', 'dopri5', 'tsit5'] as const)('%s: dL/dy0 and dL/dλ of y(T) = y0 e^{λT} match the closed form', (method) => {
    // L = Σ y(T)², y' = λ y: dL/dy0 = 2 y0 e^{2λT}, dL/dλ = 2 T Σ y0² e^{2λT}.
    const T = 1.5;
    const lambda = tf.variable(tf.scalar(-0.7));
    const y0 = tf.tensor1d([1, -2, 0.5]);
    const options = SOLVERS[method].adaptive ? { rtol: 1e-6, atol: 1e-7 } : { stepSize: 0.01 };
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(odeint((_t, y) => tf.mul(lambda, y), y0, [0, T], { method, ...options }).slice([1], [1]))));
    const dLambda = grads[lambda.name].dataSync()[0];
    const dY0 = tf.grad((y: tf.Tensor) => tf.sum(tf.square(odeint((_t, z) => tf.mul(lambda, z), y, [0, T], { method, ...options }).slice([1], [1]))))(y0);
    const e2 = Math.exp(2 * -0.7 * T);
    Array.from(dY0.dataSync()).forEach((g, i) => expect(Math.abs(g - 2 * [1, -2, 0.5][i] * e2)).toBeLessThan(1e-5));
    expect(Math.abs(dLambda - 2 * T * 5.25 * e2) / (2 * T * 5.25 * e2)).toBeLessThan(1e-4);
    tf.dispose([value, dY0, grads[lambda.name]]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([y0, lambda]);
  });
});

describe('backprop through the implicit methods', () => {
  // y' = λy with step h: one step multiplies by r(λ), so y(T) = r^N y0 and dL/dλ = N r^(N−1) r'(λ) Σ y0 for L = Σ y(T).
  const methods = {
    trapezoid: { r: (z: number) => (1 + z / 2) / (1 - z / 2), dr: (h: number, z: number) => h / (1 - z / 2) ** 2 },
    implicit_euler: { r: (z: number) => 1 / (1 - z), dr: (h: number, z: number) => h / (1 - z) ** 2 },
  } as const;
  it.each((['trapezoid', 'implicit_euler'] as const).flatMap((m) => (['newton', 'fixed-point'] as const).map((s) => [m, s] as const)))(
    "%s with %s: dL/dy0 and dL/dλ are the discrete method's (Newton's host updates are invisible to the tape)",
    (method, implicitSolver) => {
      const [h, N, lambda0] = [0.1, 10, -0.5];
      const lambda = tf.variable(tf.scalar(lambda0));
      const y0 = tf.tensor1d([1, 2]);
      const options = { method, implicitSolver, stepSize: h, implicitTol: 1e-7 };
      const before = tf.memory().numTensors;
      const last = (y: tf.Tensor) => tf.sum(odeint((_t, z) => tf.mul(lambda, z), y, [0, h * N], options).slice([1], [1]));
      const { value, grads } = tf.variableGrads(() => last(y0) as tf.Scalar);
      const dY0 = tf.grad(last)(y0);
      const { r, dr } = methods[method];
      const z = h * lambda0;
      Array.from(dY0.dataSync()).forEach((g) => expect(Math.abs(g - r(z) ** N)).toBeLessThan(1e-5));
      expect(Math.abs(grads[lambda.name].dataSync()[0] - N * r(z) ** (N - 1) * dr(h, z) * 3)).toBeLessThan(1e-4);
      tf.dispose([value, dY0, grads[lambda.name]]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([y0, lambda]);
    },
  );
});

describe('matMul with explicit-transpose gradients', () => {
  it('has the value and both gradients of tf.matMul', () => {
    const a = tf.randomNormal([5, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomNormal([3, 4], 0, 1, 'float32', 2) as tf.Tensor2D;
    const dy = tf.randomNormal([5, 4], 0, 1, 'float32', 3);
    const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMul(x as tf.Tensor2D, y as tf.Tensor2D), dy)))([a, b]);
    const theirs = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), dy)))([a, b]);
    expect(tf.max(tf.abs(tf.sub(matMul(a, b), tf.matMul(a, b)))).dataSync()[0]).toBeLessThan(1e-6);
    for (let i = 0; i < 2; i++) expect(tf.max(tf.abs(tf.sub(ours[i], theirs[i]))).dataSync()[0]).toBeLessThan(1e-5);
  });
});
