/**
 * The options of a CNF: one interface with documented defaults (FFJORD's train_toy defaults), one
 * resolver that checks every field. Unknown keys throw.
 */
import { shownValue } from '../shown_value.js';
import type * as tf from '@tensorflow/tfjs-core';
import { InputError, rejectUnknownOptions } from '../errors.js';
import { checkStandardization, type Standardization } from './standardize.js';
import { ACTIVATIONS, type ActivationName } from '../nn/activations.js';
import { LAYERS, type LayerKind } from '../nn/layers.js';
import type { CustomDynamics } from '../nn/vjp_dynamics.js';
import { resolveParams } from '../ode/params.js';
import { METHODS, SOLVERS, type MethodName } from '../ode/solvers.js';
import { MIN_RTOL, rtolTooSmall } from '../ode/options.js';
import type { OdeStats } from '../ode/stats.js';
import { checkSeed } from '../random.js';
import type { NoiseKind, TraceMode } from './trace.js';

/** Options of {@link CNF}'s constructor. */
export interface CnfOptions {
  /** Dimension of the data. */
  dim: number;
  /**
   * Widths of the hidden layers of each block's dynamics network.
   * @defaultValue `[64, 64, 64]`
   */
  hiddenDims?: number[];
  /**
   * Activation between layers.
   * @defaultValue `'tanh'`
   */
  activation?: ActivationName;
  /**
   * Layer kind: FFJORD's `'concatsquash'` or `'concat'`.
   * @defaultValue `'concatsquash'`
   */
  layer?: LayerKind;
  /**
   * How tr(∂F/∂x) is computed in training: `'exact'` (d tangents) or `'hutchinson'` (one noise tangent).
   * `logProb` uses the exact trace unless told otherwise.
   * @defaultValue `'exact'`
   */
  trace?: TraceMode;
  /**
   * Hutchinson noise.
   * @defaultValue `'gaussian'`
   */
  noise?: NoiseKind;
  /**
   * Number of stacked CNF blocks.
   * @defaultValue `1`
   */
  blocks?: number;
  /**
   * Integration time of each block.
   * @defaultValue `0.5`
   */
  T?: number;
  /**
   * Learn T (as T = s², s trainable, like FFJORD, which detaches it; cnfkit really trains it).
   * @defaultValue `true`
   */
  trainT?: boolean;
  /**
   * ODE method of the solves.
   * @defaultValue `'dopri5'`
   */
  method?: MethodName;
  /**
   * Relative tolerance of the solves (forward and adjoint).
   * @defaultValue `1e-5`
   */
  rtol?: number;
  /**
   * Absolute tolerance of the solves (forward and adjoint).
   * @defaultValue `1e-5`
   */
  atol?: number;
  /**
   * The most steps one solve may take (each block's, forward or backward) before it stops with a
   * `MaxStepsError`: a fixed-step method needs T/stepSize.
   * @defaultValue `10000`
   */
  maxSteps?: number;
  /**
   * Step size for fixed-step methods.
   */
  stepSize?: number;
  /**
   * RNODE's kinetic-energy regulariser ∫‖F‖² dt, with this coefficient (0 = off).
   * @defaultValue `0`
   */
  kineticEnergy?: number;
  /**
   * RNODE's Jacobian regulariser ∫‖∂F/∂x‖²_F dt, with this coefficient (0 = off).
   * @defaultValue `0`
   */
  jacobianNorm?: number;
  /**
   * Your own dynamics F(t, x) instead of the built-in network (one block). Traces then come from one
   * VJP per tangent: slower, and for evaluation (logProb, sampling) only, not training. Such a flow
   * cannot be saved.
   */
  dynamics?: CustomDynamics;
  /**
   * Seed of the initial weights.
   * @defaultValue `0`
   */
  seed?: number;
  /**
   * Standardise the data: the flow works on u = (x − mean)/std, so the default training settings
   * suit data of any scale; every method takes and returns x, and log p(x) = log p(u) − Σ log std.
   * Saved with the model. Compute it from your training data, e.g. per-column mean and standard
   * deviation. Points are float32 before they are standardised: for a column with a large offset
   * (Unix times) subtract one in float64 first (the command line standardises in float64).
   */
  standardize?: Standardization;
  /**
   * How the network reads time. `'ffjord'`: F(t, x) with the data at t = 0 and the base at t = T
   * (FFJORD's convention, and cnfkit's training). `'flow-matching'`: the network is a velocity
   * u(s, x) from noise at s = 0 to data at s = 1 (TorchCFM's convention), evaluated at s = 1 − t/T;
   * its last layer carries the −1/T that makes F(t, x) = −u(1 − t/T, x)/T (the PyTorch exporter
   * folds it in). Needs `trainT: false`; runs on tfjs's ops, not cnfkit's kernels.
   * @defaultValue `'ffjord'`
   */
  fieldTime?: 'ffjord' | 'flow-matching';
  /**
   * The most working memory (bytes) one solve may take: `logProb`, `sample`, `toLatent` and
   * `fromLatent` split larger batches into chunks solved one after another (each with its own
   * adaptive steps, so results agree with one solve to the tolerance). Saved with the model: a machine
   * that loads it sets its own with `CNF.load(dir, { memoryLimit })` (`--memory-limit` on the
   * command line).
   * @defaultValue `2 ** 28` (256 MiB)
   */
  memoryLimit?: number;
}

/** {@link CnfOptions} with every default filled in. */
export type ResolvedCnfOptions = Required<Omit<CnfOptions, 'stepSize' | 'dynamics' | 'standardize'>> & Pick<CnfOptions, 'stepSize' | 'dynamics' | 'standardize'>;

export const CNF_DEFAULTS = {
  hiddenDims: [64, 64, 64],
  activation: 'tanh',
  layer: 'concatsquash',
  trace: 'exact',
  noise: 'gaussian',
  blocks: 1,
  T: 0.5,
  trainT: true,
  method: 'dopri5',
  rtol: 1e-5,
  atol: 1e-5,
  kineticEnergy: 0,
  jacobianNorm: 0,
  seed: 0,
  memoryLimit: 2 ** 28,
  fieldTime: 'ffjord',
  maxSteps: 10_000,
} as const;

const KNOWN = ['dim', 'stepSize', 'dynamics', 'standardize', ...Object.keys(CNF_DEFAULTS)];

/** Checks the options of `new CNF` and fills in the defaults. */
export function resolveCnfOptions(options: CnfOptions, fn = 'new CNF'): ResolvedCnfOptions {
  if (options === null || typeof options !== 'object') throw new InputError(fn, 'options', 'must be an object with at least { dim }');
  rejectUnknownOptions(fn, options, KNOWN);
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  if (given.hiddenDims !== undefined && !Array.isArray(given.hiddenDims)) {
    throw new InputError(fn, 'options.hiddenDims', `must be an array of layer widths, e.g. [64, 64, 64], but got ${typeof given.hiddenDims}`);
  }
  const r = { ...CNF_DEFAULTS, ...given, hiddenDims: [...((given.hiddenDims as number[]) ?? CNF_DEFAULTS.hiddenDims)] } as ResolvedCnfOptions;
  const positiveInt = (key: string, v: unknown) => {
    if (!Number.isInteger(v) || (v as number) < 1) throw new InputError(fn, `options.${key}`, `must be a positive integer, but got ${shownValue(v)}`);
  };
  positiveInt('dim', r.dim);
  positiveInt('blocks', r.blocks);
  if (!Array.isArray(r.hiddenDims)) throw new InputError(fn, 'options.hiddenDims', 'must be an array of layer widths');
  r.hiddenDims.forEach((h, i) => positiveInt(`hiddenDims[${i}]`, h));
  const oneOf = (key: keyof ResolvedCnfOptions, allowed: readonly string[]) => {
    if (!allowed.includes(r[key] as string)) {
      throw new InputError(fn, `options.${key}`, `must be one of ${allowed.join(', ')}, but got ${JSON.stringify(r[key])}`);
    }
  };
  oneOf('activation', Object.keys(ACTIVATIONS));
  oneOf('layer', Object.keys(LAYERS));
  oneOf('trace', ['exact', 'hutchinson']);
  oneOf('noise', ['gaussian', 'rademacher']);
  oneOf('method', METHODS);
  oneOf('fieldTime', ['ffjord', 'flow-matching']);
  if (r.fieldTime === 'flow-matching' && r.trainT !== false) {
    throw new InputError(fn, 'options.trainT', "must be false with fieldTime 'flow-matching' (the field's time s = 1 − t/T depends on T)");
  }
  for (const key of ['T', 'rtol', 'atol'] as const) {
    if (!(typeof r[key] === 'number' && r[key] > 0 && Number.isFinite(r[key]))) {
      throw new InputError(fn, `options.${key}`, `must be a positive finite number, but got ${shownValue(r[key])}`);
    }
  }
  // Here, not at the first solve: a flow every method of which would refuse is no flow.
  if (r.rtol < MIN_RTOL) throw new InputError(fn, 'options.rtol', rtolTooSmall(r.rtol));
  positiveInt('maxSteps', r.maxSteps);
  for (const key of ['kineticEnergy', 'jacobianNorm'] as const) {
    if (!(typeof r[key] === 'number' && r[key] >= 0 && Number.isFinite(r[key]))) {
      throw new InputError(fn, `options.${key}`, `must be a finite number ≥ 0, but got ${shownValue(r[key])}`);
    }
  }
  if (typeof r.trainT !== 'boolean') throw new InputError(fn, 'options.trainT', `must be a boolean, but got ${shownValue(r.trainT)}`);
  if (!(typeof r.memoryLimit === 'number' && r.memoryLimit >= 2 ** 20 && Number.isFinite(r.memoryLimit))) {
    throw new InputError(fn, 'options.memoryLimit', `must be a number of bytes ≥ 2 ** 20 (1 MiB), but got ${shownValue(r.memoryLimit)}`);
  }
  if (r.standardize !== undefined) checkStandardization(fn, r.standardize, r.dim);
  if (!(typeof r.seed === 'number' && Number.isFinite(r.seed))) throw new InputError(fn, 'options.seed', `must be a finite number, but got ${shownValue(r.seed)}`);
  if (!SOLVERS[r.method].adaptive && r.stepSize === undefined) {
    throw new InputError(fn, 'options.stepSize', `is needed with the fixed-step method '${r.method}' (each solve spans [0, T])`);
  }
  if (r.stepSize !== undefined && SOLVERS[r.method].adaptive) {
    throw new InputError(fn, 'options.stepSize', `applies to fixed-step methods only; '${r.method}' is adaptive (its steps follow rtol and atol)`);
  }
  if (r.stepSize !== undefined && !(typeof r.stepSize === 'number' && r.stepSize > 0 && Number.isFinite(r.stepSize))) {
    throw new InputError(fn, 'options.stepSize', `must be a finite number > 0, but got ${shownValue(r.stepSize)}`);
  }
  if (r.dynamics !== undefined) {
    if (typeof r.dynamics?.f !== 'function' || r.dynamics.params === undefined) {
      throw new InputError(fn, 'options.dynamics', 'must be { f: (t, x) => F, params } (params: the tf.Variables F uses, or its tfjs-layers model)');
    }
    resolveParams(fn, 'options.dynamics.params', r.dynamics.params);
    if (r.blocks !== 1) throw new InputError(fn, 'options.blocks', `must be 1 with custom dynamics, but got ${r.blocks}`);
  }
  return r;
}

/** Options of {@link CNF.logProb}. */
export interface LogProbOptions {
  /**
   * The trace: `'exact'` or `'hutchinson'` (an unbiased estimate; then `seed` picks the noise).
   * @defaultValue `'exact'`
   */
  trace?: TraceMode;
  /**
   * Seed of the Hutchinson noise.
   * @defaultValue `0`
   */
  seed?: number;
  /** Filled with the forward solves' statistics, summed over blocks. */
  stats?: OdeStats;
  /** Filled with the adjoint solves' statistics when a gradient is taken. */
  backwardStats?: OdeStats;
}

/** Options of {@link CNF.save}. */
export interface SaveOptions {
  /**
   * Write into a folder that holds files cnfkit did not write, replacing only `model.json` and
   * `weights.bin` there (other files are kept).
   * @defaultValue `false`: such a folder is refused and left untouched
   */
  overwrite?: boolean;
}

/** log p(x) and, when regularised, RNODE's integrals, one value per row. */
export interface LogProbTerms {
  /** log p(x) per row. */
  logProb: tf.Tensor1D;
  /** ∫‖F‖² dt per row, when the kinetic regulariser is on. */
  kinetic?: tf.Tensor1D;
  /** ∫‖∂F/∂x‖²_F dt per row (estimated with the trace's tangents), when that regulariser is on. */
  jacobian?: tf.Tensor1D;
}

/** States along the flow, from {@link CNF.trajectory}. */
export interface Trajectory {
  /** The time of each state (from T down to 0 within each block). */
  times: number[];
  /** The states, [times.length, B, dim]. */
  states: tf.Tensor3D;
}

/** Checks {@link LogProbOptions} at the boundary of `CNF.logProb`. */
export function checkLogProbOptions(fn: string, options: LogProbOptions): void {
  if (options === null || typeof options !== 'object') throw new InputError(fn, 'options', `must be an object, but got ${options === null ? 'null' : typeof options}`);
  rejectUnknownOptions(fn, options, ['trace', 'seed', 'stats', 'backwardStats']);
  if (options.trace !== undefined && options.trace !== 'exact' && options.trace !== 'hutchinson') {
    throw new InputError(fn, 'options.trace', `must be one of exact, hutchinson, but got ${JSON.stringify(options.trace)}`);
  }
  if (options.seed !== undefined) checkSeed(fn, 'options.seed', options.seed);
  for (const key of ['stats', 'backwardStats'] as const) {
    if (options[key] !== undefined && (typeof options[key] !== 'object' || options[key] === null)) {
      throw new InputError(fn, `options.${key}`, 'must be an object to fill in (see createStats())');
    }
  }
}

/** Samples and their log-densities, from {@link CNF.sampleWithLogProb}. */
export interface SamplesWithLogProb {
  /** The samples [n, dim]. */
  samples: tf.Tensor2D;
  /** log p of each sample [n], in nats (exact trace). */
  logProb: tf.Tensor1D;
}

/**
 * Saved options as a flow is made from them, so files of earlier versions load: a `stepSize` beside
 * an adaptive method, which cnfkit before 0.2's check ignored (and saved), is dropped; an `rtol`
 * below float32's floor (1e-7, refused since 0.2; FFJORD runs exported with a smaller one) is
 * raised to it, which its solves honoured at best anyway.
 */
export function savedCnfOptions(options: CnfOptions): CnfOptions {
  if (options === null || typeof options !== 'object') return options;
  let adapted = options;
  if (typeof adapted.rtol === 'number' && adapted.rtol > 0 && adapted.rtol < MIN_RTOL) adapted = { ...adapted, rtol: MIN_RTOL };
  if (adapted.stepSize === undefined) return adapted;
  const method = adapted.method ?? CNF_DEFAULTS.method;
  if (!(Object.hasOwn(SOLVERS, method) && SOLVERS[method].adaptive)) return adapted;
  const { stepSize: _ignored, ...rest } = adapted;
  return rest;
}

/** The most floats one tensor is allowed here (2 GiB: tfjs's wasm heap holds at most 4). */
export const MAX_TENSOR_FLOATS = 2 ** 29;

/**
 * Each layer's weight matrix is one tensor: past 2^29 floats (2 GiB) it cannot be allocated. Checked
 * when a flow is built (a loaded file's size is judged first against its `maxParameters`).
 */
export function checkLayerSizes(fn: string, options: ResolvedCnfOptions): void {
  const widths = [options.dim, ...options.hiddenDims, options.dim];
  for (let i = 1; i < widths.length; i++) {
    if (widths[i - 1] * widths[i] > MAX_TENSOR_FLOATS) {
      throw new InputError(fn, 'options.hiddenDims', `make a ${widths[i - 1]} × ${widths[i]} weight matrix, more than one tensor holds (2^29 floats, 2 GiB)`);
    }
  }
}
