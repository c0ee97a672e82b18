/**
 * The CNF's joint ODE over the state [x, ℓ, k?, j?]:
 *   dx/dt = F(t, x),  dℓ/dt = −tr(∂F/∂x),  dk/dt = ‖F‖²,  dj/dt = ‖∂F/∂x‖²_F (estimated),
 * where k and j (RNODE's kinetic energy and Jacobian Frobenius norm) are only integrated when they
 * are regularised. One network pass gives F and all the Jacobian–vector products.
 */
import * as tf from '@tensorflow/tfjs';
import type { TangentDynamics } from '../nn/dynamics_net.js';
import type { ListDynamics } from '../ode/adjoint_core.js';
import { traceFromTangents } from './trace.js';

/** Which regularisers the joint state carries. */
export interface JointTerms {
  readonly kinetic: boolean;
  readonly jacobian: boolean;
}

/** The joint dynamics for fixed tangents v [K, B, d] (basis or noise, drawn once per solve). */
export function jointDynamics(net: TangentDynamics, v: tf.Tensor3D, terms: JointTerms): ListDynamics {
  const dynamics: ListDynamics = (t, [x]) => {
    const { f, jv } = net.forwardWithTangents(t, x as tf.Tensor2D, v);
    const out: tf.Tensor[] = [f, tf.neg(traceFromTangents(v, jv))];
    if (terms.kinetic) out.push(tf.sum(tf.square(f), 1));
    // Σ_k ‖J v_k‖²: the exact Frobenius norm for basis tangents, unbiased for noise.
    if (terms.jacobian) out.push(tf.sum(tf.square(jv), [0, 2]));
    return out;
  };
  if (net.hasJointVjp && net.jointValueAndVjp) {
    // Only x feeds the dynamics: the other components' gradients are zero.
    dynamics.vjp = (t, y, cotangents) => {
      const r = net.jointValueAndVjp!(t, y[0] as tf.Tensor2D, v, terms, cotangents);
      if (!r) throw new Error('jointValueAndVjp unavailable');
      return { value: r.value, gradY: [r.gradX, ...y.slice(1).map((c) => tf.zerosLike(c))], gradParams: r.gradParams, gradT: r.gradT };
    };
  }
  return dynamics;
}

/** The dynamics of x alone, for the flow map and sampling. */
export function flowDynamics(net: TangentDynamics): ListDynamics {
  return (t, [x]) => [net.forward(t, x as tf.Tensor2D)];
}
