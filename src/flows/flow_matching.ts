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
import { hungarian, squaredDistances } from './ot_coupling.js';

/** How data and noise are paired in a minibatch. */
export type Coupling = 'independent' | 'ot';

/** One minibatch's regression problem: times s [B, 1], points x_s [B, d] and target velocities [B, d]. */
function regressionProblem(x: tf.Tensor2D, T: number, sigma: number, coupling: Coupling, rng: Rng): { s: tf.Tensor2D; xs: tf.Tensor2D; target: tf.Tensor2D } {
  const [rows, dim] = x.shape;
  let noise = rng.normals(rows * dim);
  if (coupling === 'ot') noise = permuteRows(noise, hungarian(squaredDistances(x.dataSync(), noise, rows, dim), rows), dim);
  const r = rng.uniforms(rows);
  const jitter = sigma > 0 ? rng.normals(rows * dim) : undefined;
  return tf.tidy(() => {
    const z = tf.tensor2d(noise, [rows, dim]);
    const rCol = tf.tensor2d(r, [rows, 1]);
    let xs = tf.add(tf.mul(tf.sub(1, rCol), x), tf.mul(rCol, z));
    if (jitter) xs = tf.add(xs, tf.mul(sigma, tf.tensor2d(jitter, [rows, dim])));
    return { s: tf.mul(rCol, T) as tf.Tensor2D, xs: xs as tf.Tensor2D, target: tf.div(tf.sub(z, x), T) as tf.Tensor2D };
  });
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
