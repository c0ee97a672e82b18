/**
 * Conditional flow matching (Lipman et al. 2023; Tong et al. 2023) for the CNF's own field, in the
 * CNF's time: data at s = 0, noise z ~ N(0, I) at s = T. With r = s/T ~ U[0, 1),
 *   x_s = (1 − r)·x + r·z + σ·ε,   target velocity (z − x)/T,
 * and the loss is the mean squared error of F(s, x_s) against it: one forward and one backward pass
 * of the network, no ODE solve. The coupling pairs x with z independently (I-CFM) or by exact
 * optimal transport on the minibatch (OT-CFM), which straightens the paths.
 */
import * as tf from '@tensorflow/tfjs';
import type { TangentDynamics } from '../nn/dynamics_net.js';
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

/** The regression problem as tensors: s [B, 1], x_s [B, d], target [B, d]. */
function regressionProblem(x: tf.Tensor2D, T: number, sigma: number, coupling: Coupling, rng: Rng): { s: tf.Tensor2D; xs: tf.Tensor2D; target: tf.Tensor2D } {
  const [rows, dim] = x.shape;
  const { s, xs, target } = drawRegressionProblem(x.dataSync() as Float32Array, rows, dim, T, sigma, coupling, rng);
  return { s: tf.tensor2d(s, [rows, 1]), xs: tf.tensor2d(xs, [rows, dim]), target: tf.tensor2d(target, [rows, dim]) };
}

/** The flow-matching loss of one minibatch (a scalar tensor, differentiable w.r.t. the network by autodiff). */
export function flowMatchingLoss(net: TangentDynamics, x: tf.Tensor2D, T: number, sigma: number, coupling: Coupling, rng: Rng): tf.Scalar {
  // No tidy of its own: under tf.variableGrads the gradient's scope disposes the intermediates.
  const { s, xs, target } = regressionProblem(x, T, sigma, coupling, rng);
  return tf.mean(tf.sum(tf.square(tf.sub(net.forward(s, xs), target)), 1)) as tf.Scalar;
}

/**
 * The same loss and its gradients by the network's hand-derived backward pass (no tape), or
 * undefined when the network has none. Draws the same random numbers as {@link flowMatchingLoss}.
 */
export function flowMatchingGradients(
  net: TangentDynamics,
  x: tf.Tensor2D,
  T: number,
  sigma: number,
  coupling: Coupling,
  rng: Rng,
): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } | undefined {
  if (!net.regressionGradients) return undefined;
  const { s, xs, target } = regressionProblem(x, T, sigma, coupling, rng);
  const result = net.regressionGradients(s, xs, target);
  tf.dispose([s, xs, target]);
  return result;
}

/** Rows of a [n, d] array reordered so that row i becomes row assignment[i] of the input. */
function permuteRows(values: Float32Array, assignment: Int32Array, d: number): Float32Array {
  const out = new Float32Array(values.length);
  assignment.forEach((j, i) => out.set(values.subarray(j * d, (j + 1) * d), i * d));
  return out;
}
