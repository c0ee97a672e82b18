import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { CNF, createStats, odeint, odeintAdjoint, odeintAdjointGrads, tf, type Dynamics } from '../src/index.js';

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** dy/dt = net(y): a tfjs-layers MLP 3-16-3 (tanh), as a user would write it. */
function mlp(seed: number): tfl.Sequential {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [3], units: 16, activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed }) }),
      tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
  return model;
}

describe('params may be a tfjs-layers model, its trainable weights, or a mix with variables', () => {
  const ts = [0, 0.4, 1];
  const loss = (ys: tf.Tensor) => tf.sum(tf.mul(tf.square(ys), tf.tensor1d([0.3, -1, 2]).reshape([3, 1, 1])));

  it('gradients through a model equal backprop through odeint, whichever way params names it', () => {
    const model = mlp(1);
    const f: Dynamics = (_t, y) => model.apply(y) as tf.Tensor;
    const y0 = tf.tensor2d([[0.5, -1, 0.2], [1, 0.3, -0.4]]);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const backprop = tf.variableGrads(() => loss(odeint(f, y0, ts, { rtol: 1e-7, atol: 1e-7 })) as tf.Scalar, variables);
    for (const params of [model, model.trainableWeights, variables, [model.layers[0], model.layers[1].trainableWeights[0], variables[3]]]) {
      const adjoint = tf.variableGrads(() => loss(odeintAdjoint(f, y0, ts, { params, rtol: 1e-7, atol: 1e-7 })) as tf.Scalar, variables);
      expect(adjoint.value.dataSync()[0]).toBeCloseTo(backprop.value.dataSync()[0], 5);
      // float32 solves of two different ODEs (forward, augmented backward) at rtol 1e-7.
      for (const v of variables) expect(maxDiff(adjoint.grads[v.name], backprop.grads[v.name])).toBeLessThan(2e-5);
      tf.dispose([adjoint.value, ...Object.values(adjoint.grads)]);
    }
    tf.dispose([backprop.value, ...Object.values(backprop.grads), y0]);
    model.dispose();
  });

  it('odeintAdjointGrads returns one gradient per distinct variable, in the model order', async () => {
    const model = mlp(3);
    const f: Dynamics = (_t, y) => model.apply(y) as tf.Tensor;
    const y0 = tf.tensor2d([[0.1, 0.2, 0.3]]);
    const dLdy = tf.ones([2, 1, 3]);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    // The model listed twice and one of its variables again: each variable counts once.
    const grads = await odeintAdjointGrads(f, y0, [0, 1], dLdy, { params: [model, model, variables[2]] });
    expect(grads.params.map((g) => g.shape)).toEqual(variables.map((v) => v.shape));
    const { grads: tape } = tf.variableGrads(() => tf.sum(odeint(f, y0, [0, 1]).slice([1], [1])) as tf.Scalar, variables);
    variables.forEach((v, i) => expect(maxDiff(grads.params[i], tape[v.name])).toBeLessThan(1e-4));
    tf.dispose([grads.value, grads.y0, ...grads.params, ...Object.values(tape), y0, dLdy]);
    model.dispose();
  });

  it('a frozen layer contributes no params, and the coverage check then names its variables', () => {
    const model = mlp(5);
    model.layers[0].trainable = false;
    const f: Dynamics = (_t, y) => model.apply(y) as tf.Tensor;
    const y0 = tf.tensor2d([[0.1, 0.2, 0.3]]);
    const frozen = model.layers[0].weights.map((w) => w.read() as tf.Variable);
    expect(frozen.every((v) => !v.trainable)).toBe(true);
    const { grads } = tf.variableGrads(() => tf.sum(odeintAdjoint(f, y0, [0, 1], { params: model })) as tf.Scalar, model.trainableWeights.map((w) => w.read() as tf.Variable));
    expect(Object.keys(grads)).toHaveLength(2);
    tf.dispose([...Object.values(grads), y0]);
    model.dispose();
  });

  it('bad entries are named; a disposed model is refused clearly', () => {
    const model = mlp(7);
    const f: Dynamics = (_t, y) => model.apply(y) as tf.Tensor;
    const y0 = tf.tensor2d([[0.1, 0.2, 0.3]]);
    expect(() => odeintAdjoint(f, y0, [0, 1], { params: [model, 3 as never] })).toThrow("odeintAdjoint: 'options.params[1]' must be tf.Variables, a tfjs-layers model or layer (its trainable weights), its trainableWeights, or a list of these ([] if none), but it is number");
    expect(() => odeintAdjoint(f, y0, [0, 1], { params: [[model] as never] })).toThrow("'options.params[0]' must be tf.Variables, a tfjs-layers model or layer (its trainable weights), its trainableWeights, or a list of these ([] if none), but it is a nested array");
    // Leaving the model out: the coverage check names its variables.
    expect(() => odeintAdjoint(f, y0, [0, 1], { params: [] })).toThrow("'options.params' must list every variable f uses, but f also uses");
    model.dispose();
    expect(() => odeintAdjoint((_t, y) => y, y0, [0, 1], { params: model })).toThrow("odeintAdjoint: 'options.params.trainableWeights[0]' could not be read");
    y0.dispose();
  });

  it('a CNF takes a layers model as its custom dynamics', () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [2], units: 2, useBias: false, kernelInitializer: 'zeros' })] });
    const kernel = model.trainableWeights[0].read() as tf.Variable;
    // F(x) = A x with A = diag(0.2, −0.5): x(T) = e^{AT} x0, so log p(x) = log N(e^{−AT} x) − tr(A)·T with T = 1.
    kernel.assign(tf.tensor2d([[0.2, 0], [0, -0.5]]));
    const flow = new CNF({ dim: 2, T: 1, dynamics: { f: (_t, x) => model.apply(x) as tf.Tensor2D, params: model } });
    const x = tf.tensor2d([[0.3, -0.7], [1.2, 0.4]]);
    const stats = createStats();
    const logp = flow.logProb(x, { stats }).arraySync();
    const expected = [[0.3, -0.7], [1.2, 0.4]].map(([a, b]) => {
      const [u, v] = [a * Math.exp(0.2), b * Math.exp(-0.5)];
      return -Math.log(2 * Math.PI) - (u * u + v * v) / 2 + (0.2 - 0.5);
    });
    logp.forEach((l, i) => expect(l).toBeCloseTo(expected[i], 4));
    expect(stats.nfe).toBeGreaterThan(0);
    tf.dispose(x);
    flow.dispose();
    model.dispose();
  });

  it('no tensor is left behind', () => {
    const model = mlp(9);
    const f: Dynamics = (_t, y) => model.apply(y) as tf.Tensor;
    const y0 = tf.tensor2d([[0.1, 0.2, 0.3]]);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const once = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(odeintAdjoint(f, y0, [0, 0.5, 1], { params: model })) as tf.Scalar, variables);
      tf.dispose([value, ...Object.values(grads)]);
    };
    once();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) once();
    expect(tf.memory().numTensors).toBe(before);
    y0.dispose();
    model.dispose();
  });
});
