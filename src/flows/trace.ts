/**
 * Trace estimators for d log p/dt = −tr(∂F/∂x). Both push tangents V through the network and take
 * Σ_k v_kᵀ (J v_k): with the d basis vectors that is tr J exactly; with one noise vector ε of zero
 * mean and identity covariance it is Hutchinson's unbiased estimate εᵀJε.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random.js';

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

/**
 * The tangents of every block of a flow for one batch, chunk by chunk: a batch solved in chunks (a
 * memory limit) gets the noise one solve would, row for row, whatever the chunks. Block 0 draws from
 * `rng` itself, each later block from its own stream seeded by `rng`'s state at the start (drawing
 * block after block from one stream per chunk interleaved the blocks' noise), and a Gaussian stream
 * keeps the second normal of a pair for the next chunk (an odd chunk split the pairs: estimates
 * changed with memoryLimit by up to 17 nats a point).
 * @returns the tangents of `rows` more rows for block `block` (the caller disposes them)
 */
export function batchTangents(mode: TraceMode, noise: NoiseKind, dim: number, blocks: number, rng: Rng): BatchTangents {
  if (mode === 'exact') return (_block, rows) => traceTangents('exact', noise, rows, dim, rng);
  const seed = JSON.stringify(rng.state());
  const streams = Array.from({ length: blocks }, (_, b) => noiseStream(noise, b === 0 ? rng : new Rng(`${seed}/block ${b}`)));
  return (block, rows) => tf.tensor3d(streams[block](rows * dim), [1, rows, dim]);
}

/** Block `block`'s tangents for the batch's next `rows` rows. */
export type BatchTangents = (block: number, rows: number) => tf.Tensor3D;

/** n values at a time of one stream of noise: n + m values equal one draw of n + m. */
function noiseStream(noise: NoiseKind, rng: Rng): (n: number) => Float32Array {
  if (noise === 'rademacher') return (n) => rng.rademachers(n);
  let spare: number | undefined;
  return (n) => {
    const out = new Float32Array(n);
    const first = spare !== undefined && n > 0 ? 1 : 0;
    if (first) out[0] = spare!;
    spare = undefined;
    const drawn = rng.normals(n - first + ((n - first) % 2));
    out.set(drawn.subarray(0, n - first), first);
    if (drawn.length > n - first) spare = drawn[n - first];
    return out;
  };
}

/** Σ_k v_k ⊙ (J v_k), summed over dimensions: one trace (estimate) per row, [rows]. */
export function traceFromTangents(v: tf.Tensor3D, jv: tf.Tensor3D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(v, jv), [0, 2]) as tf.Tensor1D);
}
