import { describe, expect, it } from 'vitest';
import { OdeInputError, TOY_DATASETS, TOY_ENTROPY, tf, toyData } from '../src/index.js';

function stats(name: (typeof TOY_DATASETS)[number], n = 20000) {
  const x = toyData(name, n, 0);
  const v = x.arraySync() as number[][];
  x.dispose();
  const mean = [0, 1].map((k) => v.reduce((s, p) => s + p[k], 0) / n);
  const second = [0, 1].map((k) => v.reduce((s, p) => s + p[k] ** 2, 0) / n);
  const radii = v.map(([a, b]) => Math.hypot(a, b));
  return { v, mean, second, radii, maxAbs: Math.max(...v.flat().map(Math.abs)) };
}

/** The fraction of radii nearest to each of `centers`. */
const histogram = (values: number[], centers: number[]) =>
  centers.map((c) => values.filter((r) => centers.every((other) => Math.abs(r - c) <= Math.abs(r - other))).length / values.length);

describe('toy data', () => {
  it('lists the eight FFJORD data sets and the entropies that are known', () => {
    expect(TOY_DATASETS).toEqual(['swissroll', 'circles', 'rings', 'moons', '8gaussians', 'pinwheel', '2spirals', 'checkerboard']);
    expect(TOY_ENTROPY['8gaussians']).toBeCloseTo(2.8317, 4);
    expect(TOY_ENTROPY.checkerboard).toBeCloseTo(Math.log(32), 10);
  });

  it.each(TOY_DATASETS)('%s: same seed, same points; another seed, other points; shape [n, 2]', (name) => {
    const [a, b, c] = [toyData(name, 100, 5), toyData(name, 100, 5), toyData(name, 100, 6)];
    expect(a.shape).toEqual([100, 2]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    tf.dispose([a, b, c]);
  });

  // Moments to ~3 standard errors of 20000 samples.
  it('8gaussians: centred, E[x²] = 16/(2·1.414²) + (0.5/1.414)², all mass near radius 4/1.414', () => {
    const s = stats('8gaussians');
    s.mean.forEach((m) => expect(Math.abs(m)).toBeLessThan(0.05));
    s.second.forEach((m) => expect(Math.abs(m - (16 / (2 * 1.414 ** 2) + (0.5 / 1.414) ** 2))).toBeLessThan(0.08));
    expect(s.radii.filter((r) => Math.abs(r - 4 / 1.414) < 1.2).length / s.radii.length).toBeGreaterThan(0.99);
  });

  it('checkerboard: uniform on 8 of the 16 2×2 cells of [−4, 4]², alternating', () => {
    const s = stats('checkerboard');
    expect(s.maxAbs).toBeLessThanOrEqual(4);
    const counts = new Map<string, number>();
    for (const [x, y] of s.v) {
      const key = `${Math.floor(x / 2)},${Math.floor(y / 2)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(8);
    for (const [key, count] of counts) {
      const [i, j] = key.split(',').map(Number);
      expect(Math.abs(i + j) % 2, key).toBe(0); // the occupied cells alternate: i + j even
      expect(Math.abs(count / s.v.length - 1 / 8)).toBeLessThan(0.01);
    }
  });

  it('circles: half on radius 3, half on radius 1.5; rings: a quarter on each of 3, 2.25, 1.5, 0.75', () => {
    histogram(stats('circles').radii, [3, 1.5]).forEach((f) => expect(Math.abs(f - 0.5)).toBeLessThan(0.01));
    // Rings 0.75 apart with radial noise 0.08·3: a few points land nearer a neighbour ring.
    histogram(stats('rings').radii, [3, 2.25, 1.5, 0.75]).forEach((f) => expect(Math.abs(f - 0.25)).toBeLessThan(0.02));
  });

  it('moons: mean (0, 0.3) after ×2 and the shift (−1, −0.2)', () => {
    const s = stats('moons');
    expect(Math.abs(s.mean[0])).toBeLessThan(0.03);
    expect(Math.abs(s.mean[1] - (2 * (0.5 * (2 / Math.PI) + 0.5 * (0.5 - 2 / Math.PI)) - 0.2))).toBeLessThan(0.03);
  });

  it('pinwheel, 2spirals and swissroll: centred where symmetric, and bounded like FFJORD\'s', () => {
    const p = stats('pinwheel');
    p.mean.forEach((m) => expect(Math.abs(m)).toBeLessThan(0.05));
    expect(p.radii.reduce((a, b) => a + b) / p.radii.length).toBeCloseTo(2, 0);
    const sp = stats('2spirals');
    sp.mean.forEach((m) => expect(Math.abs(m)).toBeLessThan(0.05));
    expect(sp.maxAbs).toBeLessThan(4.2);
    const sw = stats('swissroll');
    expect(sw.maxAbs).toBeLessThan(4);
    expect(Math.max(...sw.radii)).toBeGreaterThan(2.5);
  });

  it('rejects unknown names and bad sizes', () => {
    expect(() => toyData('spiral' as never, 10)).toThrow(OdeInputError);
    expect(() => toyData('moons', 0)).toThrow("toyData: 'n' must be a positive integer, but got 0");
  });
});
