import { describe, expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { FlatAdam } from '../src/train/flat_adam.js';
import { runSync } from '../src/ode/host_reads.js';
import { setHostArithmetic } from '../src/ode/host_arithmetic.js';

describe('FlatAdam', () => {
  it('matches PyTorch-style Adam written out per variable (L2 weight decay, ε = 1e-8), skips variables without gradients, and leaks nothing', () => {
    const a = tf.variable(tf.tensor2d([[1, -2], [0.5, 3]]));
    const b = tf.variable(tf.tensor1d([0.1, -0.4, 2]));
    const frozen = tf.variable(tf.scalar(7));
    const opt = new FlatAdam([a, b, frozen], 0.01, 1e-2);
    // Reference on the host, in float64.
    const ref = { a: [1, -2, 0.5, 3], b: [0.1, -0.4, 2] };
    const mom = { a: [[0, 0, 0, 0], [0, 0, 0, 0]], b: [[0, 0, 0], [0, 0, 0]] };
    const counts: number[] = [];
    for (let t = 1; t <= 5; t++) {
      const ga = [t, -1, 0.5 * t, 2];
      const gb = [0.3, t * t, -1];
      const ta = tf.tensor2d(ga, [2, 2]);
      const tb = tf.tensor1d(gb);
      runSync('test', opt.apply({ [a.name]: ta, [b.name]: tb }));
      tf.dispose([ta, tb]);
      counts.push(tf.memory().numTensors);
      for (const [key, g] of [['a', ga], ['b', gb]] as const) {
        const p = ref[key];
        const [m, v] = mom[key];
        for (let i = 0; i < p.length; i++) {
          const gi = g[i] + 1e-2 * p[i];
          m[i] = 0.9 * m[i] + 0.1 * gi;
          v[i] = 0.999 * v[i] + 0.001 * gi * gi;
          p[i] -= (0.01 * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8);
        }
      }
    }
    Array.from(a.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(ref.a[i], 5));
    Array.from(b.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(ref.b[i], 5));
    expect(frozen.dataSync()[0]).toBe(7);
    expect(new Set(counts).size).toBe(1);
    // A restored optimizer continues identically.
    const copy = new FlatAdam([a, b, frozen], 0.01, 1e-2);
    copy.restore(runSync('test', opt.state()));
    expect(runSync('test', copy.state()).step).toBe(5);
    expect(Array.from(runSync('test', copy.state()).m)).toEqual(Array.from(runSync('test', opt.state()).m));
    tf.dispose([a, b, frozen]);
    opt.dispose();
    copy.dispose();
  });

  it('refuses an update that would overflow a weight, changing nothing', () => {
    const w = tf.variable(tf.tensor1d([1e38, 1]));
    const opt = new FlatAdam([w], 1e38);
    const g = tf.tensor1d([-1, 1]);
    expect(runSync('test', opt.apply({ [w.name]: g }))).toBe(false);
    expect(Array.from(w.dataSync())).toEqual([1e38, 1].map(Math.fround));
    expect(runSync('test', opt.state()).step).toBe(0);
    tf.dispose([w, g]);
    opt.dispose();
  });

  it('updates on the host (no tfjs kernel) to the same bits as on tfjs ops, and the two paths hand over the moments', async () => {
    const shapes = [[3, 4], [4], [1]];
    const run = async (paths: boolean[]) => {
      const vars = shapes.map((shape, i) => tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, 1, 'float32', 10 + i))));
      const opt = new FlatAdam(vars, 0.02, 1e-3);
      const kernels: number[] = [];
      for (const [t, onHost] of paths.entries()) {
        setHostArithmetic(onHost);
        // The last variable has a gradient only every other step (a frozen T under flow matching).
        const grads = Object.fromEntries(vars.flatMap((v, i) => (i === 2 && t % 2 ? [] : [[v.name, tf.randomNormal(v.shape, 0, 1 + t, 'float32', 1000 + 100 * t + i)]])));
        const info = await tf.profile(() => {
          runSync('test', opt.apply(grads));
          return [];
        });
        kernels.push(info.kernels.length);
        tf.dispose(Object.values(grads));
      }
      setHostArithmetic(true);
      const state = runSync('test', opt.state());
      const weights = vars.map((v) => Array.from(v.dataSync()));
      opt.dispose();
      tf.dispose(vars);
      return { state, weights, kernels };
    };
    const before = tf.memory().numTensors;
    const tfjs = await run([false, false, false, false, false]);
    const host = await run([true, true, true, true, true]);
    const mixed = await run([true, false, true, true, false]);
    expect(tfjs.kernels.every((k) => k > 10)).toBe(true);
    expect(host.kernels).toEqual([0, 0, 0, 0, 0]);
    for (const other of [host, mixed]) {
      expect(other.weights).toEqual(tfjs.weights);
      expect(Array.from(other.state.m)).toEqual(Array.from(tfjs.state.m));
      expect(Array.from(other.state.v)).toEqual(Array.from(tfjs.state.v));
      expect(other.state.step).toBe(5);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a non-finite update on either path, changing nothing', () => {
    for (const onHost of [true, false]) {
      setHostArithmetic(onHost);
      const w = tf.variable(tf.tensor1d([1e38, 1]));
      const opt = new FlatAdam([w], 1e38);
      const g = tf.tensor1d([-1, 1]);
      expect(runSync('test', opt.apply({ [w.name]: g }))).toBe(false);
      expect(Array.from(w.dataSync())).toEqual([1e38, 1].map(Math.fround));
      expect(runSync('test', opt.state())).toEqual({ step: 0, m: new Float32Array(2), v: new Float32Array(2) });
      tf.dispose([w, g]);
      opt.dispose();
    }
    setHostArithmetic(true);
  });
});
