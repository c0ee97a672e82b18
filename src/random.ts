/**
 * Seeded random numbers on the host (seedrandom's ARC4), so the same seed gives the same draws on
 * every backend. Everything random in cnfkit (data, initial weights, trace noise, minibatches,
 * samples) comes from here.
 */
import seedrandom from 'seedrandom';

/** A seeded stream of random numbers. */
export class Rng {
  private readonly prng: seedrandom.StatefulPRNG<seedrandom.State.Arc4>;

  /**
   * @param seed - any number or string; equal seeds give equal streams
   * @param state - a state from {@link Rng.state} to continue from (the seed is then ignored)
   */
  constructor(seed: number | string, state?: RngState) {
    this.prng = seedrandom(String(seed), { state: state ? (structuredClone(state) as seedrandom.State.Arc4) : true });
  }

  /** The generator's full state, plain JSON: a new Rng made with it continues the same stream. */
  state(): RngState {
    return this.prng.state() as unknown as RngState;
  }

  private next(): number {
    return this.prng();
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.next();
  }

  /** n floats uniform in [lo, hi). */
  uniforms(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.next();
    return out;
  }

  /** n standard normal floats (Box–Muller, both halves used). */
  normals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u = 1 - this.next(); // (0, 1]: log(u) is finite
      const v = this.next();
      const r = Math.sqrt(-2 * Math.log(u));
      out[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
    return out;
  }

  /** n values ±1 with equal probability. */
  rademachers(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() < 0.5 ? -1 : 1;
    return out;
  }

  /** n integers uniform in [0, max). */
  integers(n: number, max: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * max);
    return out;
  }
}

/** A serialisable generator state (seedrandom's ARC4 state). */
export interface RngState {
  /** ARC4 index i. */
  i: number;
  /** ARC4 index j. */
  j: number;
  /** ARC4 permutation of 0…255. */
  S: number[];
}
