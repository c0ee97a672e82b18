/**
 * Butcher tableaus as plain data. One generic stepper (`explicit.ts`) runs every one of them; a
 * method is nothing but these numbers (and, optionally, its own dense-output polynomial).
 *
 * Conventions: stage i is k_i = f(t0 + c_i h, y0 + h Σ_{j<i} a_ij k_j); the solution is
 * y1 = y0 + h Σ b_i k_i; the embedded error estimate is h Σ bErr_i k_i with bErr = b − b̂.
 */

/** A explicit Runge–Kutta method as data. */
export interface ButcherTableau {
  /** The method's name in `METHODS`. */
  readonly name: string;
  /** Order of the propagated solution y1. */
  readonly order: number;
  /** Order of the embedded solution ŷ1 (adaptive methods only). */
  readonly embeddedOrder?: number;
  /** Nodes c_i; c_0 = 0. */
  readonly c: readonly number[];
  /** Strictly lower-triangular coefficients: row i holds a_i0 … a_i(i−1). */
  readonly a: readonly (readonly number[])[];
  /** Weights of the solution. */
  readonly b: readonly number[];
  /** Error weights b − b̂ (adaptive methods only); they sum to zero. */
  readonly bErr?: readonly number[];
  /**
   * The method's own continuous extension: weights w_i(θ) with y(t0 + θh) = y0 + h Σ w_i(θ) k_i.
   * Only for FSAL methods (so that k_last = f(t1, y1)); others fall back to Hermite cubic.
   */
  readonly denseWeights?: (theta: number) => number[];
}

const euler: ButcherTableau = { name: 'euler', order: 1, c: [0], a: [[]], b: [1] };

const midpoint: ButcherTableau = { name: 'midpoint', order: 2, c: [0, 0.5], a: [[], [0.5]], b: [0, 1] };

const rk4: ButcherTableau = {
  name: 'rk4',
  order: 4,
  c: [0, 0.5, 0.5, 1],
  a: [[], [0.5], [0, 0.5], [0, 0, 1]],
  b: [1 / 6, 1 / 3, 1 / 3, 1 / 6],
};

/** Bogacki–Shampine 3(2), FSAL; dense output is the Hermite cubic (third order). */
const bosh3: ButcherTableau = {
  name: 'bosh3',
  order: 3,
  embeddedOrder: 2,
  c: [0, 1 / 2, 3 / 4, 1],
  a: [[], [1 / 2], [0, 3 / 4], [2 / 9, 1 / 3, 4 / 9]],
  b: [2 / 9, 1 / 3, 4 / 9, 0],
  bErr: [2 / 9 - 7 / 24, 1 / 3 - 1 / 4, 4 / 9 - 1 / 3, -1 / 8],
};

const DOPRI5_B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0];
// Shampine's (1986) fourth-order continuous extension, as used in Hairer's DOPRI5.
const DOPRI5_D = [
  -12715105075 / 11282082432, 0, 87487479700 / 32700410799, -10690763975 / 1880347072,
  701980252875 / 199316789632, -1453857185 / 822651844, 69997945 / 29380423,
];

/** Dormand–Prince 5(4), FSAL, with Shampine's fourth-order dense output. */
const dopri5: ButcherTableau = {
  name: 'dopri5',
  order: 5,
  embeddedOrder: 4,
  c: [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
  a: [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
  ],
  b: DOPRI5_B,
  bErr: [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40],
  // y(θ) − y0 = h[θB + θ(1−θ)(e1 − B) + θ²(1−θ)(2B − e1 − e7) + θ²(1−θ)²D]
  denseWeights: (theta) => {
    const s = theta;
    const u = 1 - theta;
    return DOPRI5_B.map((bi, i) => {
      const e1 = i === 0 ? 1 : 0;
      const e7 = i === 6 ? 1 : 0;
      return s * bi + s * u * (e1 - bi) + s * s * u * (2 * bi - e1 - e7) + s * s * u * u * DOPRI5_D[i];
    });
  },
};

const TSIT5_B = [
  0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081,
  2.324710524099774, 0,
];
const TSIT5_BHAT = [
  0.09468075576583945, 0.009183565540343254, 0.4877705284247616, 1.234297566930479,
  -2.707712349983525, 1.866628418170587, 1 / 66,
];

/** Tsitouras 5(4) (2011), FSAL, with its own fourth-order dense output. */
const tsit5: ButcherTableau = {
  name: 'tsit5',
  order: 5,
  embeddedOrder: 4,
  c: [0, 0.161, 0.327, 0.9, 0.9800255409045097, 1, 1],
  a: [
    [],
    [0.161],
    [-0.008480655492356989, 0.335480655492357],
    [2.897153057105493, -6.359448489975075, 4.3622954328695815],
    [5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525],
    [5.86145544294642, -12.92096931784711, 8.159367898576159, -0.07158497328140099, -0.028269050394068383],
    TSIT5_B.slice(0, 6),
  ],
  b: TSIT5_B,
  bErr: TSIT5_B.map((bi, i) => bi - TSIT5_BHAT[i]),
  denseWeights: (t) => [
    -1.0530884977290216 * t * (t - 1.3299890189751412) * (t * t - 1.4364028541716351 * t + 0.7139816917074209),
    0.1017 * t * t * (t * t - 2.1966568338249754 * t + 1.2949852507374631),
    2.490627285651252793 * t * t * (t * t - 2.38535645472061657 * t + 1.57803468208092486),
    -16.54810288924490272 * (t - 1.21712927295533244) * (t - 0.61620406037800089) * t * t,
    47.37952196281928122 * (t - 1.203071208372362603) * (t - 0.658047292653547382) * t * t,
    -34.87065786149660974 * (t - 1.2) * (t - 0.666666666666666667) * t * t,
    2.5 * (t - 1) * (t - 0.6) * t * t,
  ],
};

/** The methods that are explicit Runge–Kutta tableaus. */
export type TableauName = 'euler' | 'midpoint' | 'rk4' | 'bosh3' | 'dopri5' | 'tsit5';

/**
 * Every explicit Runge–Kutta tableau, by method name.
 * @example
 * ```ts
 * const { c, b, bErr } = TABLEAUS.dopri5;
 * console.log(c.length, b.reduce((s, x) => s + x, 0), bErr!.reduce((s, x) => s + x, 0));   // 7 1 ~0
 * ```
 */
export const TABLEAUS: Readonly<Record<TableauName, ButcherTableau>> = Object.freeze({ euler, midpoint, rk4, bosh3, dopri5, tsit5 });

/** First same as last: the last stage is evaluated at (t1, y1), so it is the next step's first. */
export function isFsal(tableau: ButcherTableau): boolean {
  const last = tableau.a.length - 1;
  if (last === 0 || tableau.c[last] !== 1) return false;
  const row = tableau.a[last];
  return row.length === last && row.every((aij, j) => Math.abs(aij - tableau.b[j]) < 1e-15) && tableau.b[last] === 0;
}

/** Whether the tableau carries an embedded error estimate (and so supports adaptive stepping). */
export function isAdaptive(tableau: ButcherTableau): boolean {
  return tableau.bErr !== undefined;
}
