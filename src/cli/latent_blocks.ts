/**
 * The latent points of `cnfkit sample`, drawn block by block so that memory stays flat in the
 * sample count: the whole run's N(0, I) sequence in order (as one draw of all n would give it; an
 * even block keeps the generator's normal pairs aligned), and only rows [from, to) handed out.
 */
import { Rng } from '../random.js';

/** Rows [from, to) of the run's latents [n, dim], in slices of at most `block` rows (block even). */
export function* latentBlocks(n: number, dim: number, seed: number, from: number, to: number, block = 65536): Generator<{ first: number; values: Float32Array }> {
  if (block % 2 !== 0) throw new Error('latentBlocks: the block must be even');
  const rng = new Rng(seed);
  for (let start = 0; start < to; start += block) {
    const normals = rng.normals(Math.min(block, n - start) * dim);
    const [a, b] = [Math.max(from, start), Math.min(to, start + block)];
    if (b > a) yield { first: a, values: normals.subarray((a - start) * dim, (b - start) * dim) };
  }
}
