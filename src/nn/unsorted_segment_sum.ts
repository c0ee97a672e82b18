/**
 * tfjs's wasm backend registers no UnsortedSegmentSum kernel, and tf.gather's gradient is one: any
 * dynamics that pick components with `gather` (`tf.stack([y.gather(1), tf.neg(y.gather(0))])`)
 * could be solved by explicit methods but not differentiated, so implicit methods (Newton's Jacobian
 * by VJPs) and every odeintAdjoint gradient failed on cnfkit's default backend. This registers one for
 * wasm (when tfjs has none) as a product with the one-hot matrix of the segment ids:
 * out[s] = Σ_{i: ids[i] = s} x[i] = (onehot(ids)ᵀ x)[s]; ids outside [0, numSegments) add nothing, as
 * in tfjs's own kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { kernelFromOps } from './kernel_from_ops.js';

const KERNEL = 'UnsortedSegmentSum';

/** Registers the kernel for `backend` unless tfjs has one (a later tfjs may). */
export function registerUnsortedSegmentSum(backend = 'wasm'): void {
  if (tf.getKernel(KERNEL, backend)) return;
  tf.registerKernel({ kernelName: KERNEL, backendName: backend, kernelFunc: kernelFromOps<{ numSegments: number }>(({ x, segmentIds }, { numSegments }) => segmentSum(x, segmentIds, numSegments)) });
}

/** Σ of the rows of `x` (along its first axis) by segment id. */
export function segmentSum(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  const rows = x.shape[0] ?? 1;
  // An int32 one-hot, then cast: wasm's OneHot ignores a float32 dtype and labels int32 bits float32.
  const selector = tf.cast(tf.oneHot(tf.cast(segmentIds.reshape([-1]), 'int32'), numSegments), 'float32');
  const summed = tf.matMul(selector, tf.cast(x, 'float32').reshape([rows, -1]), true, false);
  return tf.cast(summed, x.dtype).reshape([numSegments, ...x.shape.slice(1)]);
}
