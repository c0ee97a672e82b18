/**
 * The Neural ODE paper's time-series data (§5; the generator of torchdiffeq's latent_ode example,
 * rewritten from its facts): 2-D spirals, clockwise r = b·50/(T + 1 − t) centred at (−5, 0) or
 * counter-clockwise r = b·t centred at (5, 0), t ∈ [0, 6π] on 1000 points, b = 0.3; each spiral starts
 * at a random index, 100 consecutive points are its sample window (Gaussian noise, std 0.3), and the
 * following 100 noise-free points are its extrapolation targets. Observations are a random subset of
 * the 100 sample times (30, 50 or 100, as in the paper's table).
 */
import { Rng } from '../../src/random.js';

const TOTAL = 1000;
export const SAMPLES = 100;
const STOP = 6 * Math.PI;
const B = 0.3;
export const NOISE = 0.3;

/** The times of a spiral's sample window and of its extrapolation window (shared by all spirals). */
export const TIMES = Array.from({ length: 2 * SAMPLES }, (_, i) => (i * STOP) / (TOTAL - 1));

/** One spiral: its noisy samples, the noise-free truth over both windows, and which way it turns. */
export interface Spiral {
  /** [SAMPLES][2], with noise. */
  observed: number[][];
  /** [2·SAMPLES][2], noise-free: the sample window, then the extrapolation window. */
  truth: number[][];
  clockwise: boolean;
}

function point(t: number, clockwise: boolean): [number, number] {
  if (clockwise) {
    const z = STOP + 1 - t;
    const r = (B * 50) / z;
    return [r * Math.cos(z) - 5, r * Math.sin(z)];
  }
  const r = B * t;
  return [r * Math.cos(t) + 5, r * Math.sin(t)];
}

/** `count` spirals, the same for a given seed. */
export function spirals(count: number, seed: number): Spiral[] {
  const rng = new Rng(`spirals:${seed}`);
  const grid = Array.from({ length: TOTAL }, (_, i) => (i * STOP) / (TOTAL - 1));
  return Array.from({ length: count }, () => {
    const start = Math.floor(rng.uniform() * (TOTAL - 2 * SAMPLES));
    const clockwise = rng.uniform() > 0.5;
    const truth = grid.slice(start, start + 2 * SAMPLES).map((t) => point(t, clockwise));
    const noise = rng.normals(2 * SAMPLES);
    const observed = truth.slice(0, SAMPLES).map(([x, y], i) => [x + NOISE * noise[2 * i], y + NOISE * noise[2 * i + 1]]);
    return { observed, truth, clockwise };
  });
}

/** Which of the SAMPLES sample times each spiral observes: `k` of them, sorted, seeded. */
export function observationMasks(count: number, k: number, seed: number): boolean[][] {
  const rng = new Rng(`observed:${k}:${seed}`);
  return Array.from({ length: count }, () => {
    const order = Array.from({ length: SAMPLES }, (_, i) => i);
    for (let i = SAMPLES - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const chosen = new Set(order.slice(0, k));
    return Array.from({ length: SAMPLES }, (_, i) => chosen.has(i));
  });
}
