/**
 * Samples with their log-densities from one solve: each latent point z ~ N(0, I) is carried back
 * through the blocks with the joint ODE [x, ℓ] from T to 0. Integrating dℓ/dt = −tr(∂F/∂x) backwards
 * from ℓ(T) = 0 gives ℓ(0) = ∫₀ᵀ tr dt, so log p(x) = log N(z) + Σ_blocks ℓ(0): the density comes
 * at the price of the trace, with no second solve from x.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Reads } from '../ode/host_reads.js';
import type { ResolvedOdeintOptions } from '../ode/options.js';
import { disposeStates } from '../ode/state.js';
import type { OdeStats } from '../ode/stats.js';
import { Rng } from '../random.js';
import { standardNormalLogProb } from './base.js';
import type { CnfBlock } from './block.js';
import type { SamplesWithLogProb } from './cnf_options.js';
import { traceTangents, type NoiseKind } from './trace.js';

/** x = the flow's inverse map of `z` and log p(x) (exact trace), through `blocks` in reverse. */
export function* samplesWithLogProb(blocks: readonly CnfBlock[], z: tf.Tensor2D, noise: NoiseKind, forward: ResolvedOdeintOptions, stats: OdeStats): Reads<SamplesWithLogProb> {
  const [rows, dim] = z.shape;
  // log N(z) + Σ ℓ(0), accumulated block by block.
  let logProb: tf.Tensor = standardNormalLogProb(z);
  let x: tf.Tensor2D = z;
  const v = traceTangents('exact', noise, rows, dim, new Rng(0));
  let completed = false;
  try {
    for (const block of [...blocks].reverse()) {
      const [next, ell] = yield* block.solveJointSteps(x, v, { kinetic: false, jacobian: false }, forward, stats, true);
      if (x !== z) x.dispose();
      x = next as tf.Tensor2D;
      const sum = tf.add(logProb, ell);
      disposeStates([logProb, ell]);
      logProb = sum;
    }
    completed = true;
    return { samples: x, logProb: logProb as tf.Tensor1D };
  } finally {
    v.dispose();
    if (!completed) {
      logProb.dispose();
      if (x !== z) x.dispose();
    }
  }
}
