/**
 * Activations with the derivative the tangent pass needs, written from the activation's output
 * where that is cheaper (tanh: 1 − y²).
 */
import * as tf from '@tensorflow/tfjs-core';

/** An activation σ and its first two derivatives at z, given z and y = σ(z). */
export interface Activation {
  readonly name: ActivationName;
  apply(z: tf.Tensor): tf.Tensor;
  derivative(z: tf.Tensor, y: tf.Tensor): tf.Tensor;
  /** σ''(z), for the hand-derived VJP through the tangents (ḣ = σ'(z) ż). */
  secondDerivative(z: tf.Tensor, y: tf.Tensor): tf.Tensor;
}

/** The activations dynamics networks accept. */
export type ActivationName = 'tanh' | 'softplus' | 'elu' | 'swish';

export const ACTIVATIONS: Readonly<Record<ActivationName, Activation>> = {
  // tanh(z) = 2σ(2z) − 1: tfjs's wasm tanh kernel is ~7x slower than its sigmoid (1156 µs against
  // 156 µs for [1024, 64], four kernels included); the identity costs at most ~1e-7 absolute.
  tanh: {
    name: 'tanh',
    apply: (z) => tf.sub(tf.mul(2, tf.sigmoid(tf.mul(2, z))), 1),
    derivative: (_z, y) => tf.sub(1, tf.square(y)),
    secondDerivative: (_z, y) => tf.mul(tf.mul(-2, y), tf.sub(1, tf.square(y))),
  },
  softplus: {
    name: 'softplus',
    apply: (z) => tf.softplus(z),
    derivative: (z) => tf.sigmoid(z),
    secondDerivative: (z) => {
      const s = tf.sigmoid(z);
      return tf.mul(s, tf.sub(1, s));
    },
  },
  elu: {
    name: 'elu',
    apply: (z) => tf.elu(z),
    // min(y + 1, 1) equals 1 for z > 0 and e^z for z ≤ 0, and unlike tf.where it has a gradient.
    derivative: (_z, y) => tf.minimum(tf.add(y, 1), 1),
    secondDerivative: (z, y) => tf.where(tf.greater(z, 0), tf.zerosLike(z), tf.add(y, 1)),
  },
  swish: {
    name: 'swish',
    apply: (z) => tf.mul(z, tf.sigmoid(z)),
    // σ(z) + z σ(z)(1 − σ(z))
    derivative: (z) => {
      const s = tf.sigmoid(z);
      return tf.add(s, tf.mul(tf.mul(z, s), tf.sub(1, s)));
    },
    // s(1 − s)(2 + z(1 − 2s))
    secondDerivative: (z) => {
      const s = tf.sigmoid(z);
      return tf.mul(tf.mul(s, tf.sub(1, s)), tf.add(2, tf.mul(z, tf.sub(1, tf.mul(2, s)))));
    },
  },
};
