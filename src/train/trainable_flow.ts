/**
 * What training needs of a flow. train/ works on this interface and never imports flows/: the CNF
 * builds one over its private state and hands it to {@link fitFlow} (flows → train, one way).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { TangentDynamics } from '../nn/dynamics_net.js';
import type { StepMemory } from '../ode/adjoint_core.js';
import type { Reads } from '../ode/host_reads.js';
import type { OdeStats } from '../ode/stats.js';
import type { Rng } from '../random.js';

export interface TrainableFlow {
  /** The points' dimension. */
  readonly dim: number;
  /** Every trainable variable, in a fixed order (the optimizer's flat order; the network's first). */
  readonly variables: readonly tf.Variable[];
  /**
   * Per block, the first step of maximum likelihood's next forward solve, which each solve leaves for
   * the next (ode/adjoint_core.ts); part of a training state, so a resumed run takes the same steps.
   */
  readonly stepMemory: StepMemory[];
  /**
   * The integration time T of each block (one host read each when trained). Everything here that
   * reads is a generator whose reads a sync or an async driver serves (ode/host_reads.ts).
   */
  endTimes(): Reads<number[]>;
  /**
   * The maximum-likelihood loss of a minibatch, −mean log p plus the flow's regularisers,
   * differentiable by the adjoint (called under tf.variableGrads); fills the solves' statistics.
   * Its solves read synchronously: where that is not possible, {@link negativeLogLikelihoodGrads}.
   */
  negativeLogLikelihood(batch: tf.Tensor2D, rng: Rng, stats: OdeStats, backwardStats: OdeStats): tf.Scalar;
  /**
   * The same loss and its gradients (keyed by variable name) by the adjoint without a tape, reads
   * yielded: maximum likelihood on backends that read asynchronously (WebGPU).
   */
  negativeLogLikelihoodGrads(batch: tf.Tensor2D, rng: Rng, stats: OdeStats, backwardStats: OdeStats): Reads<{ loss: number; grads: Record<string, tf.Tensor> }>;
  /** Host points of the data mapped, in place, to the space the flow works in (its standardisation). */
  toFlowSpace(values: Float32Array): Float32Array;
  /**
   * The field flow matching regresses, with its time span: the single block's network; undefined
   * (with the reason) when the flow has several blocks.
   */
  regressionField(): { net: TangentDynamics; endTime: () => Reads<number> } | { reason: string };
  /** −mean log p of `x` with the exact trace and no gradient (a validation NLL). */
  meanNll(x: tf.Tensor2D): Reads<number>;
  /** The variables' current values (newer weights held by training included). */
  readWeights(): Reads<Float32Array[]>;
  /** Sets the variables to `values` (from {@link TrainableFlow.readWeights}). */
  writeWeights(values: readonly Float32Array[]): void;
  /**
   * Training may hold newer weights than the variables (the kernels' flow-matching step keeps them in
   * its workspace): `write` puts them there, and the flow calls it before anything reads them.
   */
  holdWeights(write: (() => void) | undefined): void;
}
