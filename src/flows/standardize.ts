/**
 * A flow on standardised data: the network sees u = (x − mean)/std, so one set of training settings
 * suits data of any scale, and densities are reported for x: log p(x) = log p_u(u) − Σ log std
 * (the change of variables of the affine map). Stored with the flow's options, so a saved model
 * keeps it. Points given as tensors are float32 before they are standardised: a column whose offset
 * is large against its spread (Unix times: float32 steps of 128 s at 1.7e9) has lost its resolution
 * by then. Host code holding float64 points standardises them itself (`toFlowSpaceHost`), as the
 * command line does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors.js';

/** Per-dimension location and scale of the data. */
export interface Standardization {
  /** The mean (or any centre) of each dimension. */
  mean: number[];
  /** The scale of each dimension (positive). */
  std: number[];
}

/** Checks `s` for a flow of `dim` dimensions. */
export function checkStandardization(fn: string, s: unknown, dim: number): void {
  const ok = (v: unknown, positive: boolean) => Array.isArray(v) && v.length === dim && v.every((e) => typeof e === 'number' && Number.isFinite(e) && (!positive || e > 0));
  const given = s as Partial<Standardization> | null;
  if (given === null || typeof given !== 'object' || !ok(given.mean, false) || !ok(given.std, true)) {
    throw new InputError(fn, 'options.standardize', `must be { mean, std }, each an array of ${dim} finite numbers, std positive`);
  }
}

/** u = (x − mean)/std (x itself without a standardisation). */
export function toFlowSpace(x: tf.Tensor2D, s: Standardization | undefined): tf.Tensor2D {
  return s ? (tf.tidy(() => tf.div(tf.sub(x, tf.tensor1d(s.mean)), tf.tensor1d(s.std))) as tf.Tensor2D) : x;
}

/** x = u·std + mean; takes ownership of `u` (returns it without a standardisation). */
export function toDataSpace(u: tf.Tensor2D, s: Standardization | undefined): tf.Tensor2D {
  if (!s) return u;
  const x = tf.tidy(() => tf.add(tf.mul(u, tf.tensor1d(s.std)), tf.tensor1d(s.mean))) as tf.Tensor2D;
  u.dispose();
  return x;
}

/** Σ log std: what log p loses from u to x. */
export function logScale(s: Standardization | undefined): number {
  return s ? s.std.reduce((sum, v) => sum + Math.log(v), 0) : 0;
}

/** Float64 host points x (row-major) as float32 u, each rounded once. */
export function toFlowSpaceHost(values: ArrayLike<number>, s: Standardization | undefined): Float32Array {
  if (!s) return Float32Array.from(values);
  const dim = s.mean.length;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] - s.mean[i % dim]) / s.std[i % dim];
  return out;
}

/** Host points u (row-major) as float64 x = u·std + mean. */
export function toDataSpaceHost(u: ArrayLike<number>, s: Standardization | undefined): Float64Array {
  if (!s) return Float64Array.from(u);
  const dim = s.mean.length;
  const out = new Float64Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = u[i] * s.std[i % dim] + s.mean[i % dim];
  return out;
}

/** Host values of x mapped to u in place (the flow-matching step's data). */
export function toFlowSpaceInPlace(values: Float32Array, s: Standardization | undefined): Float32Array {
  if (!s) return values;
  const dim = s.mean.length;
  for (let i = 0; i < values.length; i++) values[i] = (values[i] - s.mean[i % dim]) / s.std[i % dim];
  return values;
}
