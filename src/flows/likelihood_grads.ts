/**
 * Maximum likelihood's loss and gradients without a gradient tape: the forward joint solve through
 * every block, the loss −mean log p (plus RNODE's regularisers) from the final states, its gradient
 * w.r.t. them in closed form, and the adjoint's backward sweep through the blocks in reverse. Every
 * host read is yielded (ode/host_reads.ts), so it trains where reads must be awaited (WebGPU); the
 * tape path (CNF.logProb under tf.variableGrads) computes the same numbers where reads can be sync.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackwardSettings, StepMemory } from '../ode/adjoint_core.js';
import { readNumber, type Reads } from '../ode/host_reads.js';
import type { ResolvedOdeintOptions } from '../ode/options.js';
import { disposeStates, sumOf } from '../ode/state.js';
import { addStats, createStats, type OdeStats } from '../ode/stats.js';
import type { Rng } from '../random.js';
import { standardNormalLogProb } from './base.js';
import type { CnfBlock, JointEnds } from './block.js';
import { batchTangents, type NoiseKind, type TraceMode } from './trace.js';
import { logScale, toFlowSpace, type Standardization } from './standardize.js';

/** What the loss needs of the flow's options. */
export interface LikelihoodSettings {
  readonly trace: TraceMode;
  readonly noise: NoiseKind;
  readonly kineticEnergy: number;
  readonly jacobianNorm: number;
  readonly forward: ResolvedOdeintOptions;
  readonly backward: BackwardSettings;
  /** The flow's standardisation: the batch enters standardised, the loss is reported for x. */
  readonly standardize?: Standardization;
  /** Per block, the forward solve's first step carried between iterations. */
  readonly stepMemory?: readonly StepMemory[];
}

/**
 * L = −mean log p(batch) + λ_k mean k + λ_j mean j and dL/dθ for every block's variables.
 * @returns the loss (read) and the gradients keyed by variable name (the caller owns them)
 */
export function* negativeLogLikelihoodGrads(blocks: readonly CnfBlock[], settings: LikelihoodSettings, batch: tf.Tensor2D, rng: Rng, stats: OdeStats): Reads<{ loss: number; grads: Record<string, tf.Tensor> }> {
  const [rows, dim] = batch.shape;
  const { kineticEnergy, jacobianNorm } = settings;
  const terms = { kinetic: kineticEnergy > 0, jacobian: jacobianNorm > 0 };
  const passes: { block: CnfBlock; v: tf.Tensor3D; ends?: JointEnds }[] = [];
  const grads: Record<string, tf.Tensor> = {};
  let loss: tf.Tensor | undefined;
  let standardized: tf.Tensor | undefined;
  let dz: tf.Tensor | undefined;
  let completed = false;
  try {
    const u = toFlowSpace(batch, settings.standardize);
    if (u !== batch) standardized = u;
    let z: tf.Tensor = u;
    const tangents = batchTangents(settings.trace, settings.noise, dim, blocks.length, rng);
    for (const [b, block] of blocks.entries()) {
      const pass: (typeof passes)[number] = { block, v: tangents(b, rows) };
      passes.push(pass);
      const blockStats = createStats();
      pass.ends = yield* block.jointEndsSteps(z as tf.Tensor2D, pass.v, terms, settings.forward, blockStats, settings.stepMemory?.[b]);
      addStats(stats, blockStats);
      z = pass.ends.end[0];
    }
    const ends = passes.map((p) => p.ends!.end);
    // log p(x) = log N(z) − Σ ℓ(T) (dℓ/dt = −tr); the regularisers are integrals carried beside it.
    loss = tf.tidy(() => {
      let value = tf.add(tf.neg(tf.mean(standardNormalLogProb(z as tf.Tensor2D))), sumOf(ends.map((e) => tf.mean(e[1]))));
      if (terms.kinetic) value = tf.add(value, tf.mul(kineticEnergy, sumOf(ends.map((e) => tf.mean(e[2])))));
      if (terms.jacobian) value = tf.add(value, tf.mul(jacobianNorm, sumOf(ends.map((e) => tf.mean(e[terms.kinetic ? 3 : 2])))));
      return value;
    });
    // dL/dz(T) of the last block: −(1/B) ∂ log N/∂z = z/B; each block's ℓ, k, j enter with 1/B, λ_k/B, λ_j/B.
    dz = tf.div(z, rows);
    for (let b = passes.length - 1; b >= 0; b--) {
      const pass = passes[b];
      const cotangent: tf.Tensor[] = [dz, tf.fill([rows], 1 / rows), ...(terms.kinetic ? [tf.fill([rows], kineticEnergy / rows)] : []), ...(terms.jacobian ? [tf.fill([rows], jacobianNorm / rows)] : [])];
      const ends = pass.ends!;
      pass.ends = undefined; // owned by the sweep from here
      const swept: { dx: tf.Tensor; grads: Record<string, tf.Tensor> } = yield* pass.block.jointGradsSteps(pass.v, terms, ends, cotangent, settings.backward);
      Object.assign(grads, swept.grads);
      dz = swept.dx;
    }
    dz?.dispose();
    const value = (yield* readNumber(loss)) + logScale(settings.standardize);
    completed = true;
    return { loss: value, grads };
  } finally {
    standardized?.dispose();
    for (const pass of passes) {
      pass.v.dispose();
      if (pass.ends) disposeStates(pass.ends.start, pass.ends.end);
    }
    if (!completed) tf.dispose([...Object.values(grads), ...(loss ? [loss] : []), ...(dz ? [dz] : [])]);
  }
}
