/**
 * Dense linear algebra on the host in float64, for the Newton iterations of implicit methods
 * (their systems are small: the state of a stiff ODE, not a batch).
 */

/** An LU factorisation with partial pivoting of an n×n matrix stored row-major. */
export interface LuFactors {
  readonly n: number;
  readonly lu: Float64Array;
  readonly pivots: Int32Array;
}

/**
 * Factors A = P·L·U in place of a copy.
 * @returns the factors, or undefined when A is singular to working precision
 */
export function luFactor(a: Float64Array, n: number): LuFactors | undefined {
  const lu = Float64Array.from(a);
  const pivots = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(lu[i * n + k]) > Math.abs(lu[p * n + k])) p = i;
    if (lu[p * n + k] === 0) return undefined;
    pivots[k] = p;
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const tmp = lu[k * n + j];
        lu[k * n + j] = lu[p * n + j];
        lu[p * n + j] = tmp;
      }
    }
    const pivot = lu[k * n + k];
    for (let i = k + 1; i < n; i++) {
      const m = (lu[i * n + k] /= pivot);
      if (m !== 0) for (let j = k + 1; j < n; j++) lu[i * n + j] -= m * lu[k * n + j];
    }
  }
  return { n, lu, pivots };
}

/** Solves A x = b with the factors of A; returns x. */
export function luSolve({ n, lu, pivots }: LuFactors, b: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(b);
  for (let k = 0; k < n; k++) {
    const p = pivots[k];
    if (p !== k) [x[k], x[p]] = [x[p], x[k]];
  }
  for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) x[i] -= lu[i * n + j] * x[j];
  for (let i = n - 1; i >= 0; i--) {
    for (let j = i + 1; j < n; j++) x[i] -= lu[i * n + j] * x[j];
    x[i] /= lu[i * n + i];
  }
  return x;
}
