/**
 * tfjs's wasm Conv2DBackpropInput (the gradient of tf.conv2d w.r.t. its input) runs about six times
 * slower than the forward convolution; conv nets spend most of a training step in it. This replaces
 * it on wasm by a forward convolution, which XNNPACK runs fast: dx is dy, dilated by the stride
 * (zeros between its entries), convolved with the filter rotated by 180° and its channels swapped,
 * padded so that dx has the input's extent. Cases outside that (NCHW, padding wider than the
 * filter) keep tfjs's kernel. At batch 32, 7×7, 64 → 65 channels, 3×3: ~5 ms against ~27 ms.
 */
import * as tf from '@tensorflow/tfjs-core';
import { kernelFromOps } from './kernel_from_ops.js';

const KERNEL = 'Conv2DBackpropInput';

/** Conv2DBackpropInput's attributes. */
interface InputAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** How many input gradients each form computed (for tests that check which one ran). */
export const inputGradientRuns = { convolution: 0, tfjs: 0 };

/** Replaces `backend`'s kernel with the convolution form, keeping the old one for the cases it leaves. */
export function registerConv2DBackpropInput(backend = 'wasm'): void {
  const original = tf.getKernel(KERNEL, backend);
  if (!original || (original.kernelFunc as { cnfkit?: boolean }).cnfkit) return;
  const viaConv = kernelFromOps<InputAttrs>(({ dy, filter }, attrs) => inputGradient(dy as tf.Tensor4D, filter as tf.Tensor4D, attrs));
  const kernelFunc = ((args: { inputs: { dy: tf.TensorInfo; filter: tf.TensorInfo }; attrs: InputAttrs }) => {
    const applies = paddingsFor(args.inputs.filter.shape as number[], args.inputs.dy.shape as number[], args.attrs) !== undefined;
    inputGradientRuns[applies ? 'convolution' : 'tfjs']++;
    return applies ? viaConv(args as never) : original.kernelFunc(args as never);
  }) as unknown as tf.KernelFunc;
  Object.assign(kernelFunc, { cnfkit: true });
  tf.unregisterKernel(KERNEL, backend);
  tf.registerKernel({ ...original, kernelFunc });
}

/** The stride and the paddings of the rotated convolution, or undefined where this form does not apply. */
function paddingsFor(filterShape: number[], dyShape: number[], attrs: InputAttrs): { sh: number; sw: number; rows: [number, number]; cols: [number, number] } | undefined {
  if (attrs.dataFormat === 'NCHW') return undefined;
  const [kh, kw] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filterShape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const [, oh, ow] = dyShape;
  const [, height, width] = attrs.inputShape;
  // dx[h] = Σ_i dyDilated[h + top − i] W[i]: a correlation with W flipped, kh − 1 − top zeros before.
  const before = [kh - 1 - info.padInfo.top, kw - 1 - info.padInfo.left];
  const after = [height - ((oh - 1) * sh + 1) - before[0] + kh - 1, width - ((ow - 1) * sw + 1) - before[1] + kw - 1];
  if ([...before, ...after].some((p) => p < 0)) return undefined;
  return { sh, sw, rows: [before[0], after[0]], cols: [before[1], after[1]] };
}

function inputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: InputAttrs): tf.Tensor4D {
  const { sh, sw, rows, cols } = paddingsFor(filter.shape, dy.shape, attrs)!;
  const [b, oh, ow, cout] = dy.shape;
  let dilated = dy;
  if (sh > 1 || sw > 1) {
    const spread = tf.pad(dy.reshape([b, oh, 1, ow, 1, cout]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
    dilated = tf.slice(spread.reshape([b, oh * sh, ow * sw, cout]), [0, 0, 0, 0], [b, (oh - 1) * sh + 1, (ow - 1) * sw + 1, cout]) as tf.Tensor4D;
  }
  const rotated = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  return tf.conv2d(dilated, rotated, 1, [[0, 0], rows, cols, [0, 0]]) as tf.Tensor4D;
}
