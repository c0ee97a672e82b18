/**
 * Activations with the derivative the tangent pass needs, written from the activation's output
 * where that is cheaper (tanh: 1 − y²).
 */
import * as tf from '@tensorflow/tfjs';

/** An activation σ and its derivative σ'(z), given z and y = σ(z). */
export interface Activation {
  readonly name: ActivationName;
  apply(z: tf.Tensor): tf.Tensor;
  derivative(z: tf.Tensor, y: tf.Tensor): tf.Tensor;
}

/** The activations dynamics networks accept. */
export type ActivationName = 'tanh' | 'softplus' | 'elu' | 'swish';

export const ACTIVATIONS: Readonly<Record<ActivationName, Activation>> = {
  // tanh(z) = 2σ(2z) − 1: tfjs's wasm tanh kernel is ~7x slower than its sigmoid (1156 µs against
  // 156 µs for [1024, 64], four kernels included); the identity costs at most ~1e-7 absolute.
  tanh: { name: 'tanh', apply: (z) => tf.sub(tf.mul(2, tf.sigmoid(tf.mul(2, z))), 1), derivative: (_z, y) => tf.sub(1, tf.square(y)) },
  softplus: { name: 'softplus', apply: (z) => tf.softplus(z), derivative: (z) => tf.sigmoid(z) },
  elu: { name: 'elu', apply: (z) => tf.elu(z), derivative: (z, y) => tf.where(tf.greater(z, 0), tf.onesLike(z), tf.add(y, 1)) },
  swish: {
    name: 'swish',
    apply: (z) => tf.mul(z, tf.sigmoid(z)),
    // σ(z) + z σ(z)(1 − σ(z))
    derivative: (z) => {
      const s = tf.sigmoid(z);
      return tf.add(s, tf.mul(tf.mul(z, s), tf.sub(1, s)));
    },
  },
};
