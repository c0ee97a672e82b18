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
  /** Order of the dense output (the own continuous extension, or 3 for the Hermite cubic). */
  readonly denseOrder?: number;
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
  denseOrder: 4,
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
  denseOrder: 4,
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

const DOPRI8_B = [14005451 / 335480064, 0, 0, 0, 0, -59238493 / 1068277825, 181606767 / 758867731, 561292985 / 797845732, -1041891430 / 1371343529, 760417239 / 1151165299, 118820643 / 751138087, -528747749 / 2220607170, 1 / 4, 0];
// θ-polynomial coefficients of the continuous extension, per stage (p_i0 … p_i5).
const DOPRI8_DENSE: readonly (readonly number[])[] = [
  [1.0, -6.6910181737837595, 19.999006933368396, -30.061056828966645, 22.139650499809406, -6.34483493928604],
  [0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 0],
  [0.0, -7.6142658045872675, 52.227353279294555, -121.49996277313346, 116.44221495503422, -39.61079198522025],
  [0.0, 10.728139263042886, -46.89191641810936, 83.17210046398478, -67.14513188259572, 20.376121380879145],
  [0.0, 0.5526637063753649, -0.18908932250105956, 9.572450755599366, -16.56722435274965, 7.334709882679536],
  [0.0, 4.218656262566515, -35.70759759462221, 87.84060576772056, -89.9916014847245, 32.88017743524592],
  [0.0, -0.6627209125361597, 6.273644808324035, -17.415210777076297, 22.623748964853284, -10.158899052642676],
  [0.0, -1.2636789001135462, 10.316088127245076, -28.590328951479098, 32.23623401673554, -12.540126809878256],
  [0.0, 5.410603789859042, -34.76507698666118, 81.66309505843414, -82.10203154883598, 29.555300148451604],
  [0.0, -7.032137906794574, 47.745797107822554, -114.93752913770093, 116.26621857911195, -41.79234864243906],
  [0.0, 2.3537586759714983, -19.008209934160803, 50.255836422617605, -53.90207774663854, 20.300692582210083],
];

/** Dormand–Prince 8(7), 13 stages + FSAL (the rational coefficients torchdiffeq uses), with a fifth-order continuous extension. */
const dopri8: ButcherTableau = {
  name: 'dopri8',
  order: 8,
  embeddedOrder: 7,
  denseOrder: 5,
  c: [0, 1 / 18, 1 / 12, 1 / 8, 5 / 16, 3 / 8, 59 / 400, 93 / 200, 5490023248 / 9719169821, 13 / 20, 1201146811 / 1299019798, 1, 1, 1],
  a: [
    [],
    [1 / 18],
    [1 / 48, 1 / 16],
    [1 / 32, 0, 3 / 32],
    [5 / 16, 0, -75 / 64, 75 / 64],
    [3 / 80, 0, 0, 3 / 16, 3 / 20],
    [29443841 / 614563906, 0, 0, 77736538 / 692538347, -28693883 / 1125000000, 23124283 / 1800000000],
    [16016141 / 946692911, 0, 0, 61564180 / 158732637, 22789713 / 633445777, 545815736 / 2771057229, -180193667 / 1043307555],
    [39632708 / 573591083, 0, 0, -433636366 / 683701615, -421739975 / 2616292301, 100302831 / 723423059, 790204164 / 839813087, 800635310 / 3783071287],
    [246121993 / 1340847787, 0, 0, -37695042795 / 15268766246, -309121744 / 1061227803, -12992083 / 490766935, 6005943493 / 2108947869, 393006217 / 1396673457, 123872331 / 1001029789],
    [-1028468189 / 846180014, 0, 0, 8478235783 / 508512852, 1311729495 / 1432422823, -10304129995 / 1701304382, -48777925059 / 3047939560, 15336726248 / 1032824649, -45442868181 / 3398467696, 3065993473 / 597172653],
    [185892177 / 718116043, 0, 0, -3185094517 / 667107341, -477755414 / 1098053517, -703635378 / 230739211, 5731566787 / 1027545527, 5232866602 / 850066563, -4093664535 / 808688257, 3962137247 / 1805957418, 65686358 / 487910083],
    [403863854 / 491063109, 0, 0, -5068492393 / 434740067, -411421997 / 543043805, 652783627 / 914296604, 11173962825 / 925320556, -13158990841 / 6184727034, 3936647629 / 1978049680, -160528059 / 685178525, 248638103 / 1413531060, 0],
    [14005451 / 335480064, 0, 0, 0, 0, -59238493 / 1068277825, 181606767 / 758867731, 561292985 / 797845732, -1041891430 / 1371343529, 760417239 / 1151165299, 118820643 / 751138087, -528747749 / 2220607170, 1 / 4],
  ],
  b: DOPRI8_B,
  bErr: [14005451 / 335480064 - 13451932 / 455176623, 0, 0, 0, 0, -59238493 / 1068277825 + 808719846 / 976000145, 181606767 / 758867731 - 1757004468 / 5645159321, 561292985 / 797845732 - 656045339 / 265891186, -1041891430 / 1371343529 + 3867574721 / 1518517206, 760417239 / 1151165299 - 465885868 / 322736535, 118820643 / 751138087 - 53011238 / 667516719, -528747749 / 2220607170 - 2 / 45, 1 / 4, 0],
  // w_i(θ) = Σ_j p_ij θ^(j+1)
  denseWeights: (theta) => DOPRI8_DENSE.map((p) => p.reduce((s, coefficient, j) => s + coefficient * theta ** (j + 1), 0)),
};

/** The methods that are explicit Runge–Kutta tableaus. */
export type TableauName = 'euler' | 'midpoint' | 'rk4' | 'bosh3' | 'dopri5' | 'tsit5' | 'dopri8';

/**
 * Every explicit Runge–Kutta tableau, by method name.
 * @example
 * ```ts
 * const { c, b, bErr } = TABLEAUS.dopri5;
 * console.log(c.length, b.reduce((s, x) => s + x, 0), bErr!.reduce((s, x) => s + x, 0));   // 7 1 ~0
 * ```
 */
export const TABLEAUS: Readonly<Record<TableauName, ButcherTableau>> = Object.freeze({ euler, midpoint, rk4, bosh3, dopri5, tsit5, dopri8 });

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
