/**
 * A standard non-stiff test set (in the spirit of Hull et al.'s DETEST and Hairer's examples), each
 * problem given twice: as tfjs dynamics for cnfkit and as float64 host dynamics for the reference
 * integration. Used by the work-precision fixture, its test and `bench/ode.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dynamics } from '../src/index.js';
import type { HostDynamics } from './float64_rk.js';

export interface NonstiffProblem {
  readonly name: string;
  readonly y0: number[];
  readonly t1: number;
  readonly f: Dynamics;
  readonly host: HostDynamics;
}

/** Column j of a [2]- or [3]-vector as a scalar tensor. */
const at = (y: tf.Tensor, j: number) => y.slice([j], [1]);

export const NONSTIFF_PROBLEMS: readonly NonstiffProblem[] = [
  {
    name: 'lotka_volterra',
    y0: [1, 1],
    t1: 10,
    f: (_t, y) => {
      const [u, v] = [at(y, 0), at(y, 1)];
      return tf.concat([tf.sub(tf.mul(1.5, u), tf.mul(u, v)), tf.add(tf.mul(-3, v), tf.mul(u, v))]);
    },
    host: (_t, [u, v]) => [1.5 * u - u * v, -3 * v + u * v],
  },
  {
    name: 'van_der_pol',
    y0: [2, 0],
    t1: 10,
    f: (_t, y) => {
      const [u, v] = [at(y, 0), at(y, 1)];
      return tf.concat([v, tf.sub(tf.mul(tf.sub(1, tf.square(u)), v), u)]);
    },
    host: (_t, [u, v]) => [v, (1 - u * u) * v - u],
  },
  {
    name: 'rigid_body',
    y0: [1, 0, 0.9],
    t1: 20,
    f: (_t, y) => {
      const [a, b, c] = [at(y, 0), at(y, 1), at(y, 2)];
      return tf.concat([tf.mul(-2, tf.mul(b, c)), tf.mul(1.25, tf.mul(a, c)), tf.mul(-0.5, tf.mul(a, b))]);
    },
    host: (_t, [a, b, c]) => [-2 * b * c, 1.25 * a * c, -0.5 * a * b],
  },
  {
    name: 'brusselator',
    y0: [1.5, 3],
    t1: 20,
    f: (_t, y) => {
      const [u, v] = [at(y, 0), at(y, 1)];
      const u2v = tf.mul(tf.square(u), v);
      return tf.concat([tf.sub(tf.add(1, u2v), tf.mul(4, u)), tf.sub(tf.mul(3, u), u2v)]);
    },
    host: (_t, [u, v]) => [1 + u * u * v - 4 * u, 3 * u - u * u * v],
  },
  {
    name: 'pendulum',
    y0: [2.5, 0],
    t1: 10,
    f: (_t, y) => tf.concat([at(y, 1), tf.neg(tf.sin(at(y, 0)))]),
    host: (_t, [q, p]) => [p, -Math.sin(q)],
  },
];

/** Tolerances of the work-precision table (rtol = atol). */
export const WORK_PRECISION_TOLERANCES = [1e-3, 1e-4, 1e-5, 1e-6];

/** Largest error at t1 relative to max(1, |reference|), over the components. */
export function endError(got: ArrayLike<number>, reference: readonly number[]): number {
  return Math.max(...reference.map((r, i) => Math.abs(got[i] - r) / Math.max(1, Math.abs(r))));
}
