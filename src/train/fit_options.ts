/**
 * The options of `fit`, their defaults (written once, here) and their checks, and what training
 * reports and saves.
 */
import { shownValue } from '../shown_value.js';
import * as tf from '@tensorflow/tfjs-core';
import { InputError, rejectUnknownOptions } from '../errors.js';
import { checkPointValues, checkPointsShape } from '../input_points.js';
import type { Reads } from '../ode/host_reads.js';
import type { RngState } from '../random.js';
import type { Coupling } from './flow_matching.js';

/**
 * Training data: a fixed set of points [N, dim] (minibatches drawn with replacement), or a sampler
 * of a fresh minibatch per iteration. fit owns what the sampler returns and disposes it after the
 * iteration: return a new tensor each time (`tf.clone` one you keep).
 */
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
  /** −mean log p of `validation` (exact trace) after this iteration's update, on the iterations it is measured. */
  validationNll?: number;
}

/** Options of `CNF.fit`. */
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
   * Flow matching: standard deviation of the Gaussian around each straight path (refused for
   * maximum likelihood, which has none).
   * @defaultValue `0.1`
   */
  sigma?: number;
  /**
   * Flow matching: pair noise with data independently, or by exact optimal transport on each
   * minibatch (straighter paths, fewer evaluations when sampling; an O(batch³) assignment per step:
   * ~8 ms at 256 points, ~0.5 s at 1024 on one CPU core). Refused for maximum likelihood.
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
  /** Call `onCheckpoint` every this many iterations, at the last, and when stopped by `signal` (nothing without it). */
  checkpointEvery?: number;
  /** Receives the state to save; `fit` waits for it, so a checkpoint is complete before training goes on. */
  onCheckpoint?: (state: TrainingState) => Promise<void> | void;
  /** A state from `onCheckpoint` to continue from: the run then gives exactly the numbers of an uninterrupted one. */
  resume?: TrainingState;
  /**
   * Held-out points [M, dim]: their NLL (exact trace) is measured every `validateEvery` iterations
   * and after the last, reported in the iteration's record (`validationNll`) and used by `keepBest`
   * and `patience`.
   */
  validation?: tf.Tensor2D;
  /**
   * Iterations between validations.
   * @defaultValue a tenth of `iterations` (at least 1)
   */
  validateEvery?: number;
  /**
   * With `validation`: end with the weights of the best validation NLL seen in this call, not the
   * last. A run stopped by `signal` keeps its last weights (those of its checkpoint, to resume from;
   * the report's `best` says which was best). The best so far is not part of a checkpoint: after a
   * resume it is the best since the resume (and `patience` counts from there), the one exception to a
   * resumed run's bit-exact numbers.
   * @defaultValue `true` when `validation` is given
   */
  keepBest?: boolean;
  /**
   * With `validation`: stop after this many validations in a row without a better NLL (early
   * stopping); the report says so.
   * @defaultValue never
   */
  patience?: number;
}

/**
 * Everything needed to continue training exactly: the iteration reached, the random stream, the
 * optimizer's moments (by variable position) and the history so far. The flow's weights are saved
 * beside it (`flow.save`). To keep it as JSON, write each `optimizer[i].values` with `Array.from`
 * (JSON has no Float32Array); `fit` takes them back as arrays of numbers.
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
  /**
   * Per block, the first step of maximum likelihood's next forward solve (null: none yet; the
   * initial-step heuristic picks it). States written before 0.2 lack it: the first resumed solve
   * then starts with the heuristic's step.
   */
  firstSteps?: (number | null)[];
}

/** What `fit` minimises. */
export type Objective = 'maximum-likelihood' | 'flow-matching';

/** A tensor's values on the host, with its shape. */
export interface SavedTensor {
  /** The tensor's shape. */
  shape: number[];
  /** Its values, row-major (given back to `fit`, an array of numbers will do: JSON has no Float32Array). */
  values: Float32Array | number[];
}

/** What `CNF.fit` returns. */
export interface FitReport {
  /** One record per iteration (including those before a resume). */
  history: IterationRecord[];
  /** Wall-clock seconds of this call. */
  seconds: number;
  /** Whether `signal` stopped training before `iterations`. */
  stopped: boolean;
  /** Whether `patience` ran out before `iterations`. */
  stoppedEarly: boolean;
  /** With `validation`: the best validation NLL of this call and its iteration. */
  best?: BestValidation;
}

/** The best validation NLL of a `fit` call. */
export interface BestValidation {
  /** The iteration after which it was measured. */
  iteration: number;
  /** −mean log p of the validation points (exact trace). */
  validationNll: number;
}

/** The defaults of {@link FitOptions}. */
export const FIT_DEFAULTS = {
  batchSize: 100,
  learningRate: 1e-3,
  weightDecay: 1e-5,
  seed: 0,
  objective: 'maximum-likelihood',
  sigma: 0.1,
  coupling: 'independent',
} as const;

/** {@link FitOptions} with every default filled in. */
export type ResolvedFitOptions = Omit<FitOptions, keyof typeof FIT_DEFAULTS> & {
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  seed: number;
  objective: Objective;
  sigma: number;
  coupling: Coupling;
};

const KNOWN = ['iterations', 'onProgress', 'signal', 'checkpointEvery', 'onCheckpoint', 'resume', 'validation', 'validateEvery', 'keepBest', 'patience', ...Object.keys(FIT_DEFAULTS)];

/**
 * Checks `fit`'s data and options (one host read of a fixed data set, for NaN/Inf) and fills in the
 * defaults.
 * @throws InputError naming the argument
 */
export function resolveFitOptions(fn: string, data: unknown, options: unknown, dim: number): ResolvedFitOptions {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new InputError(fn, 'options', `must be an object with at least { iterations }, but got ${options === null ? 'null' : typeof options}`);
  }
  rejectUnknownOptions(fn, options, KNOWN);
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...FIT_DEFAULTS, ...given } as ResolvedFitOptions;
  if (o.objective !== 'maximum-likelihood' && o.objective !== 'flow-matching') {
    throw new InputError(fn, 'options.objective', `must be 'maximum-likelihood' or 'flow-matching', but got ${JSON.stringify(o.objective)}`);
  }
  if (o.coupling !== 'independent' && o.coupling !== 'ot') throw new InputError(fn, 'options.coupling', `must be 'independent' or 'ot', but got ${JSON.stringify(o.coupling)}`);
  // Flow matching's own settings, given for maximum likelihood, would be ignored without a word.
  for (const key of ['sigma', 'coupling'] as const) {
    if (o.objective === 'maximum-likelihood' && key in given) throw new InputError(fn, `options.${key}`, "applies to objective 'flow-matching' only; maximum likelihood has no path noise or pairing");
  }
  if (!(o.sigma >= 0 && Number.isFinite(o.sigma))) throw new InputError(fn, 'options.sigma', `must be a finite number ≥ 0, but got ${o.sigma}`);
  if (!Number.isInteger(o.iterations) || o.iterations < 1) throw new InputError(fn, 'options.iterations', `must be a positive integer, but got ${o.iterations}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new InputError(fn, 'options.batchSize', `must be a positive integer, but got ${o.batchSize}`);
  if (!(o.learningRate > 0 && Number.isFinite(o.learningRate))) throw new InputError(fn, 'options.learningRate', `must be a finite number > 0, but got ${shownValue(o.learningRate)}`);
  if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay))) throw new InputError(fn, 'options.weightDecay', `must be a finite number ≥ 0, but got ${shownValue(o.weightDecay)}`);
  if (!(typeof o.seed === 'number' && Number.isFinite(o.seed))) throw new InputError(fn, 'options.seed', `must be a finite number, but got ${shownValue(o.seed)}`);
  for (const key of ['onProgress', 'onCheckpoint'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'function') throw new InputError(fn, `options.${key}`, `must be a function, but got ${shownValue(o[key])}`);
  }
  const signal = o.signal as unknown;
  if (signal !== undefined && !(signal !== null && typeof signal === 'object' && typeof (signal as AbortSignal).aborted === 'boolean')) {
    throw new InputError(fn, 'options.signal', `must be an AbortSignal (e.g. new AbortController().signal), but got ${shownValue(signal)}`);
  }
  if (data instanceof tf.Tensor) {
    if (data.rank !== 2 || data.shape[1] !== dim) throw new InputError(fn, 'data', `must be a tf.Tensor2D of shape [N, ${dim}], but has shape [${data.shape}]`);
    if (data.shape[0] === 0) throw new InputError(fn, 'data', 'must hold at least one point, but is empty');
    checkPointsShape(fn, 'data', data, dim);
  } else if (typeof data !== 'function') {
    throw new InputError(fn, 'data', `must be a tf.Tensor2D or a function (batchSize, iteration) => tf.Tensor2D, but got ${typeof data}`);
  }
  // The values (finite) are checked by fit, whose reads are awaited (WebGPU): checkFitValues.
  if (o.validation !== undefined) checkPointsShape(fn, 'options.validation', o.validation, dim);
  const needsValidation = (key: 'validateEvery' | 'keepBest' | 'patience') => {
    if (o[key] !== undefined && o.validation === undefined) throw new InputError(fn, `options.${key}`, 'needs options.validation (the held-out points it is measured on)');
  };
  (['validateEvery', 'keepBest', 'patience'] as const).forEach(needsValidation);
  for (const key of ['validateEvery', 'patience', 'checkpointEvery'] as const) {
    if (o[key] !== undefined && (!Number.isInteger(o[key]) || o[key]! < 1)) throw new InputError(fn, `options.${key}`, `must be a positive integer, but got ${o[key]}`);
  }
  if (o.keepBest !== undefined && typeof o.keepBest !== 'boolean') throw new InputError(fn, 'options.keepBest', `must be a boolean, but got ${JSON.stringify(o.keepBest)}`);
  if (o.resume !== undefined) checkResume(fn, o.resume);
  return o;
}

/** A resume state's shape (its numbers are checked where they are used: the generator, Adam). */
function checkResume(fn: string, resume: unknown): void {
  const fail = (problem: string) => new InputError(fn, 'options.resume', `${problem}; pass a state from onCheckpoint`);
  if (resume === null || typeof resume !== 'object') throw fail('must be a training state object');
  const r = resume as Partial<TrainingState>;
  if (!Number.isInteger(r.iteration) || r.iteration! < 0) throw fail(`has iteration ${String(r.iteration)}, not an integer ≥ 0`);
  if (!Array.isArray(r.history) || r.history.length !== r.iteration || !r.history.every((h) => h !== null && typeof h === 'object' && Number.isFinite(h.seconds))) {
    throw fail(`must hold one iteration record per completed iteration (${r.iteration})`);
  }
  // JSON turns a Float32Array into an object keyed "0", "1", …: say so, rather than a count of undefined values.
  (Array.isArray(r.optimizer) ? r.optimizer : []).forEach((saved, i) => {
    const values = saved?.values as unknown;
    if (!(values instanceof Float32Array || (Array.isArray(values) && values.every((v) => typeof v === 'number' && Number.isFinite(v))))) {
      const what = values !== null && typeof values === 'object' ? 'a plain object (a Float32Array after JSON.stringify)' : String(values);
      throw fail(`has optimizer[${i}].values ${what}, not a Float32Array or an array of numbers; to store a state as JSON write each values with Array.from(values)`);
    }
  });
  const [step] = Array.isArray(r.optimizer) ? r.optimizer : [];
  const stepValue = step?.values?.[0];
  if (!Array.isArray(r.optimizer) || r.optimizer.length !== 3 || !(Number.isInteger(stepValue) && stepValue! >= 0)) {
    throw fail("must hold Adam's state as three saved tensors (step, m, v) with a step count ≥ 0");
  }
  if (r.firstSteps !== undefined && !(Array.isArray(r.firstSteps) && r.firstSteps.every((h) => h === null || (typeof h === 'number' && Number.isFinite(h) && h > 0)))) {
    throw fail('has firstSteps that are not an array of positive numbers or nulls');
  }
}

/** The read half of the checks on fit's points: `data` (a fixed set) and `validation` are finite. */
export function* checkFitValues(fn: string, data: TrainingData, options: ResolvedFitOptions): Reads<void> {
  if (data instanceof tf.Tensor) yield* checkPointValues(fn, 'data', data);
  if (options.validation !== undefined) yield* checkPointValues(fn, 'options.validation', options.validation);
}
