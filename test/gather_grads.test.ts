// tfjs's wasm backend has no UnsortedSegmentSum kernel, which is gather's gradient; cnfkit registers
// one (src/nn/unsorted_segment_sum.ts), so dynamics that pick components with gather can be
// differentiated on the default backend: implicit methods (Newton's Jacobian by VJPs) and
// odeintAdjoint failed with tfjs's "Kernel 'UnsortedSegmentSum' not registered".
import { describe, expect, it } from 'vitest';
import { odeint, odeintAdjoint, ready, tf } from '../src/index.js';

/** Gradients of a few gathers (scalar and list indices, axes 0 and 1, repeats) on `backend`. */
async function gatherGrads(backend: 'wasm' | 'cpu'): Promise<number[][]> {
  await ready({ backend, verbose: false });
  const before = tf.memory().numTensors;
  const y = tf.tensor1d([1, 2, 3]);
  const m = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
  const grads = [
    tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.stack([v.gather(1), tf.neg(v.gather(0))]), tf.tensor1d([5, 7]))))(y),
    tf.grad((v: tf.Tensor) => tf.sum(tf.mul(v.gather([2, 0, 2]), tf.tensor1d([1, 10, 100]))))(y),
    tf.grad((v: tf.Tensor) => tf.sum(tf.mul(v.gather([1, 1], 1), m)))(m),
  ];
  const values = grads.map((g) => Array.from(g.dataSync()));
  tf.dispose([y, m, ...grads]);
  expect(tf.memory().numTensors).toBe(before);
  return values;
}

describe("gather's gradient on wasm", () => {
  it("equals the cpu backend's: scalar and list indices, repeated indices summed, axis 1", async () => {
    const wasm = await gatherGrads('wasm');
    expect(wasm).toEqual(await gatherGrads('cpu'));
    expect(wasm[1]).toEqual([10, 0, 101]);
    await ready({ backend: 'wasm', verbose: false });
  });

  it('lets implicit methods and odeintAdjoint run dynamics written with gather (the oscillator y″ = −y)', async () => {
    await ready({ backend: 'wasm', verbose: false });
    const f = (_t: tf.Scalar, y: tf.Tensor) => tf.stack([y.gather(1), tf.neg(y.gather(0))]);
    const y0 = tf.tensor1d([1, 0]);
    const before = tf.memory().numTensors;
    const trapezoid = odeint(f, y0, [0, 1], { method: 'trapezoid', stepSize: 0.01 });
    const end = tf.tidy(() => trapezoid.slice([1, 0], [1, 2]).dataSync());
    expect(end[0]).toBeCloseTo(Math.cos(1), 4);
    expect(end[1]).toBeCloseTo(-Math.sin(1), 4);
    // d/dy0 of Σ y(0) + Σ y(1), with y(1) = R(1) y0: 1 + cos 1 − sin 1 and 1 + sin 1 + cos 1.
    const g = tf.grad((y: tf.Tensor) => tf.sum(odeintAdjoint(f, y, [0, 1], { params: [], rtol: 1e-6, atol: 1e-6 })))(y0);
    const [g0, g1] = g.dataSync();
    expect(g0).toBeCloseTo(1 + Math.cos(1) - Math.sin(1), 4);
    expect(g1).toBeCloseTo(1 + Math.sin(1) + Math.cos(1), 4);
    tf.dispose([trapezoid, g]);
    expect(tf.memory().numTensors).toBe(before);
    y0.dispose();
  });
});
