/**
 * tfjs's wasm backend registers no Conv2DBackpropFilter kernel, so the gradient of tf.conv2d w.r.t.
 * its filter, and with it training any conv net, fails on cnfkit's default backend. This registers one
 * for wasm (when tfjs has none), as one forward convolution, which XNNPACK runs fast: with batch and
 * channels swapped, dW[i, j, c, o] = Σ_{b,h,w} x[b, h·s + i, w·s + j, c] dy[b, h, w, o] is the
 * convolution of the input [cin, H, W, batch] with dy [oh, ow, batch, cout] as the filter, dilated by
 * the stride. At batch 32, 7×7, 65 → 64 channels, 3×3: ~7 ms, against ~12 ms for patches and a
 * matrix product and ~10x that for wasm's Conv3DBackpropFilterV2 with depth 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import { kernelFromOps } from './kernel_from_ops.js';

const KERNEL = 'Conv2DBackpropFilter';

/** Registers the kernel for `backend` unless tfjs has one (a later tfjs may). */
export function registerConv2DBackpropFilter(backend = 'wasm'): void {
  if (tf.getKernel(KERNEL, backend)) return;
  tf.registerKernel({ kernelName: KERNEL, backendName: backend, kernelFunc: kernelFromOps<FilterAttrs>(({ x, dy }, attrs) => filterGradient(x as tf.Tensor4D, dy as tf.Tensor4D, attrs)) });
}

/** Conv2DBackpropFilter's attributes. */
export interface FilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** dL/dW for conv2d(x, W) with output gradient dy, by one convolution. */
export function filterGradient(xIn: tf.Tensor4D, dyIn: tf.Tensor4D, attrs: FilterAttrs): tf.Tensor4D {
  const nchw = attrs.dataFormat === 'NCHW';
  const x = nchw ? (tf.transpose(xIn, [0, 2, 3, 1]) as tf.Tensor4D) : xIn;
  const dy = nchw ? (tf.transpose(dyIn, [0, 2, 3, 1]) as tf.Tensor4D) : dyIn;
  const [kh, kw, cin, cout] = attrs.filterShape;
  const info = tf.backend_util.computeConv2DInfo(x.shape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const [, oh, ow] = dy.shape;
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const { top, left } = info.padInfo;
  // Pad after the input so that the last window fits (rounding may have added or dropped rows).
  const bottom = Math.max(0, (oh - 1) * sh + kh - top - x.shape[1]);
  const right = Math.max(0, (ow - 1) * sw + kw - left - x.shape[2]);
  const padded = top || bottom || left || right ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
  const input = tf.transpose(padded, [3, 1, 2, 0]) as tf.Tensor4D; // [cin, H', W', batch]
  const filter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [oh, ow, batch, cout]
  const full = tf.conv2d(input, filter, 1, 'valid', 'NHWC', [sh, sw]); // [cin, ≥ kh, ≥ kw, cout]
  const dw = full.shape[1] === kh && full.shape[2] === kw ? full : tf.slice(full, [0, 0, 0, 0], [cin, kh, kw, cout]);
  return tf.transpose(dw, [1, 2, 0, 3]) as tf.Tensor4D;
}
