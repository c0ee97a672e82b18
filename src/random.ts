/**
 * Seeded random numbers on the host (xoshiro128**, seeded through a 128-bit string hash), so the
 * same seed gives the same draws on every backend. Everything random in cnfkit (data, initial
 * weights, trace noise, minibatches, samples) comes from here. A fast generator matters: a
 * flow-matching step at batch 1024 draws ~5000 numbers, which took ~0.5 ms with an ARC4 generator.
 */
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
  private readonly s: Uint32Array;

  /**
   * @param seed - any number or string; equal seeds give equal streams
   * @param state - a state from {@link Rng.state} to continue from (the seed is then ignored)
   */
  constructor(seed: number | string, state?: RngState) {
    if (state !== undefined) {
      const words = (state as Partial<RngState>)?.xoshiro128;
      if (!Array.isArray(words) || words.length !== 4 || !words.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32) || words.every((w) => w === 0)) {
        throw new InputError('Rng', 'state', 'is not a random-generator state of this cnfkit version (expected { xoshiro128: four 32-bit words, not all zero })');
      }
      this.s = Uint32Array.from(words);
    } else {
      this.s = seedWords(String(seed));
    }
  }

  /** The generator's full state, plain JSON: a new Rng made with it continues the same stream. */
  state(): RngState {
    return { xoshiro128: Array.from(this.s) };
  }

  /** Uniform in [0, 1) with 32 random bits (xoshiro128**). */
  private next(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result / 4294967296;
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

/** A serialisable generator state: xoshiro128**'s four 32-bit words. */
export interface RngState {
  /** The generator's state words. */
  xoshiro128: number[];
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Four state words from a string: four differently multiplied hashes of its characters, each
 * finished by splitmix32's avalanche, so that near seeds ("bench:1", "bench:2") give unrelated streams.
 */
function seedWords(seed: string): Uint32Array {
  const primes = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f];
  const words = new Uint32Array(4);
  primes.forEach((prime, lane) => {
    let h = (0x811c9dc5 ^ Math.imul(lane + 1, 0x7feb352d)) >>> 0;
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), prime);
    h = Math.imul(h ^ seed.length, prime);
    h ^= h >>> 16;
    h = Math.imul(h, 0x21f0aaad);
    h ^= h >>> 15;
    h = Math.imul(h, 0x735a2d97);
    h ^= h >>> 15;
    words[lane] = h >>> 0;
  });
  if (words.every((w) => w === 0)) words[0] = 1;
  return words;
}
