/**
 * The types of the seam (see nn/compute_path.ts, which picks the path): what a flow asks of its
 * network, whichever path runs it. A file of its own so that each path's implementation can name
 * them without importing the factory that imports it.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ListDynamics } from '../ode/adjoint_core.js';

/** The ways cnfkit can run a network. */
export type ComputePath = 'tfjs' | 'wasm-kernels';

/** Which RNODE regularisers the joint state carries beyond [F, −tr]. */
export interface JointTerms {
  /** ‖F‖² (the kinetic energy). */
  readonly kinetic: boolean;
  /** Σ_k ‖J v_k‖² (the Jacobian's Frobenius norm, estimated with the trace's tangents). */
  readonly jacobian: boolean;
}

/** The fused operations a flow needs from its network, on one compute path. */
export interface FlowOps {
  /** The path that runs them. */
  readonly path: ComputePath;
  /**
   * The joint dynamics over [x, ℓ, k?, j?] for fixed tangents v [K, B, d]: [F, −Σ_k v_k·J v_k,
   * ‖F‖²?, Σ_k ‖J v_k‖²?], with their vector–Jacobian product for the adjoint. They read x alone
   * (the factory marks the other components `unread`).
   */
  joint(v: tf.Tensor3D, terms: JointTerms): ListDynamics;
  /** The dynamics of x alone (the flow map and sampling). */
  flow(): ListDynamics;
}
