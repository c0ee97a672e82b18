// tfjs's wasm backend has no Conv2DBackpropFilter kernel; cnfkit registers one (src/nn/
// conv2d_backprop_filter.ts) so conv nets train on the default backend, and replaces its slow
// Conv2DBackpropInput by a convolution (src/nn/conv2d_backprop_input.ts). Its gradients must be the cpu
// backend's for every padding and stride, and it must leave no tensor behind. (NCHW is handled by a
// transpose, but wasm's own Conv2D refuses NCHW, so there is no wasm net to test it in.)
import { describe, expect, it } from 'vitest';
import { ready, tf } from '../src/index.js';
import { Rng } from '../src/random.js';
import { inputGradientRuns } from '../src/nn/conv2d_backprop_input.js';

const CASES: [string, { x: number[]; filter: number[]; strides: number | [number, number]; pad: 'same' | 'valid' | number; dataFormat?: 'NHWC' | 'NCHW'; inputPath?: 'tfjs' }][] = [
  ['3x3 same, stride 1', { x: [2, 7, 6, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' }],
  ['3x3 valid, stride 2', { x: [2, 9, 8, 2], filter: [3, 3, 2, 5], strides: 2, pad: 'valid' }],
  ['4x4 same, stride 2 (uneven padding)', { x: [1, 10, 11, 3], filter: [4, 4, 3, 2], strides: 2, pad: 'same' }],
  // tfjs sizes a numeric padding's output width with the height's filter and stride (7 columns here,
  // not 4), windows past the input that the convolution form does not cover: tfjs's kernel takes it.
  ['3x2 explicit padding 1, strides [1, 2]', { x: [3, 6, 7, 2], filter: [3, 2, 2, 3], strides: [1, 2], pad: 1, inputPath: 'tfjs' }],
  ['3x3 explicit padding 1, stride 2', { x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: 2, pad: 1 }],
  ['1x1, stride 1', { x: [2, 5, 5, 4], filter: [1, 1, 4, 6], strides: 1, pad: 'valid' }],
];

/** The gradients of Σ r ⊙ conv2d(x, W) w.r.t. x and W on `backend`, as plain arrays. */
async function grads(backend: 'wasm' | 'cpu', c: (typeof CASES)[number][1]): Promise<{ dx: number[]; dw: number[] }> {
  await ready({ backend, verbose: false });
  const rng = new Rng('conv');
  const random = (shape: number[]) => tf.tensor(rng.uniforms(shape.reduce((a, b) => a * b, 1), -1, 1), shape);
  const x = random(c.x) as tf.Tensor4D;
  const w = random(c.filter) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const out = tf.conv2d(x, w, c.strides, c.pad, c.dataFormat ?? 'NHWC');
  const r = random(out.shape);
  const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(r, tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad, c.dataFormat ?? 'NHWC'))))([x, w]);
  const result = { dx: Array.from(dx.dataSync()), dw: Array.from(dw.dataSync()) };
  tf.dispose([out, r, dx, dw]);
  expect(tf.memory().numTensors, `${backend} left tensors`).toBe(before);
  tf.dispose([x, w]);
  return result;
}

describe('conv2d filter and input gradients on wasm', () => {
  it.each(CASES)('%s: the cpu backend\'s gradient, to float32 rounding', async (_name, c) => {
    const cpu = await grads('cpu', c);
    const path = c.inputPath ?? 'convolution';
    const before = inputGradientRuns[path];
    const wasm = await grads('wasm', c);
    expect(inputGradientRuns[path], `the input gradient ran by ${path}`).toBe(before + 1);
    const scale = Math.max(...cpu.dw.map(Math.abs));
    cpu.dw.forEach((v, i) => expect(Math.abs(wasm.dw[i] - v), `dW[${i}]`).toBeLessThan(1e-5 * scale));
    cpu.dx.forEach((v, i) => expect(Math.abs(wasm.dx[i] - v)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));
  });

  it('a small conv net trains on wasm: the loss falls', async () => {
    await ready({ backend: 'wasm', verbose: false });
    const rng = new Rng('net');
    const w = tf.variable(tf.tensor(rng.uniforms(3 * 3 * 1 * 4, -0.5, 0.5), [3, 3, 1, 4]));
    const x = tf.tensor(rng.uniforms(8 * 8 * 8, -1, 1), [8, 8, 8, 1]) as tf.Tensor4D;
    const target = tf.tidy(() => tf.conv2d(x, tf.ones([3, 3, 1, 4]).mul(0.1) as tf.Tensor4D, 1, 'same'));
    const optimizer = tf.train.adam(0.05);
    const loss = () => tf.mean(tf.square(tf.sub(tf.conv2d(x, w as unknown as tf.Tensor4D, 1, 'same'), target))) as tf.Scalar;
    const first = tf.tidy(() => loss().dataSync()[0]);
    for (let i = 0; i < 30; i++) tf.dispose(optimizer.minimize(loss, true) ?? []);
    const last = tf.tidy(() => loss().dataSync()[0]);
    expect(last).toBeLessThan(first / 10);
    tf.dispose([w, x, target]);
    optimizer.dispose();
  });
});
