// The one generator cnfkit takes from seedrandom (3.0.5), imported by its own path so that bundles
// do not pull in seedrandom's Node-crypto autoseeding.
declare module 'seedrandom/lib/alea.js' {
  /** Alea's four-number state, plain JSON. */
  export interface AleaState {
    c: number;
    s0: number;
    s1: number;
    s2: number;
  }
  /** A seeded generator: () is uniform in [0, 1) with 32 random bits. */
  export interface AleaPrng {
    (): number;
    state(): AleaState;
  }
  export default function alea(seed: string, options: { state: true | AleaState }): AleaPrng;
}
