/**
 * Conditional flow matching (Lipman et al. 2023; Tong et al. 2023) for the CNF's own field, in the
 * CNF's time: data at s = 0, noise z ~ N(0, I) at s = T. With r = s/T ~ U[0, 1),
 *   x_s = (1 − r)·x + r·z + σ·ε,   target velocity (z − x)/T,
 * and the loss is the mean squared error of F(s, x_s) against it: one forward and one backward pass
 * of the network, no ODE solve (train/flow_matching_step.ts runs it on a compute path). The coupling pairs x with z independently (I-CFM) or by exact
 * optimal transport on the minibatch (OT-CFM), which straightens the paths.
 */
import type { Rng } from '../random.js';
import { linearSumAssignment, squaredDistances } from './ot_coupling.js';

/** How data and noise are paired in a minibatch. */
export type Coupling = 'independent' | 'ot';

/** One minibatch's regression problem on the host: times s [B], points x_s [B, d], targets [B, d]. */
export interface RegressionProblem {
  s: Float32Array;
  xs: Float32Array;
  target: Float32Array;
}

/**
 * Draws the regression problem of a minibatch x [rows, dim] (row-major values): noise, its
 * coupling to x, times and jitter, in a fixed order of random draws.
 */
export function drawRegressionProblem(x: Float32Array, rows: number, dim: number, T: number, sigma: number, coupling: Coupling, rng: Rng): RegressionProblem {
  let noise = rng.normals(rows * dim);
  if (coupling === 'ot') noise = permuteRows(noise, linearSumAssignment(squaredDistances(x, noise, rows, dim), rows), dim);
  const r = rng.uniforms(rows);
  const jitter = sigma > 0 ? rng.normals(rows * dim) : undefined;
  const s = new Float32Array(rows);
  const xs = new Float32Array(rows * dim);
  const target = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    s[i] = r[i] * T;
    for (let j = 0; j < dim; j++) {
      const at = i * dim + j;
      xs[at] = (1 - r[i]) * x[at] + r[i] * noise[at] + (jitter ? sigma * jitter[at] : 0);
      target[at] = (noise[at] - x[at]) / T;
    }
  }
  return { s, xs, target };
}

/** Rows of a [n, d] array reordered so that row i becomes row assignment[i] of the input. */
function permuteRows(values: Float32Array, assignment: Int32Array, d: number): Float32Array {
  const out = new Float32Array(values.length);
  assignment.forEach((j, i) => out.set(values.subarray(j * d, (j + 1) * d), i * d));
  return out;
}
