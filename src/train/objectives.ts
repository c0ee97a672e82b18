/**
 * The training objectives as objects with a `step`: maximum likelihood (FFJORD: −mean log p of a
 * minibatch through the adjoint, Adam) and flow matching (the regression of the field onto noise–data
 * paths, on the compute path the seam picks). `fit` runs either the same way.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors.js';
import { checkPointValues, checkPointsShape, hostPoints } from '../input_points.js';
import { readNumber, syncReadsAvailable, type Reads } from '../ode/host_reads.js';
import type { AdamState } from '../native/flow_matching_step.js';
import type { OdeStats } from '../ode/stats.js';
import type { Rng } from '../random.js';
import { FlatAdam } from './flat_adam.js';
import { freeingTapeOnThrow } from '../ode/tape_cleanup.js';
import type { ResolvedFitOptions, TrainingData } from './fit_options.js';
import { drawRegressionProblem } from './flow_matching.js';
import { flowMatchingStep } from './flow_matching_step.js';
import type { TrainableFlow } from './trainable_flow.js';

/** One objective being trained. Whatever reads values is a generator (see ode/host_reads.ts). */
export interface TrainingObjective {
  /** One minibatch and one Adam update: the loss, and whether the update was applied (false: it would diverge). */
  step(iteration: number, stats: OdeStats, backwardStats: OdeStats): Reads<{ loss: number; applied: boolean }>;
  /** The integration time of each block now (flow matching does not train T). */
  endTimes(): Reads<number[]>;
  optimizerState(): Reads<AdamState>;
  restoreOptimizer(state: AdamState): void;
  /** Takes the last update back where the objective can (maximum likelihood); false where it cannot. */
  undoLastUpdate(): boolean;
  /** Leaves the trained weights in the flow's variables and frees what the objective holds. */
  finish(): void;
}

/** Everything an objective is built from. */
export interface ObjectiveContext {
  readonly fn: string;
  readonly flow: TrainableFlow;
  readonly data: TrainingData;
  readonly options: ResolvedFitOptions;
  readonly rng: Rng;
}

/** A sampler that hands back one tensor every call finds it disposed on the second: say why. */
function refuseDisposedBatch(fn: string, batch: unknown): void {
  if (batch instanceof tf.Tensor && batch.isDisposed) {
    throw new InputError(fn, 'data', 'sampler returned a disposed tensor: fit disposes each batch it is given, so return a new one every call (a slice, or tf.clone)');
  }
}

/** The objective `options.objective` names. */
export function trainingObjective(context: ObjectiveContext): TrainingObjective {
  return context.options.objective === 'flow-matching' ? flowMatching(context) : maximumLikelihood(context);
}

function maximumLikelihood({ fn, flow, data, options, rng }: ObjectiveContext): TrainingObjective {
  const optimizer = new FlatAdam(flow.variables, options.learningRate, options.weightDecay);
  const { batchSize } = options;
  return {
    *step(iteration, stats, backwardStats) {
      const batch = data instanceof tf.Tensor ? tf.tidy(() => tf.gather(data, tf.tensor1d(rng.integers(batchSize, data.shape[0]), 'int32'))) : data(batchSize, iteration);
      try {
        // A sampler's minibatch is checked here, so a bad one is named as fit's data, not logProb's x.
        if (!(data instanceof tf.Tensor)) {
          refuseDisposedBatch(fn, batch);
          checkPointsShape(fn, 'data', batch, flow.dim);
          // As flow matching does: the batch size is batchSize's, whatever the sampler makes.
          if (batch.shape[0] > batchSize) throw new InputError(fn, 'data', `sampler returned ${batch.shape[0]} points, more than batchSize ${batchSize}`);
          yield* checkPointValues(fn, 'data', batch);
        }
        let loss: number;
        let grads: Record<string, tf.Tensor>;
        if (syncReadsAvailable()) {
          // The tape through the adjoint's custom gradient (its solves read synchronously).
          // In a tidy: a backward solve that fails must not leave the forward's value behind either.
          const taped = freeingTapeOnThrow(() => tf.tidy(() => tf.variableGrads(() => flow.negativeLogLikelihood(batch as tf.Tensor2D, rng, stats, backwardStats), [...flow.variables])), true);
          grads = taped.grads;
          loss = yield* readNumber(taped.value);
        } else {
          ({ loss, grads } = yield* flow.negativeLogLikelihoodGrads(batch as tf.Tensor2D, rng, stats, backwardStats));
        }
        try {
          const applied = Number.isFinite(loss) && (yield* optimizer.apply(grads));
          return { loss, applied };
        } finally {
          tf.dispose(Object.values(grads));
        }
      } finally {
        if (batch instanceof tf.Tensor) batch.dispose();
      }
    },
    endTimes: () => flow.endTimes(),
    optimizerState: () => optimizer.state(),
    restoreOptimizer: (state) => optimizer.restore(state),
    undoLastUpdate: () => optimizer.undo(),
    finish: () => optimizer.dispose(),
  };
}

function flowMatching({ fn, flow, data, options, rng }: ObjectiveContext): TrainingObjective {
  const field = flow.regressionField();
  if ('reason' in field) throw new InputError(fn, 'options.objective', `'flow-matching' ${field.reason}`);
  const { batchSize, sigma, coupling } = options;
  const dim = flow.dim;
  const stepper = flowMatchingStep(field.net, flow.variables, batchSize, { learningRate: options.learningRate, weightDecay: options.weightDecay });
  let hostData: Float32Array | undefined;
  // Flow matching does not train T: read once, at the first step.
  let T: number | undefined;
  const write = () => stepper.writeVariables();
  return {
    *step(iteration) {
      T ??= yield* field.endTime();
      // The field is regressed in the flow's own (standardised) space.
      if (data instanceof tf.Tensor) hostData ??= flow.toFlowSpace(yield* hostPoints(fn, 'data', data, dim));
      let x: Float32Array;
      if (hostData) {
        const rows = rng.integers(batchSize, hostData.length / dim);
        x = new Float32Array(batchSize * dim);
        // A plain copy: a subarray per row took ~85 µs of a ~2 ms step at batch 1024, this ~28.
        for (let i = 0; i < batchSize; i++) for (let j = 0, from = rows[i] * dim; j < dim; j++) x[i * dim + j] = hostData[from + j];
      } else {
        const batch = (data as (b: number, i: number) => tf.Tensor2D)(batchSize, iteration);
        try {
          refuseDisposedBatch(fn, batch);
          x = flow.toFlowSpace(yield* hostPoints(fn, 'data', batch, dim));
        } finally {
          if (batch instanceof tf.Tensor) batch.dispose();
        }
        if (x.length > batchSize * dim) throw new InputError(fn, 'data', `sampler returned ${x.length / dim} points, more than batchSize ${batchSize}`);
      }
      const rows = x.length / dim;
      const problem = drawRegressionProblem(x, rows, dim, T, sigma, coupling, rng);
      const loss = yield* stepper.lossAndGradients(problem, rows);
      const applied = Number.isFinite(loss) && (yield* stepper.applyAdam());
      // The kernels keep the weights in their workspace; the flow fetches them when it reads them.
      if (applied && stepper.holdsWeights) flow.holdWeights(write);
      return { loss, applied };
    },
    *endTimes() {
      T ??= yield* field.endTime();
      return [T];
    },
    optimizerState: () => stepper.optimizerState(),
    restoreOptimizer: (state) => stepper.restoreOptimizer(state),
    // Its kernels step keeps no previous weights: a validation that fails after an update returns to
    // the last weights that solved instead (fit.ts).
    undoLastUpdate: () => false,
    finish() {
      if (stepper.holdsWeights) {
        stepper.writeVariables();
        flow.holdWeights(undefined);
      }
      stepper.dispose();
    },
  };
}
