import { describe, expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { ACTIVATIONS } from '../src/nn/activations.js';
import { addRow, mulRow } from '../src/nn/broadcast_ops.js';

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('row-vector ops with matMul-reduced gradients', () => {
  it.each([[[5]], [[1, 5]]])('addRow and mulRow match tf.add / tf.mul in value and both gradients (v of shape %j)', (shape) => {
    const x = tf.randomNormal([7, 5], 0, 1, 'float32', 1) as tf.Tensor2D;
    const v = tf.randomNormal(shape as number[], 0, 1, 'float32', 2);
    const dy = tf.randomNormal([7, 5], 0, 1, 'float32', 3);
    for (const [ours, theirs] of [[addRow, tf.add], [mulRow, tf.mul]] as const) {
      expect(maxDiff(ours(x, v), theirs(x, v))).toBeLessThan(1e-6);
      const g1 = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(ours(a as tf.Tensor2D, b), dy)))([x, v]);
      const g2 = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(theirs(a, b), dy)))([x, v]);
      expect(g1[1].shape).toEqual(v.shape);
      for (let i = 0; i < 2; i++) expect(maxDiff(g1[i], g2[i])).toBeLessThan(1e-5);
    }
  });
});

describe('activations', () => {
  it('tanh as 2σ(2z) − 1 is within 2e-7 of tf.tanh, and every derivative matches autodiff', () => {
    const z = tf.linspace(-6, 6, 241);
    expect(maxDiff(ACTIVATIONS.tanh.apply(z), tf.tanh(z))).toBeLessThan(2e-7);
    for (const act of Object.values(ACTIVATIONS)) {
      const auto = tf.grad((u: tf.Tensor) => tf.sum(act.apply(u)))(z);
      expect(maxDiff(act.derivative(z, act.apply(z)), auto), act.name).toBeLessThan(1e-5);
    }
  });
});
