/**
 * Seeded random numbers on the host (seedrandom's Alea generator, with its state saved in checkpoints
 * for bit-exact resume), so the same seed gives the same draws on every backend. Everything random in
 * cnfkit (data, initial weights, trace noise, minibatches, samples) comes from here. A fast generator
 * matters: a flow-matching step at batch 1024 draws ~7000 numbers; Alea takes ~7 ns a draw on the dev
 * machine (seedrandom's ARC4 default ~5x that, its xor4096 ~13 ns, its xor128 ~3 ns with weaker
 * statistics).
 */
import aleaPrng, { type AleaPrng } from 'seedrandom/lib/alea.js';
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

/** A seeded stream of random numbers. */
export class Rng {
  private readonly next: AleaPrng;

  /**
   * @param seed - any number or string; equal seeds give equal streams
   * @param state - a state from {@link Rng.state} to continue from (the seed is then ignored)
   */
  constructor(seed: number | string, state?: RngState) {
    if (state !== undefined) {
      const alea = (state as Partial<RngState>)?.alea;
      const valid = alea !== null && typeof alea === 'object' && (['c', 's0', 's1', 's2'] as const).every((k) => typeof alea[k] === 'number' && Number.isFinite(alea[k]));
      if (!valid) {
        throw new InputError('Rng', 'state', 'is not a random-generator state of this cnfkit version (expected { alea: { c, s0, s1, s2 } }; states saved by cnfkit 0.1 cannot be resumed)');
      }
      this.next = aleaPrng('', { state: { ...alea } });
    } else {
      this.next = aleaPrng(String(seed), { state: true });
    }
  }

  /** The generator's full state, plain JSON: a new Rng made with it continues the same stream. */
  state(): RngState {
    return { alea: this.next.state() };
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

  /** n standard normal floats (Marsaglia's polar method, both of each pair used; no trigonometry). */
  normals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      let u: number;
      let v: number;
      let s: number;
      do {
        u = 2 * this.next() - 1;
        v = 2 * this.next() - 1;
        s = u * u + v * v;
      } while (s >= 1 || s === 0);
      const f = Math.sqrt((-2 * Math.log(s)) / s);
      out[i] = u * f;
      if (i + 1 < n) out[i + 1] = v * f;
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
