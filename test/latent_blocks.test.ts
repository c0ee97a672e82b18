// `cnfkit sample` draws its latents block by block (memory flat in --n): every slice it hands out
// must be that slice of one draw of all n, for odd dimensions and shards across block edges too.
import { describe, expect, it } from 'vitest';
import { latentBlocks } from '../src/cli/latent_blocks.js';
import { Rng } from '../src/random.js';

describe('latentBlocks', () => {
  it.each([
    [1000, 3, 0, 1000, 64],
    [1001, 5, 0, 1001, 64],
    [1001, 5, 300, 700, 64],
    [777, 2, 129, 130, 8],
  ])('n %i, dim %i, rows [%i, %i) in blocks of %i: the slice of one draw', (n, dim, from, to, block) => {
    const whole = new Rng(7).normals(n * dim);
    const parts = [...latentBlocks(n, dim, 7, from, to, block)];
    expect(parts[0].first).toBe(from);
    const joined = Float32Array.from(parts.flatMap((p) => Array.from(p.values)));
    expect(Array.from(joined)).toEqual(Array.from(whole.subarray(from * dim, to * dim)));
    expect(Math.max(...parts.map((p) => p.values.length / dim))).toBeLessThanOrEqual(block);
  });

  it('refuses an odd block (it would break the pairs of the normal generator)', () => {
    expect(() => [...latentBlocks(10, 2, 0, 0, 10, 3)]).toThrow('the block must be even');
  });
});
