/**
 * Exact optimal transport between two minibatches of equal size: the assignment that minimises the
 * total squared distance, by the Hungarian algorithm (shortest augmenting paths with potentials,
 * O(n³)). Used by OT-CFM to pair noise with data so that flow-matching paths barely cross.
 */

/**
 * Solves the assignment problem for an n×n cost matrix (row-major).
 * @returns assignment[i] = the column matched to row i; the total cost is minimal
 */
export function hungarian(cost: ArrayLike<number>, n: number): Int32Array {
  // Potentials u (rows), v (columns); p[j] = row matched to column j (1-based, 0 = none).
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1);
  const way = new Int32Array(n + 1);
  const minv = new Float64Array(n + 1);
  const used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      const row = (i0 - 1) * n;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const reduced = cost[row + j - 1] - u[i0] - v[j];
        if (reduced < minv[j]) {
          minv[j] = reduced;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const assignment = new Int32Array(n);
  for (let j = 1; j <= n; j++) assignment[p[j] - 1] = j - 1;
  return assignment;
}

/** Squared Euclidean distances between the rows of a [n, d] and b [n, d] (row-major), n×n. */
export function squaredDistances(a: ArrayLike<number>, b: ArrayLike<number>, n: number, d: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const diff = a[i * d + k] - b[j * d + k];
        s += diff * diff;
      }
      out[i * n + j] = s;
    }
  }
  return out;
}
