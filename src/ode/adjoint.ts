/**
 * `odeintAdjoint`: `odeint` whose gradients come from the adjoint sensitivity method (Chen et al.
 * 2018, Algorithm 1 and Appendix B.2): the augmented state [z, a, a_θ, a_t] is integrated backwards,
 * interval by interval between output times, so memory does not grow with the number of solver steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import { freeingTapeOnThrow } from './tape_cleanup.js';
import { InputError } from '../errors.js';
import { checkFiniteOutputs, checkInitialState, checkInitialValues, outputTimes, stateDynamics, type Dynamics } from './checks.js';
import { runSync } from './host_reads.js';
import { adjointSolve, type BackwardSettings } from './adjoint_core.js';
import { MIN_RTOL, rejectInapplicableOptions, resolveOdeintOptions, rtolTooSmall, type OdeintOptions, type ResolvedOdeintOptions } from './options.js';
import { METHODS, SOLVERS, type MethodName } from './solvers.js';
import { outsideTape } from './vjp.js';
import { resolveParams, type Params } from './params.js';
import { createStats, resetStats, type OdeStats } from './stats.js';

/** Options of {@link odeintAdjoint}: those of {@link odeint} plus the backward solve's. */
export interface OdeintAdjointOptions extends OdeintOptions {
  /**
   * Every variable the dynamics use; their gradients come from the adjoint solve. tf.Variables, or a
   * tfjs-layers model or layer (its trainable weights), or `model.trainableWeights`, or a list mixing
   * these. Pass `[]` if none.
   */
  params: Params;
  /**
   * Method of the backward (augmented) solve. An implicit one iterates by fixed point there (Newton
   * would need second derivatives of f), so a stiff forward solve takes an explicit adjointMethod
   * with `adjointCheckpoints: true` (guide: Gradients, stiff problems).
   * @defaultValue the forward `method`
   */
  adjointMethod?: MethodName;
  /**
   * Relative tolerance of the backward solve.
   * @defaultValue the forward `rtol`
   */
  adjointRtol?: number;
  /**
   * Absolute tolerance of the backward solve.
   * @defaultValue the forward `atol`
   */
  adjointAtol?: number;
  /**
   * Step size of a fixed-step `adjointMethod` (rk4, …). Required after an adaptive forward method
   * unless `adjointCheckpoints` is on (its steps then follow the forward solve's); the longest
   * interval between output times gives one step per interval.
   * @defaultValue the forward `stepSize` when the forward method is fixed-step too
   */
  adjointStepSize?: number;
  /**
   * Error norm of the backward solve: `'seminorm'` controls the error of z and a only, not of the
   * parameter and time integrals (Kidger et al. 2021), which cuts backward evaluations; `'full'`
   * controls every component, as torchdiffeq does by default.
   * @defaultValue `'seminorm'`
   */
  adjointNorm?: 'seminorm' | 'full';
  /** An object the backward solves fill with their statistics, summed over intervals. */
  backwardStats?: OdeStats;
  /**
   * Keep the state after every forward step and start each backward segment from it, instead of
   * reconstructing z backwards between output times. For dynamics that are unstable backwards in
   * time (stiff decay forwards), where that reconstruction goes wrong; memory then grows with the
   * number of forward steps (states only, no stages).
   * @defaultValue `false`
   */
  adjointCheckpoints?: boolean;
}

const ADJOINT_KEYS = ['params', 'adjointMethod', 'adjointRtol', 'adjointAtol', 'adjointStepSize', 'adjointNorm', 'backwardStats', 'adjointCheckpoints'];

/**
 * Solves dy/dt = f(t, y) like {@link odeint}; gradients of anything computed from the result reach
 * `y0`, `ts` (when it is a tensor) and every variable in `options.params`, computed by the adjoint
 * method:
 *
 *   da/dt = −aᵀ ∂f/∂z,  da_θ/dt = −aᵀ ∂f/∂θ,  da_t/dt = −aᵀ ∂f/∂t,
 *
 * integrated backwards from a(t_N) = ∂L/∂z(t_N), adding ∂L/∂z(t_i) at each output time. Only the
 * states at the output times are kept, so memory does not grow with the number of steps. Each
 * backward evaluation costs one evaluation of f and one vector–Jacobian product.
 *
 * @param f - the dynamics (t, y) => dy/dt; it may use only the variables listed in `options.params`
 * @param y0 - the initial state, a float32 tensor of any shape
 * @param ts - output times, strictly monotonic; pass a tensor to get gradients w.r.t. the times
 * @param options - `params` plus every {@link odeint} option and the backward solve's; see
 *   {@link OdeintAdjointOptions}
 * @returns a tensor of shape [ts.length, ...y0.shape], as {@link odeint}
 * @throws InputError for a bad argument (also when `params` is missing or holds non-variables,
 *   or when f uses a trainable variable not in `params`); the solver errors of {@link odeint}
 * @example
 * ```ts
 * const k = tf.variable(tf.scalar(-0.5));
 * const y0 = tf.tensor1d([1, 2]);
 * const { value, grads } = tf.variableGrads(() =>
 *   odeintAdjoint((t, y) => tf.mul(k, y), y0, [0, 1], { params: [k] }).slice([1], [1]).sum());
 * grads[k.name].print(); // d/dk Σ y0 e^{k} = 3 e^{−0.5} ≈ 1.8196
 * ```
 * @see Chen, Rubanova, Bettencourt & Duvenaud, Neural Ordinary Differential Equations (NeurIPS 2018)
 * @see Kidger, Chen & Lyons, "Hey, that's not an ODE": Faster ODE Adjoints via Seminorms (ICML 2021)
 */
export function odeintAdjoint(f: Dynamics, y0: tf.Tensor, ts: number[] | tf.Tensor1D, options: OdeintAdjointOptions): tf.Tensor {
  const fn = 'odeintAdjoint';
  checkInitialState(fn, y0);
  runSync(fn, checkInitialValues(fn, y0));
  const times = runSync(fn, outputTimes(fn, ts));
  const { forward, params, backward, stats } = resolveAdjointOptions(fn, options);
  const dynamics = stateDynamics(fn, f, y0.shape, stats);
  checkParamsCover(fn, f, y0, ts instanceof tf.Tensor ? ts : undefined, times[0], params);

  // Under a tape, a failed solve (or a non-finite result) must not leave the tape's saved copies behind.
  return freeingTapeOnThrow(() => {
    const packed = adjointSolve([y0], () => (t, [y]) => [f(t, y)], [], times, ts instanceof tf.Tensor ? ts : undefined, params, forward, backward, stats, dynamics);
    const result = tf.tidy(() => packed.reshape([times.length, ...y0.shape]));
    packed.dispose();
    try {
      if (!SOLVERS[forward.method].adaptive) runSync(fn, checkFiniteOutputs(result, times));
    } catch (e) {
      result.dispose();
      throw e;
    }
    return result;
  });
}

/**
 * The forward and backward settings of an adjoint solve, checked, and its statistics reset: shared by
 * {@link odeintAdjoint} and `odeintAdjointGrads`.
 */
export function resolveAdjointOptions(fn: string, options: OdeintAdjointOptions): { forward: ResolvedOdeintOptions; params: tf.Variable[]; backward: BackwardSettings; stats: OdeStats } {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new InputError(fn, 'options', 'must be an object with params (the variables f uses, or the model holding them; [] if none)');
  }
  const forward = resolveOdeintOptions(fn, options, ADJOINT_KEYS);
  rejectInapplicableOptions(fn, options, forward.method);
  const params = resolveParams(fn, 'options.params', options.params);
  const backward = resolveBackward(fn, options, forward);
  const stats = forward.stats ?? createStats();
  resetStats(stats);
  return { forward, params, backward, stats };
}

/**
 * A trainable variable that f uses but `params` leaves out would get no gradient, silently. One VJP
 * at (t0, y0) per dynamics function and list of params finds them: a list holding one that passed
 * for the same f passes too (f uses nothing outside that one); any other list is checked.
 */
const coveredDynamics = new WeakMap<Dynamics, Set<string>[]>();
export function checkParamsCover(fn: string, f: Dynamics, y0: tf.Tensor, ts: tf.Tensor | undefined, t0: number, params: readonly tf.Variable[]): void {
  const listed = new Set(params.map((p) => p.name));
  const passed = coveredDynamics.get(f) ?? [];
  if (passed.some((names) => [...names].every((name) => listed.has(name)))) return;
  // y0 and ts held in tf.Variables (as tf.variableGrads users write them) are inputs, not captures.
  const inputs = new Set<tf.Tensor>([y0, ...(ts ? [ts] : [])]);
  const others = Object.values(tf.engine().registeredVariables).filter((v) => v.trainable && !listed.has(v.name) && !inputs.has(v));
  if (others.length > 0) {
    // A probe beside the caller's computation: kept off any tape that is recording it.
    const used = outsideTape(() =>
      tf.tidy(() => {
        const { grads } = tf.engine().gradients(() => tf.sum(f(tf.scalar(t0), y0)), others, undefined, true);
        return others.filter((_, i) => grads[i] != null).map((v) => v.name);
      }),
    );
    if (used.length > 0) {
      throw new InputError(fn, 'options.params', `must list every variable f uses, but f also uses ${used.map((u) => `'${u}'`).join(', ')}; add them to params (or make them non-trainable)`);
    }
  }
  coveredDynamics.set(f, [...passed, listed]);
}

function resolveBackward(fn: string, options: OdeintAdjointOptions, forward: ResolvedOdeintOptions): BackwardSettings {
  const method = options.adjointMethod ?? forward.method;
  if (!METHODS.includes(method)) {
    throw new InputError(fn, 'options.adjointMethod', `must be one of ${METHODS.join(', ')}, but got ${JSON.stringify(method)}`);
  }
  const norm = options.adjointNorm ?? 'seminorm';
  if (norm !== 'seminorm' && norm !== 'full') {
    throw new InputError(fn, 'options.adjointNorm', `must be 'seminorm' or 'full', but got ${JSON.stringify(norm)}`);
  }
  const { adjointRtol, adjointAtol } = options;
  for (const [key, value] of [['adjointRtol', adjointRtol], ['adjointAtol', adjointAtol]] as const) {
    if (value !== undefined && !(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
      throw new InputError(fn, `options.${key}`, `must be a positive finite number, but got ${String(value)}`);
    }
  }
  if (adjointRtol !== undefined && adjointRtol < MIN_RTOL) throw new InputError(fn, 'options.adjointRtol', rtolTooSmall(adjointRtol));
  if (adjointRtol !== undefined && !(adjointRtol < 1)) throw new InputError(fn, 'options.adjointRtol', `must be below 1 (a fraction of the solution's size), but got ${adjointRtol}`);
  const tolerance = adjointRtol !== undefined ? 'adjointRtol' : adjointAtol !== undefined ? 'adjointAtol' : undefined;
  if (tolerance && !SOLVERS[method].adaptive) throw new InputError(fn, `options.${tolerance}`, `applies to an adaptive adjointMethod; '${method}' is fixed-step (set adjointStepSize)`);
  const { adjointStepSize } = options;
  if (adjointStepSize !== undefined) {
    if (!(typeof adjointStepSize === 'number' && adjointStepSize > 0 && Number.isFinite(adjointStepSize))) {
      throw new InputError(fn, 'options.adjointStepSize', `must be a positive finite number, but got ${String(adjointStepSize)}`);
    }
    if (SOLVERS[method].adaptive) throw new InputError(fn, 'options.adjointStepSize', `applies to a fixed-step adjointMethod; '${method}' is adaptive (set adjointRtol/adjointAtol)`);
  }
  // A fixed-step backward solve after an adaptive forward one, with no step size and no checkpoints,
  // would take one step per output interval: a gradient 150x off in a test, without a word.
  if (!SOLVERS[method].adaptive && adjointStepSize === undefined && forward.stepSize === undefined && options.adjointCheckpoints !== true) {
    throw new InputError(fn, 'options.adjointMethod', `'${method}' is fixed-step, and nothing sets its steps after the adaptive '${forward.method}': pass adjointStepSize, or adjointCheckpoints: true (the backward steps then follow the forward solve's)`);
  }
  const resolved = resolveOdeintOptions(fn, {
    method,
    rtol: adjointRtol ?? forward.rtol,
    atol: adjointAtol ?? forward.atol,
    // The forward stepSize carries over only between fixed-step methods.
    ...(SOLVERS[method].adaptive ? {} : { stepSize: adjointStepSize ?? forward.stepSize }),
    maxSteps: forward.maxSteps,
    maxStepSize: forward.maxStepSize,
    safety: forward.safety,
    minFactor: forward.minFactor,
    maxFactor: forward.maxFactor,
    controller: forward.controller,
    // Newton would differentiate the VJP inside the augmented dynamics: a second derivative.
    implicitSolver: 'fixed-point',
    implicitMaxIterations: forward.implicitMaxIterations,
    implicitTol: forward.implicitTol,
  });
  if (options.backwardStats !== undefined && (typeof options.backwardStats !== 'object' || options.backwardStats === null)) {
    throw new InputError(fn, 'options.backwardStats', 'must be an object to fill in (see createStats())');
  }
  if (options.adjointCheckpoints !== undefined && typeof options.adjointCheckpoints !== 'boolean') {
    throw new InputError(fn, 'options.adjointCheckpoints', `must be a boolean, but got ${String(options.adjointCheckpoints)}`);
  }
  return { ...resolved, stats: options.backwardStats ?? createStats(), seminorm: norm === 'seminorm', checkpoints: options.adjointCheckpoints ?? false };
}
