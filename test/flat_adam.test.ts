import { describe, expect, it } from 'vitest';
import { tf } from '../src/index.js';
import { FlatAdam } from '../src/train/flat_adam.js';
import { runSync } from '../src/ode/host_reads.js';

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
});
