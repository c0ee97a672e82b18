/**
 * The tfjs compute path of the seam (nn/compute_path.ts): the joint dynamics from one forward pass
 * with tangents, with the network's hand-derived VJP when it has one (ConcatSquash; others are
 * differentiated on the tape), and the flow map from its forward pass. Runs on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ListDynamics } from '../ode/adjoint_core.js';
import type { FlowOps, JointTerms } from './flow_ops.js';
import type { TangentDynamics } from './dynamics_net.js';

export function tfjsFlowOps(net: TangentDynamics): FlowOps {
  return { path: 'tfjs', joint: (v, terms) => tfjsJointDynamics(net, v, terms), flow: () => (t, [x]) => [net.forward(t, x as tf.Tensor2D)] };
}

function tfjsJointDynamics(net: TangentDynamics, v: tf.Tensor3D, terms: JointTerms): ListDynamics {
  const dynamics: ListDynamics = (t, [x]) => {
    const { f, jv } = net.forwardWithTangents(t, x as tf.Tensor2D, v);
    // −Σ_k v_k·(J v_k): −tr J exactly for basis tangents, Hutchinson's estimate for noise.
    const out: tf.Tensor[] = [f, tf.neg(tf.sum(tf.mul(v, jv), [0, 2]))];
    if (terms.kinetic) out.push(tf.sum(tf.square(f), 1));
    // Σ_k ‖J v_k‖²: the exact Frobenius norm for basis tangents, unbiased for noise.
    if (terms.jacobian) out.push(tf.sum(tf.square(jv), [0, 2]));
    return out;
  };
  const vjp = net.jointValueAndVjp?.bind(net);
  if (net.hasJointVjp && vjp) {
    // Only x feeds the dynamics: the other components' gradients are zero.
    dynamics.vjp = (t, y, cotangents) => {
      const r = vjp(t, y[0] as tf.Tensor2D, v, terms, cotangents)!;
      return { value: r.value, gradY: [r.gradX, ...y.slice(1).map((c) => tf.zerosLike(c))], gradParams: r.gradParams, gradT: r.gradT };
    };
  }
  return dynamics;
}
