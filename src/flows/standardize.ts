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

/** Checks `s` for a flow of `dim` dimensions, naming the field and the entry at fault. */
export function checkStandardization(fn: string, s: unknown, dim: number): void {
  const fail = (problem: string) => new InputError(fn, 'options.standardize', `must be { mean, std }, each an array of ${dim} finite numbers, std positive; ${problem}`);
  const given = s as Partial<Standardization> | null;
  if (given === null || typeof given !== 'object') throw fail(`got ${given === null ? 'null' : typeof given}`);
  for (const field of ['mean', 'std'] as const) {
    const v = given[field] as unknown;
    if (!Array.isArray(v)) throw fail(`${field} is ${v === undefined ? 'missing' : ArrayBuffer.isView(v) ? 'a typed array (pass Array.from(…))' : typeof v}`);
    if (v.length !== dim) throw fail(`${field} has ${v.length} entries`);
    const bad = v.findIndex((e) => !(typeof e === 'number' && Number.isFinite(e) && (field === 'mean' || e > 0)));
    if (bad >= 0) throw fail(`${field}[${bad}] is ${String(v[bad])}${field === 'std' && v[bad] === 0 ? ' (a constant column has no density: drop it)' : ''}`);
  }
}

/** float32's step at |m|. */
const spacing = (m: number) => (m === 0 ? 0 : 2 ** (Math.floor(Math.log2(Math.abs(m))) - 23));

/** The first dimension whose points float32 holds coarser than a hundredth of its spread, or −1. */
export function coarseDimension(s: Standardization): number {
  return s.mean.findIndex((m, k) => spacing(m) > 0.01 * s.std[k]);
}

/** Standardisations already checked by {@link warnCoarseOffsets} (each warns once). */
const checkedOffsets = new WeakSet<Standardization>();

/**
 * Warns, once per standardisation, where float32 cannot resolve points at its scale: a dimension
 * centred far from 0 against its spread (Unix times), whose points given as tensors are coarse.
 */
function warnCoarseOffsets(s: Standardization): void {
  if (checkedOffsets.has(s)) return;
  checkedOffsets.add(s);
  const coarse = coarseDimension(s);
  if (coarse < 0) return;
  const [m, std] = [s.mean[coarse], s.std[coarse]];
  console.warn(
    `cnfkit: dimension ${coarse} of this flow is centred at ${m} with a spread of ${std}: float32 points there lie ` +
      `${spacing(m)} apart (${(spacing(m) / std).toPrecision(2)} standard deviations), so its log-densities and samples are coarse. ` +
      'Points standardised in float64 before they become tensors keep their resolution (as cnfkit train, eval and sample do with CSV files); subtract an offset in float64 and train on that',
  );
}

/** u = (x − mean)/std (x itself without a standardisation). */
export function toFlowSpace(x: tf.Tensor2D, s: Standardization | undefined): tf.Tensor2D {
  if (s) warnCoarseOffsets(s);
  return s ? (tf.tidy(() => tf.div(tf.sub(x, tf.tensor1d(s.mean)), tf.tensor1d(s.std))) as tf.Tensor2D) : x;
}

/** x = u·std + mean; takes ownership of `u` (returns it without a standardisation). */
export function toDataSpace(u: tf.Tensor2D, s: Standardization | undefined): tf.Tensor2D {
  if (!s) return u;
  warnCoarseOffsets(s);
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
