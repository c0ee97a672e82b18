/**
 * The eight 2D toy distributions of FFJORD (lib/toy_data.py, with scikit-learn's swiss roll, circles
 * and moons), with the same scales and noise, drawn from a seeded generator.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors.js';
import { Rng, checkSeed } from '../random.js';

/** The names {@link toyData} accepts. */
export type ToyDataset = 'swissroll' | 'circles' | 'rings' | 'moons' | '8gaussians' | 'pinwheel' | '2spirals' | 'checkerboard';

/**
 * Every toy data set, in FFJORD's order.
 * @example
 * ```ts
 * for (const name of TOY_DATASETS) toyData(name, 10, 0).dispose();
 * ```
 */
export const TOY_DATASETS: readonly ToyDataset[] = ['swissroll', 'circles', 'rings', 'moons', '8gaussians', 'pinwheel', '2spirals', 'checkerboard'];

/**
 * The differential entropy (nats) of the data sets whose density is known: the lowest expected NLL
 * any model can reach. 8gaussians: Monte Carlo with the exact mixture density (1e6 samples, standard
 * error 0.001; shared/reference/ffjord_toy); checkerboard: log of its support's area, log 32.
 * @example
 * ```ts
 * console.log(TOY_ENTROPY['8gaussians'], TOY_ENTROPY.checkerboard, TOY_ENTROPY.moons);   // 2.8317 3.4657 undefined
 * ```
 */
export const TOY_ENTROPY: Readonly<Partial<Record<ToyDataset, number>>> = { '8gaussians': 2.8317, checkerboard: Math.log(32) };

type Generator = (n: number, rng: Rng) => Float32Array;

const pairs = (n: number, fill: (i: number, out: Float32Array) => void) => {
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) fill(i, out);
  return out;
};

/** Fisher–Yates shuffle of the rows of a [n, 2] array, in place. */
function shuffleRows(x: Float32Array, rng: Rng): Float32Array {
  for (let i = x.length / 2 - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [x[2 * i], x[2 * j]] = [x[2 * j], x[2 * i]];
    [x[2 * i + 1], x[2 * j + 1]] = [x[2 * j + 1], x[2 * i + 1]];
  }
  return x;
}

const GENERATORS: Record<ToyDataset, Generator> = {
  // make_swiss_roll(noise=1): t = 1.5π(1 + 2u), (t cos t, 21u', t sin t) + N(0, 1); keep (x, z), /5.
  swissroll: (n, rng) => {
    const noise = rng.normals(3 * n);
    return pairs(n, (i, out) => {
      const t = 1.5 * Math.PI * (1 + 2 * rng.uniform());
      rng.uniform(); // the unused height coordinate, drawn to keep the stream aligned
      out[2 * i] = (t * Math.cos(t) + noise[3 * i]) / 5;
      out[2 * i + 1] = (t * Math.sin(t) + noise[3 * i + 2]) / 5;
    });
  },
  // make_circles(factor=0.5, noise=0.08) × 3: n/2 on the unit circle, the rest on radius 0.5.
  circles: (n, rng) => {
    const outer = Math.floor(n / 2);
    const noise = rng.normals(2 * n);
    return shuffleRows(
      pairs(n, (i, out) => {
        const isOuter = i < outer;
        const k = isOuter ? i : i - outer;
        const angle = (2 * Math.PI * k) / (isOuter ? outer : n - outer);
        const r = isOuter ? 1 : 0.5;
        out[2 * i] = 3 * (r * Math.cos(angle) + 0.08 * noise[2 * i]);
        out[2 * i + 1] = 3 * (r * Math.sin(angle) + 0.08 * noise[2 * i + 1]);
      }),
      rng,
    );
  },
  // Four concentric circles of radii 1, 0.75, 0.5, 0.25, scaled by 3, plus N(0, 0.08²).
  rings: (n, rng) => {
    const quarter = Math.floor(n / 4);
    const counts = [quarter, quarter, quarter, n - 3 * quarter];
    const radii = [1, 0.75, 0.5, 0.25];
    const out = new Float32Array(2 * n);
    let row = 0;
    counts.forEach((count, c) => {
      for (let k = 0; k < count; k++, row++) {
        const angle = (2 * Math.PI * k) / count;
        out[2 * row] = 3 * radii[c] * Math.cos(angle);
        out[2 * row + 1] = 3 * radii[c] * Math.sin(angle);
      }
    });
    shuffleRows(out, rng);
    const noise = rng.normals(2 * n);
    for (let i = 0; i < 2 * n; i++) out[i] += 0.08 * noise[i];
    return out;
  },
  // make_moons(noise=0.1) × 2 + (−1, −0.2).
  moons: (n, rng) => {
    const outer = Math.floor(n / 2);
    const noise = rng.normals(2 * n);
    return shuffleRows(
      pairs(n, (i, out) => {
        const isOuter = i < outer;
        const count = isOuter ? outer : n - outer;
        const angle = (Math.PI * (isOuter ? i : i - outer)) / Math.max(1, count - 1);
        const x = isOuter ? Math.cos(angle) : 1 - Math.cos(angle);
        const y = isOuter ? Math.sin(angle) : 1 - Math.sin(angle) - 0.5;
        out[2 * i] = 2 * (x + 0.1 * noise[2 * i]) - 1;
        out[2 * i + 1] = 2 * (y + 0.1 * noise[2 * i + 1]) - 0.2;
      }),
      rng,
    );
  },
  // 8 Gaussians of std 0.5 at radius 4, all divided by 1.414 (FFJORD's constant, not √2).
  '8gaussians': (n, rng) => {
    const s = 1 / Math.sqrt(2);
    const centers = [[1, 0], [-1, 0], [0, 1], [0, -1], [s, s], [s, -s], [-s, s], [-s, -s]];
    const noise = rng.normals(2 * n);
    return pairs(n, (i, out) => {
      const [cx, cy] = centers[Math.floor(rng.uniform() * 8)];
      out[2 * i] = (4 * cx + 0.5 * noise[2 * i]) / 1.414;
      out[2 * i + 1] = (4 * cy + 0.5 * noise[2 * i + 1]) / 1.414;
    });
  },
  // Five arms: radial N(1, 0.3²), tangential N(0, 0.1²), rotated by arm angle + 0.25·e^{radial}, × 2.
  pinwheel: (n, rng) => {
    const noise = rng.normals(2 * n);
    return shuffleRows(
      pairs(n, (i, out) => {
        const arm = i % 5;
        const radial = 1 + 0.3 * noise[2 * i];
        const tangential = 0.1 * noise[2 * i + 1];
        const angle = (2 * Math.PI * arm) / 5 + 0.25 * Math.exp(radial);
        out[2 * i] = 2 * (radial * Math.cos(angle) - tangential * Math.sin(angle));
        out[2 * i + 1] = 2 * (radial * Math.sin(angle) + tangential * Math.cos(angle));
      }),
      rng,
    );
  },
  // Two interleaved spirals: r = √u · 3π, point (−cos r · r + U/2, sin r · r + U/2) and its mirror, /3, + N(0, 0.1²).
  '2spirals': (n, rng) => {
    const noise = rng.normals(2 * n);
    return pairs(n, (i, out) => {
      const r = Math.sqrt(rng.uniform()) * 3 * Math.PI;
      const sign = i % 2 === 0 ? 1 : -1;
      const x = -Math.cos(r) * r + rng.uniform() * 0.5;
      const y = Math.sin(r) * r + rng.uniform() * 0.5;
      out[2 * i] = (sign * x) / 3 + 0.1 * noise[2 * i];
      out[2 * i + 1] = (sign * y) / 3 + 0.1 * noise[2 * i + 1];
    });
  },
  // Uniform on the 8 black cells (2×2 each) of a 4×4 checkerboard on [−4, 4]².
  checkerboard: (n, rng) =>
    pairs(n, (i, out) => {
      const x1 = rng.uniform() * 4 - 2;
      const x2 = rng.uniform() - (rng.uniform() < 0.5 ? 0 : 2) + (((Math.floor(x1) % 2) + 2) % 2);
      out[2 * i] = 2 * x1;
      out[2 * i + 1] = 2 * x2;
    }),
};

/**
 * n points of a 2D toy distribution, the same for the same seed.
 * @param name - one of {@link TOY_DATASETS}
 * @param n - how many points
 * @param seed - the generator's seed
 * @returns [n, 2]
 * @throws InputError for an unknown name or n < 1
 * @example
 * ```ts
 * const x = toyData('8gaussians', 1000, 0);   // [1000, 2]
 * console.log(TOY_DATASETS, TOY_ENTROPY['8gaussians']);
 * x.dispose();
 * ```
 * @see Grathwohl et al., FFJORD (ICLR 2019), 2D toy experiments
 */
export function toyData(name: ToyDataset, n: number, seed = 0): tf.Tensor2D {
  checkSeed('toyData', 'seed', seed);
  return tf.tensor2d(toyPoints(name, n, new Rng(`toy:${name}:${seed}`)), [n, 2]);
}

/** The points of {@link toyData} as a host array [x0, y0, x1, y1, …], drawn from `rng`. */
export function toyPoints(name: ToyDataset, n: number, rng: Rng): Float32Array {
  if (!TOY_DATASETS.includes(name)) {
    throw new InputError('toyData', 'name', `must be one of ${TOY_DATASETS.join(', ')}, but got ${JSON.stringify(name)}`);
  }
  if (!Number.isInteger(n) || n < 1) throw new InputError('toyData', 'n', `must be a positive integer, but got ${n}`);
  return GENERATORS[name](n, rng);
}
