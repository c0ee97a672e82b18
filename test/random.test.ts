/**
 * The seeded generator (src/random.ts): Alea's recurrence run on local variables must give
 * seedrandom's draws bit for bit (saved checkpoints and seeds of earlier versions depend on it), and
 * a saved state must continue the same stream.
 */
import { describe, expect, it } from 'vitest';
import aleaPrng from 'seedrandom/lib/alea.js';
import { Rng } from '../src/random.js';

describe('Rng', () => {
  it("draws seedrandom's Alea stream bit for bit, through every method", () => {
    const rng = new Rng(42);
    const reference = aleaPrng('42', { state: true });
    const uniforms = rng.uniforms(1000, -2, 3);
    uniforms.forEach((u, i) => expect(u, `uniforms[${i}]`).toBe(Math.fround(-2 + 5 * reference())));
    const integers = rng.integers(1000, 777);
    integers.forEach((k, i) => expect(k, `integers[${i}]`).toBe(Math.floor(reference() * 777)));
    for (let i = 0; i < 100; i++) expect(rng.uniform()).toBe(reference());
    const signs = rng.rademachers(100);
    signs.forEach((s) => expect(s).toBe(reference() < 0.5 ? -1 : 1));
    // The polar method takes two draws per try: 1000 normals leave the stream where the reference is.
    const normals = rng.normals(1000);
    const expected: number[] = [];
    while (expected.length < 1000) {
      const u = 2 * reference() - 1;
      const v = 2 * reference() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = Math.sqrt((-2 * Math.log(s)) / s);
      expected.push(Math.fround(u * f), Math.fround(v * f));
    }
    expect([...normals]).toEqual(expected);
    expect(rng.state().alea).toEqual(reference.state());
  });

  it('continues the same stream from a saved state, through JSON', () => {
    const rng = new Rng('resume');
    rng.normals(333);
    const copy = new Rng(0, JSON.parse(JSON.stringify(rng.state())));
    expect([...copy.normals(101)]).toEqual([...rng.normals(101)]);
    expect([...copy.integers(50, 9)]).toEqual([...rng.integers(50, 9)]);
    expect(copy.state()).toEqual(rng.state());
  });
});
