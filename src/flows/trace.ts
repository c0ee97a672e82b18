/**
 * Trace estimators for d log p/dt = −tr(∂F/∂x). Both push tangents V through the network and take
 * Σ_k v_kᵀ (J v_k): with the d basis vectors that is tr J exactly; with one noise vector ε of zero
 * mean and identity covariance it is Hutchinson's unbiased estimate εᵀJε.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random.js';

/** How tr(∂F/∂x) is computed. */
export type TraceMode = 'exact' | 'hutchinson';
/** The distribution of Hutchinson's noise. */
export type NoiseKind = 'gaussian' | 'rademacher';

/**
 * The tangents for a batch of `rows` points in `dim` dimensions: [dim, rows, dim] basis vectors for
 * the exact trace, or [1, rows, dim] noise (drawn once per solve) for Hutchinson's.
 */
export function traceTangents(mode: TraceMode, noise: NoiseKind, rows: number, dim: number, rng: Rng): tf.Tensor3D {
  if (mode === 'exact') {
    return tf.tidy(() => tf.tile(tf.eye(dim).reshape([dim, 1, dim]), [1, rows, 1]) as tf.Tensor3D);
  }
  const values = noise === 'gaussian' ? rng.normals(rows * dim) : rng.rademachers(rows * dim);
  return tf.tensor3d(values, [1, rows, dim]);
}

/** Σ_k v_k ⊙ (J v_k), summed over dimensions: one trace (estimate) per row, [rows]. */
export function traceFromTangents(v: tf.Tensor3D, jv: tf.Tensor3D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(v, jv), [0, 2]) as tf.Tensor1D);
}
