// The seeds' MNIST experiment at a small width (examples/mnist): every model takes training steps on
// wasm (conv filter gradients included), the adjoint's gradients of the ODE-Net converge to backprop's
// through the same rk4 steps of the RK-Net as the steps shrink, and the memory of a
// training step grows with the solver steps for RK-Net and stays flat for ODE-Net (issue 16).
import { describe, expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { mnistSplit } from '../examples/mnist/data.js';
import { buildClassifier, parameterCount, type ModelKind } from '../examples/mnist/models.js';

const { train } = mnistSplit(0, 200);
const batch = (n: number) => ({ x: tf.tensor4d(train.images.subarray(0, n * 784), [n, 28, 28, 1]), y: tf.tensor1d(train.labels.subarray(0, n), 'int32') });
const loss = (model: ReturnType<typeof buildClassifier>, x: tf.Tensor4D, y: tf.Tensor1D) => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), model.logits(x)) as tf.Scalar;

describe('the ODE-Net experiment on MNIST digits', () => {
  it('at full width the models have the paper\'s sizes: ResNet 0.58 M parameters, RK-Net and ODE-Net 0.21 M, the MLP 0.24 M', () => {
    const sizes = (['resnet', 'odenet', 'mlp'] as ModelKind[]).map((kind) => {
      const model = buildClassifier(kind);
      const n = parameterCount(model);
      model.dispose();
      return n;
    });
    expect(sizes.map((n) => Math.round(n / 1e4) / 100)).toEqual([0.58, 0.21, 0.24]);
  });

  it.each(['mlp', 'resnet', 'rknet', 'odenet'] as ModelKind[])('%s trains on wasm: the loss falls over a few Adam steps, no tensor left', (kind) => {
    const model = buildClassifier(kind, { channels: 8, blocks: 2, steps: 2 });
    const { x, y } = batch(32);
    const before = tf.memory().numTensors;
    const optimizer = tf.train.adam(3e-3);
    const first = tf.tidy(() => loss(model, x, y).dataSync()[0]);
    for (let i = 0; i < 8; i++) tf.dispose(optimizer.minimize(() => loss(model, x, y), true, model.variables) ?? []);
    const last = tf.tidy(() => loss(model, x, y).dataSync()[0]);
    expect(last).toBeLessThan(first);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('the ODE-Net\'s adjoint gradients converge to the RK-Net\'s backprop through the same rk4 steps as the steps shrink', () => {
    const { x, y } = batch(16);
    /** ‖g_adjoint − g_backprop‖ / ‖g_backprop‖ over every variable, for the same weights. */
    const difference = (steps: number) => {
      const rk = buildClassifier('rknet', { channels: 8, steps, seed: 3 });
      const adjoint = buildClassifier('odenet', { channels: 8, steps, seed: 3 });
      adjoint.variables.forEach((v, i) => v.assign(rk.variables[i]));
      const a = tf.variableGrads(() => loss(rk, x, y), rk.variables);
      const b = tf.variableGrads(() => loss(adjoint, x, y), adjoint.variables);
      expect(b.value.dataSync()[0]).toBeCloseTo(a.value.dataSync()[0], 5); // the same forward solve
      let num = 0;
      let den = 0;
      rk.variables.forEach((v, i) => {
        const g = a.grads[v.name].dataSync();
        const h = b.grads[adjoint.variables[i].name].dataSync();
        g.forEach((value, k) => ((num += (h[k] - value) ** 2), (den += value ** 2)));
      });
      tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
      rk.dispose();
      adjoint.dispose();
      return Math.sqrt(num / den);
    };
    // Measured: 8.6e-2 at 4 steps, 6.3e-3 at 16 (the adjoint solves the continuous gradient's ODE;
    // backprop differentiates the discrete steps; both meet as h → 0).
    const [coarse, fine] = [difference(4), difference(16)];
    expect(fine).toBeLessThan(coarse / 4);
    expect(fine).toBeLessThan(1e-2);
    tf.dispose([x, y]);
  });

  it('memory of a training step: RK-Net grows with the solver steps, ODE-Net does not', async () => {
    const { x, y } = batch(8);
    const peak = async (kind: ModelKind, steps: number) => {
      const model = buildClassifier(kind, { channels: 8, steps });
      const profile = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => loss(model, x, y), model.variables);
        tf.dispose([value, ...Object.values(grads)]);
      });
      model.dispose();
      return profile.peakBytes;
    };
    const [rk2, rk16, ode2, ode16] = [await peak('rknet', 2), await peak('rknet', 16), await peak('odenet', 2), await peak('odenet', 16)];
    expect(rk16 / rk2).toBeGreaterThan(4);
    expect(ode16 / ode2).toBeLessThan(1.2);
    tf.dispose([x, y]);
  });
});
