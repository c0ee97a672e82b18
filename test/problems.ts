/**
 * Initial value problems with exact solutions, shared by every solver test.
 * Each state is float32; `exact(t)` is float64 on the host.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dynamics } from '../src/index.js';

export interface Problem {
  readonly name: string;
  readonly f: Dynamics;
  /** Initial state at t0, as nested arrays of y0's shape. */
  readonly shape: number[];
  readonly t0: number;
  readonly t1: number;
  /** The exact solution, flattened row-major. */
  readonly exact: (t: number) => number[];
}

const decayY0 = [1, 2];

/** Damped rotation y' = A y, A = [[−0.1, −1], [1, −0.1]], for a batch of row vectors (y' = y Aᵀ). */
const A = [
  [-0.1, -1],
  [1, -0.1],
];
const rotationY0 = [
  [1, 0],
  [0, 2],
  [-1, 0.5],
];

export const PROBLEMS: readonly Problem[] = [
  {
    name: 'exponential decay',
    f: (_t, y) => tf.neg(y),
    shape: [2],
    t0: 0,
    t1: 2,
    exact: (t) => decayY0.map((v) => v * Math.exp(-t)),
  },
  {
    name: "y' = y cos t",
    f: (t, y) => tf.mul(y, tf.cos(t)),
    shape: [3, 1],
    t0: 0,
    t1: 3,
    exact: (t) => [1, 0.5, -1].map((v) => v * Math.exp(Math.sin(t))),
  },
  {
    name: 'linear system (damped rotation)',
    f: (_t, y) => tf.matMul(y as tf.Tensor2D, tf.tensor2d(A).transpose()),
    shape: [3, 2],
    t0: 0,
    t1: 4,
    // exp(At) = e^{−0.1t} [[cos t, −sin t], [sin t, cos t]]; row y(t) = y0 exp(At)ᵀ.
    exact: (t) =>
      rotationY0.flatMap(([a, b]) => {
        const d = Math.exp(-0.1 * t);
        return [d * (a * Math.cos(t) - b * Math.sin(t)), d * (a * Math.sin(t) + b * Math.cos(t))];
      }),
  },
  {
    name: 'free fall with drag (v\' = 9.8 − 0.196 v)',
    f: (_t, v) => tf.sub(9.8, tf.mul(0.196, v)),
    shape: [1],
    t0: 0,
    t1: 10,
    exact: (t) => [50 * (1 - Math.exp(-0.196 * t))],
  },
];

/** The exact state at t as a float32 tensor of the problem's shape. */
export function exactTensor(p: Problem, t: number): tf.Tensor {
  return tf.tensor(p.exact(t), p.shape);
}

/**
 * Largest error over all elements, relative to `scale` (by default max(1, |exact|) per element).
 * Pass the problem's {@link solutionScale} when the solution passes through zero.
 */
export function maxRelativeError(got: ArrayLike<number>, exact: readonly number[], scale?: number): number {
  let worst = 0;
  for (let i = 0; i < exact.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - exact[i]) / (scale ?? Math.max(1, Math.abs(exact[i]))));
  }
  return worst;
}

/** max(1, largest |y| at the ends of the problem's span): the magnitude errors are relative to. */
export function solutionScale(p: Problem): number {
  return Math.max(1, ...p.exact(p.t0).map(Math.abs), ...p.exact(p.t1).map(Math.abs));
}

/** Least-squares slope of log(err) against log(h). */
export function fittedSlope(hs: readonly number[], errs: readonly number[]): number {
  const x = hs.map(Math.log);
  const y = errs.map(Math.log);
  const mx = x.reduce((a, b) => a + b) / x.length;
  const my = y.reduce((a, b) => a + b) / y.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) ** 2;
  }
  return num / den;
}
