/**
 * Checks at the boundary of the ODE API: the initial state, the output times and the dynamics.
 * Every message names the function, the argument and what was expected.
 */
import * as tf from '@tensorflow/tfjs-core';
import { NonFiniteError, InputError } from '../errors.js';
import { read, readNumber, type Reads } from './host_reads.js';
import { ownedResult, type StateDynamics } from './state.js';
import type { OdeStats } from './stats.js';

/** User dynamics: dy/dt = f(t, y), returning a tensor of y's shape. */
export type Dynamics = (t: tf.Scalar, y: tf.Tensor) => tf.Tensor;

/** Checks y0's kind: a float32 tensor, not disposed, not empty ({@link checkInitialValues} reads its values). */
export function checkInitialState(fn: string, y0: unknown): asserts y0 is tf.Tensor {
  if (!(y0 instanceof tf.Tensor)) throw new InputError(fn, 'y0', `must be a tf.Tensor, but got ${describe(y0)}`);
  if (y0.isDisposed) throw new InputError(fn, 'y0', 'has been disposed');
  if (y0.dtype !== 'float32') throw new InputError(fn, 'y0', `must have dtype float32, but has ${y0.dtype}`);
  if (y0.size === 0) throw new InputError(fn, 'y0', `must not be empty, but has shape [${y0.shape}]`);
}

/** Checks that every element of y0 is finite (one host read). */
export function* checkInitialValues(fn: string, y0: tf.Tensor): Reads<void> {
  const ok = (yield* readNumber(tf.tidy(() => tf.all(tf.isFinite(y0))))) === 1;
  if (!ok) throw new InputError(fn, 'y0', 'must be finite, but contains NaN or Inf');
}

/**
 * Reads the output times to the host and checks them: at least one, finite, strictly increasing or
 * strictly decreasing.
 */
export function* outputTimes(fn: string, ts: unknown): Reads<number[]> {
  let times: number[];
  if (ts instanceof tf.Tensor) {
    if (ts.isDisposed) throw new InputError(fn, 'ts', 'has been disposed');
    if (ts.rank !== 1) throw new InputError(fn, 'ts', `must be a 1-D tensor, but has shape [${ts.shape}]`);
    times = Array.from(yield* read(ts.clone()));
  } else if (Array.isArray(ts) || ArrayBuffer.isView(ts)) {
    times = Array.from(ts as ArrayLike<number>);
    const bad = times.findIndex((v) => typeof v !== 'number');
    if (bad >= 0) throw new InputError(fn, 'ts', `must hold numbers, but ts[${bad}] is ${describe(times[bad])}`);
  } else {
    throw new InputError(fn, 'ts', `must be a number[] or a tf.Tensor1D, but got ${describe(ts)}`);
  }
  if (times.length === 0) throw new InputError(fn, 'ts', 'must hold at least one time, but is empty');
  const nonFinite = times.findIndex((v) => !Number.isFinite(v));
  if (nonFinite >= 0) throw new InputError(fn, 'ts', `must be finite, but ts[${nonFinite}]=${times[nonFinite]}`);
  if (times.length > 1) {
    const direction = Math.sign(times[1] - times[0]);
    for (let i = 1; i < times.length; i++) {
      if (Math.sign(times[i] - times[i - 1]) !== direction || direction === 0) {
        throw new InputError(
          fn,
          'ts',
          `must be strictly increasing or strictly decreasing, but ts[${i}]=${times[i]} follows ts[${i - 1}]=${times[i - 1]}`,
        );
      }
    }
  }
  return times;
}

/**
 * Adapts user dynamics to the solvers' state form: t becomes a scalar tensor, the output is checked
 * (a float32 tensor of y's shape) and every evaluation is counted in `stats.nfe`.
 */
export function stateDynamics(fn: string, f: unknown, shape: readonly number[], stats: OdeStats): StateDynamics {
  if (typeof f !== 'function') throw new InputError(fn, 'f', `must be a function (t, y) => dy/dt, but got ${describe(f)}`);
  const dynamics = f as Dynamics;
  return (t, [y]) => {
    stats.nfe++;
    const out = tf.tidy(() => {
      const time = tf.scalar(t);
      const value = dynamics(time, y);
      return value instanceof tf.Tensor ? ownedResult(value, time) : value;
    });
    if (!(out instanceof tf.Tensor)) {
      throw new InputError(fn, 'f', `must return a tf.Tensor, but returned ${describe(out)} at t=${t}`);
    }
    if (out.dtype !== 'float32' || !sameShape(out.shape, shape)) {
      out.dispose();
      throw new InputError(fn, 'f', `must return a float32 tensor of y0's shape [${shape}], but returned ${out.dtype} [${out.shape}] at t=${t}`);
    }
    return [out];
  };
}

/**
 * Throws a NonFiniteError naming the first output time whose state holds NaN or Inf
 * (one host read for the whole result).
 */
export function* checkFiniteOutputs(result: tf.Tensor, ts: readonly number[]): Reads<void> {
  const flags = yield* read(tf.tidy(() => tf.all(tf.isFinite(result.reshape([ts.length, -1])), 1)));
  const first = flags.findIndex((v) => v !== 1);
  if (first >= 0) {
    result.dispose();
    throw new NonFiniteError(
      ts[first],
      `the solution became NaN/Inf between t=${ts[first - 1]} and t=${ts[first]}; ` +
        'use a smaller stepSize, an adaptive method, or an implicit one if the problem is stiff',
    );
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof tf.Tensor) return `a tensor of shape [${value.shape}]`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}
