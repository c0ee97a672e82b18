/**
 * Seeded random numbers on the host (seedrandom's Alea generator, with its state saved in checkpoints
 * for bit-exact resume), so the same seed gives the same draws on every backend. Everything random in
 * cnfkit (data, initial weights, trace noise, minibatches, samples) comes from here. A fast generator
 * matters: a flow-matching step at batch 1024 draws ~7000 numbers. Alea's recurrence is one chain of
 * dependent float64 operations, ~5 ns a draw on the dev machine; through seedrandom's closure a value
 * of `uniforms` took ~19 ns, in the loops below ~7 (seedrandom's ARC4 default is ~5x slower, its
 * xor4096 ~13 ns, its xor128 ~3 ns with weaker statistics).
 */
import aleaPrng from 'seedrandom/lib/alea.js';
import { InputError } from './errors.js';

/**
 * Checks a seed at a public boundary: a finite number (NaN would seed a stream, silently, from the
 * string "NaN").
 */
export function checkSeed(fn: string, argument: string, seed: unknown): void {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new InputError(fn, argument, `must be a finite number, but got ${typeof seed === 'number' ? seed : typeof seed}`);
  }
}

/** 2^-32. */
const TWO_TO_MINUS_32 = 2.3283064365386963e-10;

/**
 * A seeded stream of random numbers: Alea's recurrence run here on local variables (seedrandom's
 * seeding, then the same arithmetic, so the same draws bit for bit).
 */
export class Rng {
  private c = 0;
  private s0 = 0.5;
  private s1 = 0.5;
  private s2 = 0.5;

  /**
   * @param seed - any number or string; equal seeds give equal streams
   * @param state - a state from {@link Rng.state} to continue from (the seed is then ignored)
   */
  constructor(seed: number | string, state?: RngState) {
    let words: AleaWords;
    if (state !== undefined) {
      const alea = (state as Partial<RngState>)?.alea;
      const valid = alea !== null && typeof alea === 'object' && (['c', 's0', 's1', 's2'] as const).every((k) => typeof alea[k] === 'number' && Number.isFinite(alea[k]));
      if (!valid) {
        throw new InputError('Rng', 'state', 'is not a random-generator state of this cnfkit version (expected { alea: { c, s0, s1, s2 } }; states saved by cnfkit 0.1 cannot be resumed)');
      }
      words = alea;
    } else {
      words = aleaPrng(String(seed), { state: true }).state();
    }
    ({ c: this.c, s0: this.s0, s1: this.s1, s2: this.s2 } = words);
  }

  /** The generator's full state, plain JSON: a new Rng made with it continues the same stream. */
  state(): RngState {
    return { alea: { c: this.c, s0: this.s0, s1: this.s1, s2: this.s2 } };
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    const t = 2091639 * this.s0 + this.c * TWO_TO_MINUS_32;
    this.s0 = this.s1;
    this.s1 = this.s2;
    return (this.s2 = t - (this.c = t | 0));
  }

  /** The stream's next n draws, uniform in [0, 1), with the state in local variables. */
  private draws(n: number): Float64Array {
    const out = new Float64Array(n);
    let { c, s0, s1, s2 } = this;
    for (let i = 0; i < n; i++) {
      const t = 2091639 * s0 + c * TWO_TO_MINUS_32;
      s0 = s1;
      s1 = s2;
      out[i] = s2 = t - (c = t | 0);
    }
    this.keep(c, s0, s1, s2);
    return out;
  }

  /** n floats uniform in [lo, hi). */
  uniforms(n: number, lo = 0, hi = 1): Float32Array {
    const u = this.draws(n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * u[i];
    return out;
  }

  /** n standard normal floats (Marsaglia's polar method, both of each pair used; no trigonometry). */
  normals(n: number): Float32Array {
    const out = new Float32Array(n);
    let { c, s0, s1, s2 } = this;
    for (let i = 0; i < n; i += 2) {
      let u: number;
      let v: number;
      let s: number;
      do {
        let t = 2091639 * s0 + c * TWO_TO_MINUS_32;
        s0 = s1;
        s1 = s2;
        s2 = t - (c = t | 0);
        u = 2 * s2 - 1;
        t = 2091639 * s0 + c * TWO_TO_MINUS_32;
        s0 = s1;
        s1 = s2;
        s2 = t - (c = t | 0);
        v = 2 * s2 - 1;
        s = u * u + v * v;
      } while (s >= 1 || s === 0);
      const f = Math.sqrt((-2 * Math.log(s)) / s);
      out[i] = u * f;
      if (i + 1 < n) out[i + 1] = v * f;
    }
    this.keep(c, s0, s1, s2);
    return out;
  }

  /** Stores the state a bulk method advanced in local variables. */
  private keep(c: number, s0: number, s1: number, s2: number): void {
    this.c = c;
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
  }

  /** n values ±1 with equal probability. */
  rademachers(n: number): Float32Array {
    const u = this.draws(n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = u[i] < 0.5 ? -1 : 1;
    return out;
  }

  /** n integers uniform in [0, max). */
  integers(n: number, max: number): Int32Array {
    const u = this.draws(n);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(u[i] * max);
    return out;
  }
}

/** A serialisable generator state: seedrandom's Alea state. */
export interface RngState {
  /** Alea's state. */
  alea: AleaWords;
}

/** Alea's state: three fractions in [0, 1) with 32 bits each, and a carry. */
export interface AleaWords {
  /** The carry. */
  c: number;
  /** The three lagged fractions. */
  s0: number;
  /** See s0. */
  s1: number;
  /** See s0. */
  s2: number;
}
