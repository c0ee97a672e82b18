/**
 * The base distribution of a flow: a standard normal in `dim` dimensions.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random.js';

/** log N(z; 0, I) per row of z [B, d]. */
export function standardNormalLogProb(z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const d = z.shape[1];
    return tf.sub(tf.mul(-0.5, tf.sum(tf.square(z), 1)), 0.5 * d * Math.log(2 * Math.PI)) as tf.Tensor1D;
  });
}

/** n draws from N(0, I) in d dimensions. */
export function standardNormalSample(n: number, d: number, rng: Rng): tf.Tensor2D {
  return tf.tensor2d(rng.normals(n * d), [n, d]);
}
