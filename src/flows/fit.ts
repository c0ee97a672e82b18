/**
 * Maximum-likelihood training of a CNF: Adam (with L2 weight decay and ε = 1e-8, as PyTorch's Adam) on
 * −mean log p(batch) + RNODE's regularisers, gradients by the adjoint method, seeded minibatches and
 * Hutchinson noise.
 */
import * as tf from '@tensorflow/tfjs';
import { DivergenceError, InputError } from '../errors.js';
import { createStats, type OdeStats } from '../ode/stats.js';
import { Rng, type RngState } from '../random.js';
import type { CNF } from './cnf.js';
import { checkPoints, hostPoints } from './check_points.js';
import { drawRegressionProblem, type Coupling } from './flow_matching.js';
import { FlatAdam, type FlatAdamState } from '../train/flat_adam.js';

/** Training data: a fixed set of points [N, dim] (minibatches drawn with replacement), or a sampler. */
export type TrainingData = tf.Tensor2D | ((batchSize: number, iteration: number) => tf.Tensor2D);

/** One iteration's figures, as passed to `onProgress` and kept in the report. */
export interface IterationRecord {
  /** 1-based iteration number. */
  iteration: number;
  /** The training loss (−mean log p plus regularisers) of the minibatch. */
  loss: number;
  /** Evaluations of the dynamics in the forward solves. */
  nfeForward: number;
  /** Evaluations of the augmented dynamics in the adjoint solves. */
  nfeBackward: number;
  /** Wall-clock seconds of training so far. */
  seconds: number;
  /** The integration time T of each block after the update. */
  endTimes: number[];
}

/** Options of {@link CNF.fit}. */
export interface FitOptions {
  /** Number of optimizer steps. */
  iterations: number;
  /**
   * Minibatch size. Minibatches of a fixed data set are drawn with replacement, so it may exceed the
   * number of points (a sampler is called with this size).
   * @defaultValue `100`
   */
  batchSize?: number;
  /**
   * Adam's learning rate.
   * @defaultValue `1e-3`
   */
  learningRate?: number;
  /**
   * L2 weight decay added to the gradients (PyTorch Adam's `weight_decay`).
   * @defaultValue `1e-5`
   */
  weightDecay?: number;
  /**
   * Seed of the minibatches and the Hutchinson noise.
   * @defaultValue `0`
   */
  seed?: number;
  /**
   * The training objective: `'maximum-likelihood'` (FFJORD: −log p through the adjoint) or
   * `'flow-matching'` (regression of the field onto straight noise–data paths; no ODE solve, much
   * faster; one block only, T fixed).
   * @defaultValue `'maximum-likelihood'`
   */
  objective?: Objective;
  /**
   * Flow matching: standard deviation of the Gaussian around each straight path.
   * @defaultValue `0.1`
   */
  sigma?: number;
  /**
   * Flow matching: pair noise with data independently, or by exact optimal transport on each
   * minibatch (straighter paths, fewer evaluations when sampling; an O(batch³) assignment per step:
   * ~8 ms at 256 points, ~0.5 s at 1024 on one CPU core).
   * @defaultValue `'independent'`
   */
  coupling?: Coupling;
  /**
   * Called after every iteration. Read the weights through the flow (its methods,
   * `trainableVariables`): while flow matching trains on cnfkit's wasm kernels they are brought up
   * to date when read, not after every step.
   */
  onProgress?: (record: IterationRecord) => void;
  /** Stops training after the current iteration when aborted (e.g. on Ctrl-C); the report says so. */
  signal?: AbortSignal;
  /** Call `onCheckpoint` every this many iterations (and when stopped by `signal`). */
  checkpointEvery?: number;
  /** Receives the state to save; `fit` waits for it, so a checkpoint is complete before training goes on. */
  onCheckpoint?: (state: TrainingState) => Promise<void> | void;
  /** A state from `onCheckpoint` to continue from: the run then gives exactly the numbers of an uninterrupted one. */
  resume?: TrainingState;
}

/**
 * Everything needed to continue training exactly: the iteration reached, the random stream, the
 * optimizer's moments (by variable position) and the history so far. The flow's weights are saved
 * beside it.
 */
export interface TrainingState {
  /** Iterations completed. */
  iteration: number;
  /** The state of the minibatch and noise generator. */
  rng: RngState;
  /** Adam's step count and its flat first and second moments (over the flow's variables, in order). */
  optimizer: SavedTensor[];
  /** The records of the iterations so far. */
  history: IterationRecord[];
}

/** What `fit` minimises. */
export type Objective = 'maximum-likelihood' | 'flow-matching';

/** A tensor's values on the host, with its shape. */
export interface SavedTensor {
  /** The tensor's shape. */
  shape: number[];
  /** Its values, row-major. */
  values: Float32Array;
}

/** What {@link CNF.fit} returns. */
export interface FitReport {
  /** One record per iteration (including those before a resume). */
  history: IterationRecord[];
  /** Wall-clock seconds of this call. */
  seconds: number;
  /** Whether `signal` stopped training before `iterations`. */
  stopped: boolean;
}

export async function fitCnf(flow: CNF, data: TrainingData, options: FitOptions): Promise<FitReport> {
  const fn = 'CNF.fit';
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new InputError(fn, 'options', `must be an object with at least { iterations }, but got ${options === null ? 'null' : typeof options}`);
  }
  const known = ['iterations', 'batchSize', 'learningRate', 'weightDecay', 'seed', 'objective', 'sigma', 'coupling', 'onProgress', 'signal', 'checkpointEvery', 'onCheckpoint', 'resume'];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new InputError(fn, `options.${key}`, `is not an option; known options are ${known.join(', ')}`);
  }
  const { iterations, batchSize = 100, learningRate = 1e-3, weightDecay = 1e-5, seed = 0, onProgress } = options;
  const { objective = 'maximum-likelihood', sigma = 0.1, coupling = 'independent' } = options;
  if (objective !== 'maximum-likelihood' && objective !== 'flow-matching') {
    throw new InputError(fn, 'options.objective', `must be 'maximum-likelihood' or 'flow-matching', but got ${JSON.stringify(objective)}`);
  }
  if (coupling !== 'independent' && coupling !== 'ot') throw new InputError(fn, 'options.coupling', `must be 'independent' or 'ot', but got ${JSON.stringify(coupling)}`);
  if (!(sigma >= 0 && Number.isFinite(sigma))) throw new InputError(fn, 'options.sigma', `must be a finite number ≥ 0, but got ${sigma}`);
  if (objective === 'flow-matching' && flow.options.blocks !== 1) {
    throw new InputError(fn, 'options.objective', `'flow-matching' trains one block, but the flow has ${flow.options.blocks}`);
  }
  if (!Number.isInteger(iterations) || iterations < 1) throw new InputError(fn, 'options.iterations', `must be a positive integer, but got ${iterations}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(fn, 'options.batchSize', `must be a positive integer, but got ${batchSize}`);
  if (!(learningRate > 0)) throw new InputError(fn, 'options.learningRate', `must be positive, but got ${learningRate}`);
  if (!(weightDecay >= 0)) throw new InputError(fn, 'options.weightDecay', `must be ≥ 0, but got ${weightDecay}`);
  if (data instanceof tf.Tensor) {
    if (data.rank !== 2 || data.shape[1] !== flow.options.dim) {
      throw new InputError(fn, 'data', `must be a tf.Tensor2D of shape [N, ${flow.options.dim}], but has shape [${data.shape}]`);
    }
    if (data.shape[0] === 0) throw new InputError(fn, 'data', 'must hold at least one point, but is empty');
    checkPoints(fn, 'data', data, flow.options.dim);
  } else if (typeof data !== 'function') {
    throw new InputError(fn, 'data', `must be a tf.Tensor2D or a function (batchSize, iteration) => tf.Tensor2D, but got ${typeof data}`);
  }

  const { resume, signal, checkpointEvery, onCheckpoint } = options;
  let rng: Rng;
  try {
    rng = new Rng(`fit:${seed}`, resume?.rng);
  } catch (e) {
    throw new InputError(fn, 'options.resume', `does not fit this version: ${(e as Error).message}`);
  }
  const variables = flow.trainableVariables;
  // Flow matching runs whole steps on cnfkit's wasm kernels when they can run the network.
  const kernels = objective === 'flow-matching' ? flow.flowMatchingKernels(batchSize, { learningRate, weightDecay }) : undefined;
  const optimizer = kernels ? undefined : new FlatAdam(variables, learningRate, weightDecay);
  const optimizerHost = { state: () => (kernels ? kernels.optimizerState() : optimizer!.state()), restore: (s: FlatAdamState) => (kernels ? kernels.restoreOptimizer(s) : optimizer!.restore(s)) };
  if (resume) {
    try {
      restoreOptimizer(optimizerHost, resume);
    } catch (e) {
      optimizer?.dispose();
      throw e;
    }
  }
  const { kineticEnergy, jacobianNorm } = flow.options;
  const dim = flow.options.dim;
  const endTime = objective === 'flow-matching' ? flow.endTimes()[0] : 0; // flow matching does not train T
  const hostData = kernels && data instanceof tf.Tensor ? hostPoints(fn, 'data', data, dim) : undefined;
  const history: IterationRecord[] = resume ? [...resume.history] : [];
  const offsetSeconds = history.length ? history[history.length - 1].seconds : 0;
  const started = performance.now();
  const state = async (iteration: number): Promise<TrainingState> => ({
    iteration,
    rng: rng.state(),
    optimizer: optimizerState(optimizerHost.state()),
    history: [...history],
  });

  /** One flow-matching step on the kernels: the loss, and whether the update was applied. */
  const kernelIteration = (iteration: number): { loss: number; applied: boolean } => {
    let x: Float32Array;
    if (hostData) {
      const rows = rng.integers(batchSize, hostData.length / dim);
      x = new Float32Array(batchSize * dim);
      rows.forEach((row, i) => x.set(hostData.subarray(row * dim, (row + 1) * dim), i * dim));
    } else {
      const batch = (data as (b: number, i: number) => tf.Tensor2D)(batchSize, iteration);
      try {
        x = hostPoints(fn, 'data', batch, dim);
      } finally {
        if (batch instanceof tf.Tensor) batch.dispose();
      }
      if (x.length > batchSize * dim) throw new InputError(fn, 'data', `sampler returned ${x.length / dim} points, more than batchSize ${batchSize}`);
    }
    const rows = x.length / dim;
    const problem = drawRegressionProblem(x, rows, dim, endTime, sigma, coupling, rng);
    const loss = kernels!.lossAndGradients(problem.s, problem.xs, problem.target, rows);
    const applied = Number.isFinite(loss) && kernels!.applyAdam();
    if (applied) flow.deferWeights(() => kernels!.writeVariables());
    return { loss, applied };
  };

  /** One iteration on tfjs: the loss, and whether the update was applied. */
  const tensorIteration = (iteration: number, stats: OdeStats, backwardStats: OdeStats): { loss: number; applied: boolean } => {
    const batch = data instanceof tf.Tensor ? tf.tidy(() => tf.gather(data, tf.tensor1d(rng.integers(batchSize, data.shape[0]), 'int32'))) : data(batchSize, iteration);
    try {
      // A sampler's minibatch is checked here, so a bad one is named as fit's data, not logProb's x.
      if (!(data instanceof tf.Tensor)) checkPoints(fn, 'data', batch, dim);
      return tensorStep(batch, stats, backwardStats);
    } finally {
      if (batch instanceof tf.Tensor) batch.dispose();
    }
  };

  const tensorStep = (batch: tf.Tensor2D, stats: OdeStats, backwardStats: OdeStats): { loss: number; applied: boolean } => {
    const manual = objective === 'flow-matching' ? flow.flowMatchingGradients(batch, sigma, coupling, rng) : undefined;
    const { value, grads } = manual ? { value: manual.loss, grads: manual.grads } : tf.variableGrads(() => {
      if (objective === 'flow-matching') return flow.flowMatchingLoss(batch, sigma, coupling, rng);
      const terms = flow.logProbTerms(batch, { stats, backwardStats }, rng, true);
      let loss = tf.neg(tf.mean(terms.logProb));
      if (terms.kinetic) loss = tf.add(loss, tf.mul(kineticEnergy, tf.mean(terms.kinetic)));
      if (terms.jacobian) loss = tf.add(loss, tf.mul(jacobianNorm, tf.mean(terms.jacobian)));
      return loss as tf.Scalar;
    }, variables);
    const loss = value.dataSync()[0];
    // Flow matching leaves T without a gradient: it is not updated.
    const applied = Number.isFinite(loss) && optimizer!.apply(grads);
    tf.dispose([value, ...Object.values(grads)]);
    return { loss, applied };
  };

  let stopped = false;
  try {
    for (let iteration = (resume?.iteration ?? 0) + 1; iteration <= iterations; iteration++) {
      const stats = createStats();
      const backwardStats = createStats();
      const { loss, applied } = kernels ? kernelIteration(iteration) : tensorIteration(iteration, stats, backwardStats);
      // A non-finite loss, or an update that would overflow a weight, stops training with the last
      // good weights in place.
      if (!applied) {
        throw new DivergenceError(fn, iteration, loss);
      }
      const record: IterationRecord = {
        iteration,
        loss,
        nfeForward: stats.nfe,
        nfeBackward: backwardStats.nfe,
        seconds: offsetSeconds + (performance.now() - started) / 1000,
        endTimes: kernels ? [endTime] : flow.endTimes(),
      };
      history.push(record);
      onProgress?.(record);
      // Let the event loop breathe (progress output, Ctrl-C) between iterations.
      await yieldToEventLoop();
      stopped = signal?.aborted === true && iteration < iterations;
      const due = checkpointEvery !== undefined && (iteration % checkpointEvery === 0 || iteration === iterations);
      if (onCheckpoint && (due || stopped)) await onCheckpoint(await state(iteration));
      if (stopped) break;
    }
  } finally {
    flow.syncWeights();
    optimizer?.dispose();
  }
  return { history, seconds: (performance.now() - started) / 1000, stopped };
}

/** Puts Adam's step count and moments back (saved as [step], m, v). */
function restoreOptimizer(optimizer: { restore(state: FlatAdamState): void }, state: TrainingState): void {
  const [step, m, v] = state.optimizer;
  try {
    if (!step || !m || !v || state.optimizer.length !== 3) throw new Error(`expected 3 optimizer tensors, got ${state.optimizer.length}`);
    optimizer.restore({ step: step.values[0], m: m.values, v: v.values });
  } catch (e) {
    throw new InputError('CNF.fit', 'options.resume', `does not fit this flow: ${(e as Error).message}`);
  }
}

/** Adam's step count and moments as saved tensors. */
function optimizerState({ step, m, v }: FlatAdamState): TrainingState['optimizer'] {
  return [
    { shape: [1], values: Float32Array.of(step) },
    { shape: [m.length], values: m },
    { shape: [v.length], values: v },
  ];
}

/** setImmediate where it exists (Node), else a zero timeout (browsers). */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => void };
  return new Promise((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}
