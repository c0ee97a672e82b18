/**
 * Any user dynamics F(t, x) as a CNF network, without forward-mode tangents: the products the trace
 * needs come from one first-order VJP per tangent (v_kᵀJ instead of J v_k; Σ_k v_kᵀ J v_k is the
 * same). Slower than the built-in networks (d backward passes per evaluation for the exact trace),
 * and for evaluation only: training through the adjoint would differentiate these VJPs again, a
 * second derivative that tfjs computes wrongly through tanh, sigmoid and exp.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CnfkitError } from '../errors.js';
import { firstOrderGradients } from '../ode/vjp.js';
import { resolveParams, type Params } from '../ode/params.js';

/** User dynamics for a CNF: F(t, x) for a batch x [B, dim], and the variables it uses. */
export interface CustomDynamics {
  /** F(t, x), returning [B, dim]. */
  f: (t: tf.Scalar, x: tf.Tensor2D) => tf.Tensor2D;
  /** The variables F uses: tf.Variables, or the tfjs-layers model holding them (see `Params`). */
  params: Params;
}

/** The network interface the CNF needs, for custom dynamics. */
export class VjpDynamics {
  readonly supportsTraining = false;

  private readonly params: tf.Variable[];

  constructor(private readonly dynamics: CustomDynamics) {
    this.params = resolveParams('CNF', 'options.dynamics.params', dynamics.params);
  }

  namedVariables(): [string, tf.Variable][] {
    return this.params.map((p, i) => [`param${i}`, p]);
  }

  forward(t: tf.Tensor, x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.dynamics.f(t as tf.Scalar, x));
  }

  /** F and v_kᵀ J for every tangent v_k [K, B, dim] (one VJP each). */
  forwardWithTangents(t: tf.Scalar, x: tf.Tensor2D, v: tf.Tensor3D): { f: tf.Tensor2D; jv: tf.Tensor3D } {
    if (tf.engine().state.gradientDepth > 0) {
      throw new CnfkitError('CNF: a flow with custom dynamics cannot be differentiated (it would need second derivatives); use the built-in networks to train');
    }
    return tf.tidy(() => {
      const rows = tf.unstack(v).map((vk) => firstOrderGradients(() => tf.sum(tf.mul(this.dynamics.f(t, x), vk)), [x]).grads[0]);
      return { f: this.dynamics.f(t, x), jv: tf.stack(rows) as tf.Tensor3D };
    });
  }

  dispose(): void {}
}
