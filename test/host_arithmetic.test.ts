import { afterEach, describe, expect, it } from 'vitest';
import { createStats, odeint, odeintAdjoint, tf } from '../src/index.js';
import { hostArithmetic, setHostArithmetic } from '../src/ode/host_arithmetic.js';
import { rkStep, disposeRkStep } from '../src/ode/explicit.js';
import { scaledRmsNorm } from '../src/ode/norms.js';
import { combine, weightedSum, type StateDynamics } from '../src/ode/state.js';
import { TABLEAUS } from '../src/ode/tableaus.js';

afterEach(() => setHostArithmetic(true));

/** The kernels tfjs runs for `fn`, by name. */
async function kernelsOf(fn: () => void): Promise<Record<string, number>> {
  const info = await tf.profile(() => {
    fn();
    return [];
  });
  const counts: Record<string, number> = {};
  for (const k of info.kernels) counts[k.name] = (counts[k.name] ?? 0) + 1;
  return counts;
}

describe("the solver's arithmetic on the host", () => {
  it('is what runs on this backend (wasm or cpu): a dopri5 solve runs only the dynamics\' tfjs kernels', async () => {
    expect(hostArithmetic()).toBe(true);
    const y0 = tf.tensor1d([1, 2, 3]);
    const kernels = await kernelsOf(() => tf.tidy(() => void odeint((_t, y) => tf.neg(y), y0, [0, 1], { method: 'dopri5' })));
    // Neg is the dynamics; the stage sums and norms would be Multiply/AddN/Add/Abs/Maximum/Sum…
    for (const name of ['Multiply', 'AddN', 'Add', 'Abs', 'Maximum', 'RealDiv']) expect(kernels[name] ?? 0).toBe(0);
    expect(kernels.Neg).toBeGreaterThan(6);
    setHostArithmetic(false);
    const tfjs = await kernelsOf(() => tf.tidy(() => void odeint((_t, y) => tf.neg(y), y0, [0, 1], { method: 'dopri5' })));
    expect(tfjs.Multiply).toBeGreaterThan(20);
    y0.dispose();
  });

  it('gives tfjs arithmetic\'s stage sums to float32 rounding, and its norm', () => {
    const y0 = [tf.randomNormal([50, 3], 0, 1, 'float32', 1), tf.randomNormal([50], 0, 1, 'float32', 2)];
    const ks = Array.from({ length: 7 }, (_, i) => [tf.randomNormal([50, 3], 0, 1, 'float32', 10 + i), tf.randomNormal([50], 0, 1, 'float32', 20 + i)]);
    const a = TABLEAUS.dopri5.a[6];
    const run = (host: boolean) => {
      setHostArithmetic(host);
      return tf.tidy(() => {
        const sum = combine(y0, 0.3, a, ks);
        const err = weightedSum(0.3, TABLEAUS.dopri5.bErr!, ks);
        const norm = scaledRmsNorm(err, y0, sum, 1e-3, 1e-4).dataSync()[0];
        return { sum: sum.map((c) => Array.from(c.dataSync())), err: err.map((c) => Array.from(c.dataSync())), norm };
      });
    };
    const host = run(true);
    const tfjs = run(false);
    for (const key of ['sum', 'err'] as const) {
      host[key].forEach((c, i) => c.forEach((v, j) => expect(Math.abs(v - tfjs[key][i][j])).toBeLessThanOrEqual(4e-7 * Math.max(1, Math.abs(v)))));
    }
    expect(host.norm).toBeCloseTo(tfjs.norm, 4);
    tf.dispose([...y0, ...ks.flat()]);
  });

  it("sums dopri8's error estimate (weights cancelling to 1e-16) closer to float64 than tfjs's float32 ops", () => {
    const bErr = TABLEAUS.dopri8.bErr!;
    const values = bErr.map((_, i) => 1 + 0.01 * i);
    const ks = values.map((v) => [tf.tensor1d([v])]);
    const exact = bErr.reduce((s, w, i) => s + w * Math.fround(values[i]), 0);
    const errorOf = (host: boolean) => {
      setHostArithmetic(host);
      return tf.tidy(() => Math.abs(weightedSum(1, bErr, ks)[0].dataSync()[0] - exact));
    };
    const host = errorOf(true);
    const tfjs = errorOf(false);
    expect(host).toBeLessThanOrEqual(Math.abs(exact) * 2 ** -24);
    expect(host).toBeLessThan(tfjs);
    tf.dispose(ks.flat());
  });

  it('leaves tfjs ops in place under a recording tape: backprop through odeint is still exact', () => {
    // y' = λ y, L = y(1): dL/dλ = y0 e^{λ}.
    const lambda = tf.variable(tf.scalar(-0.5));
    const y0 = tf.tensor1d([2]);
    const { grads } = tf.variableGrads(() => tf.sum(odeint((_t, y) => tf.mul(lambda, y), y0, [0, 1], { method: 'dopri5', rtol: 1e-7, atol: 1e-7 }).slice([1], [1])));
    expect(grads[lambda.name].dataSync()[0]).toBeCloseTo(2 * Math.exp(-0.5), 5);
    tf.dispose([lambda, y0, ...Object.values(grads)]);
  });
});

describe('components the dynamics never read', () => {
  it('get no stage values, and the step is the same to the last bit', async () => {
    // y' = −y, z' = y (z unread): z(1) = 1 − e^{−1} for y(0) = 1, z(0) = 0.
    const y0 = [tf.tensor1d([1, 2]), tf.tensor1d([0, 0])];
    const plain: StateDynamics = (_t, [y]) => [tf.neg(y), y.clone()];
    const marked = Object.assign((t: number, s: tf.Tensor[]) => plain(t, s), { unread: [false, true] });
    for (const host of [true, false]) {
      setHostArithmetic(host);
      const stepWith = (f: StateDynamics) => {
        const f0 = f(0, y0);
        const step = rkStep(TABLEAUS.dopri5, f, 0, y0, f0, 0.1, [true, true]);
        const out = { y1: step.y1.map((c) => Array.from(c.dataSync())), err: step.err!.map((c) => Array.from(c.dataSync())) };
        disposeRkStep(step);
        tf.dispose(f0);
        return out;
      };
      expect(stepWith(marked)).toEqual(stepWith(plain));
      if (!host) {
        const multiplies = async (f: StateDynamics) => (await kernelsOf(() => stepWith(f))).Multiply;
        // The stage sums of z (1 + 2 + … + 5 products before the last) are skipped.
        expect(await multiplies(plain)).toBeGreaterThan(await multiplies(marked));
      }
    }
    tf.dispose(y0);
  });

  it("the adjoint's parameter adjoints are among them: gradients equal the closed form", () => {
    // y' = k y on [0, 1]: dL/dk of L = Σ y(1) is Σ y0 e^{k}.
    const k = tf.variable(tf.scalar(0.3));
    const y0 = tf.tensor1d([1, -0.5]);
    const stats = createStats();
    const { grads } = tf.variableGrads(() => tf.sum(odeintAdjoint((_t, y) => tf.mul(k, y), y0, [0, 1], { params: [k], rtol: 1e-7, atol: 1e-7, stats }).slice([1], [1])));
    expect(grads[k.name].dataSync()[0]).toBeCloseTo(0.5 * Math.exp(0.3), 5);
    tf.dispose([k, y0, ...Object.values(grads)]);
  });
});
