/**
 * The check every entry point that takes a batch of points (the flow's methods, training) makes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from './errors.js';
import { read, readNumber, runSync, type Reads } from './ode/host_reads.js';

/** Throws an InputError unless `x` is a finite float32 [B, dim] tensor with B ≥ 1 (one host read). */
export function checkPoints(fn: string, name: string, x: unknown, dim: number): asserts x is tf.Tensor2D {
  checkPointsShape(fn, name, x, dim);
  runSync(fn, checkPointValues(fn, name, x));
}

/** The read part of {@link checkPoints} (after {@link checkPointsShape}): every value finite. */
export function* checkPointValues(fn: string, name: string, x: tf.Tensor2D): Reads<void> {
  const ok = (yield* readNumber(tf.tidy(() => tf.all(tf.isFinite(x))))) === 1;
  if (!ok) throw new InputError(fn, name, NOT_FINITE);
}

/**
 * A copy of the values of `x` on the host, checked as {@link checkPoints} does (for host-side code);
 * the read yielded. A copy: on the cpu backend a read returns the tensor's own array, which the
 * caller may change (the flow-matching step standardises its data in place).
 */
export function* hostPoints(fn: string, name: string, x: unknown, dim: number): Reads<Float32Array> {
  checkPointsShape(fn, name, x, dim);
  const values = ((yield* read(x.clone())) as Float32Array).slice();
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) throw new InputError(fn, name, NOT_FINITE);
  return values;
}

const NOT_FINITE = 'must be finite, but contains NaN or Inf';

/** The shape and dtype part of {@link checkPoints}. */
export function checkPointsShape(fn: string, name: string, x: unknown, dim: number): asserts x is tf.Tensor2D {
  if (!(x instanceof tf.Tensor) || x.rank !== 2 || x.shape[1] !== dim) {
    const got = x instanceof tf.Tensor ? `shape [${x.shape}]` : typeof x;
    throw new InputError(fn, name, `must be a tf.Tensor2D of shape [B, ${dim}], but got ${got}`);
  }
  if (x.isDisposed) throw new InputError(fn, name, 'has been disposed');
  if (x.dtype !== 'float32') throw new InputError(fn, name, `must have dtype float32, but has ${x.dtype}`);
  if (x.shape[0] === 0) throw new InputError(fn, name, 'must hold at least one point');
}
