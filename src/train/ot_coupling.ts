/**
 * Exact optimal transport between two minibatches of equal size: the assignment that minimises the
 * total squared distance, by shortest augmenting paths with dual potentials (the Jonker–Volgenant /
 * Crouse form that scipy's linear_sum_assignment uses, after a column reduction): O(n³) in the worst
 * case, but each path search scans only the columns it has not reached, stops at the first free
 * column, and updates the duals of the rows and columns it visited only. Used by OT-CFM to pair
 * noise with data so that flow-matching paths barely cross.
 */
import { InputError } from '../errors.js';
import { wasmAssignment } from '../native/assignment.js';

/**
 * Solves the assignment problem for an n×n cost matrix (row-major), on cnfkit's wasm kernels when
 * they are on (the same algorithm, compiled), else in JavaScript.
 * @returns assignment[i] = the column matched to row i; the total cost is minimal
 */
export function linearSumAssignment(cost: Float64Array, n: number): Int32Array {
  if (cost.length !== n * n) throw new InputError('linearSumAssignment', 'cost', `must hold n² = ${n * n} costs, but holds ${cost.length}`);
  for (let k = 0; k < cost.length; k++) if (!Number.isFinite(cost[k])) throw new InputError('linearSumAssignment', 'cost', `must be finite, but cost[${k}] is ${cost[k]}`);
  return wasmAssignment(cost, n) ?? assignmentInJs(cost, n);
}

/** {@link linearSumAssignment} in JavaScript. */
function assignmentInJs(cost: ArrayLike<number>, n: number): Int32Array {
  const u = new Float64Array(n); // row potentials
  const v = new Float64Array(n); // column potentials
  const col4row = new Int32Array(n).fill(-1);
  const row4col = new Int32Array(n).fill(-1);
  const path = new Int32Array(n); // the row before each column on the shortest path
  const shortest = new Float64Array(n); // reduced path lengths to each column
  const remaining = new Int32Array(n); // columns not reached yet (first `left` entries)
  const rowSeen = new Uint8Array(n);
  const colSeen = new Uint8Array(n);
  const seenRows: number[] = [];
  const seenCols: number[] = [];
  // Column reduction: v[j] = min_i cost[i][j] keeps every reduced cost ≥ 0 and makes each column's
  // cheapest row a tight edge; matching those greedily leaves about a third of the rows to search.
  for (let j = 0; j < n; j++) {
    let best = 0;
    let lowest = Infinity;
    for (let i = 0; i < n; i++) {
      if (cost[i * n + j] < lowest) {
        lowest = cost[i * n + j];
        best = i;
      }
    }
    v[j] = lowest;
    if (col4row[best] === -1) {
      col4row[best] = j;
      row4col[j] = best;
    }
  }
  for (let start = 0; start < n; start++) {
    if (col4row[start] !== -1) continue;
    // Dijkstra from row `start` over reduced costs, to the nearest unmatched column.
    shortest.fill(Infinity);
    for (let j = 0; j < n; j++) remaining[j] = n - 1 - j;
    let left = n;
    let minVal = 0;
    let sink = -1;
    let i = start;
    seenRows.length = 0;
    seenCols.length = 0;
    while (sink === -1) {
      rowSeen[i] = 1;
      seenRows.push(i);
      let best = -1;
      let lowest = Infinity;
      const row = i * n;
      const base = minVal - u[i];
      for (let k = 0; k < left; k++) {
        const j = remaining[k];
        const r = base + cost[row + j] - v[j];
        if (r < shortest[j]) {
          path[j] = i;
          shortest[j] = r;
        }
        // Ties go to a free column: the search can end there.
        if (shortest[j] < lowest || (shortest[j] === lowest && row4col[j] === -1)) {
          lowest = shortest[j];
          best = k;
        }
      }
      if (best < 0 || lowest === Infinity) throw new InputError('linearSumAssignment', 'cost', 'has no finite assignment (a cost is NaN or infinite)');
      minVal = lowest;
      const j = remaining[best];
      colSeen[j] = 1;
      seenCols.push(j);
      remaining[best] = remaining[--left];
      if (row4col[j] === -1) sink = j;
      else i = row4col[j];
    }
    // Dual update for what the search reached, then augment along the path.
    u[start] += minVal;
    for (const r of seenRows) {
      if (r !== start) u[r] += minVal - shortest[col4row[r]];
      rowSeen[r] = 0;
    }
    for (const c of seenCols) {
      v[c] -= minVal - shortest[c];
      colSeen[c] = 0;
    }
    let j = sink;
    for (;;) {
      const r = path[j];
      row4col[j] = r;
      const previous = col4row[r];
      col4row[r] = j;
      j = previous;
      if (r === start) break;
    }
  }
  return col4row;
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
