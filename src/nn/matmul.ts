/**
 * A matMul whose gradient uses explicit transposes. tfjs's own matMul gradient calls the
 * transposeA/transposeB kernels, which are about 10× slower on the wasm backend (DESIGN.md);
 * an explicit tf.transpose followed by a plain matMul is much faster there and no slower elsewhere.
 */
import * as tf from '@tensorflow/tfjs-core';

const matMulWithTransposedGrads = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor2D[];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
});

/**
 * a·b for 2-D tensors, with a backward pass of plain matMuls on explicit transposes. Use it in your
 * own dynamics on the wasm backend.
 * @param a - [m, k]
 * @param b - [k, n]
 * @returns [m, n]
 * @example
 * ```ts
 * const W = tf.variable(tf.randomNormal([2, 16]));
 * const f = (t: tf.Scalar, y: tf.Tensor) => tf.tanh(matMul(y, W));   // y [B, 2] -> [B, 16]
 * const g = tf.variableGrads(() => tf.sum(f(tf.scalar(0), tf.ones([4, 2]))) as tf.Scalar, [W]);
 * ```
 */
export function matMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return matMulWithTransposedGrads(a, b) as tf.Tensor2D;
}
