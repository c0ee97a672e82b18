/**
 * `odeint` and `odeintAsync`: solve an initial value problem and return the solution at the requested
 * times. One stepping logic: the two differ only in how they read the error norm.
 */
import * as tf from '@tensorflow/tfjs-core';
import { freeingTapeOnThrow } from './tape_cleanup.js';
import { integrateAdaptive, type StepObserver } from './adaptive.js';
import { checkFiniteOutputs, checkInitialState, checkInitialValues, outputTimes, stateDynamics, type Dynamics } from './checks.js';
import { runAsync, runSync, type Reads } from './host_reads.js';
import { integrateFixed } from './fixed.js';
import { rejectInapplicableOptions, resolveOdeintOptions, type OdeintOptions, type ResolvedOdeintOptions } from './options.js';
import { SOLVERS, makeFixedStepper } from './solvers.js';
import { disposeStates, type State, type StateDynamics } from './state.js';
import { createStats, resetStats, type OdeStats } from './stats.js';

/**
 * Solves dy/dt = f(t, y), y(ts[0]) = y0, and returns y at every time in `ts`.
 *
 * Times and step sizes are float64 numbers on the host; the state stays in float32 tensors of any
 * shape (a batch included). Adaptive methods read one number back per step (the error norm) and give
 * the output times by dense output, at no extra evaluations.
 *
 * @param f - the dynamics (t, y) => dy/dt, returning a tensor of y's shape
 * @param y0 - the initial state, a float32 tensor of any shape
 * @param ts - output times, strictly increasing or strictly decreasing; ts[0] is the initial time
 * @param options - method, tolerances and controller settings; see {@link OdeintOptions}
 * @returns a tensor of shape [ts.length, ...y0.shape]; its first row equals y0
 * @throws InputError for a bad argument; StepSizeError, MaxStepsError, ConvergenceError or
 *   NonFiniteError when the solve fails; CnfkitError naming {@link odeintAsync} on a backend that
 *   cannot read values synchronously (WebGPU in Node)
 * @example
 * ```ts
 * // y' = −y, y(0) = 1: y(1) = e^{−1}
 * const ys = odeint((t, y) => tf.neg(y), tf.scalar(1), [0, 1], { method: 'dopri5' });
 * ys.print(); // [1, 0.3678796]  (e⁻¹ = 0.3678794…, within rtol)
 * ```
 * @see Hairer, Nørsett & Wanner, Solving Ordinary Differential Equations I (1993), II.4–II.6
 */
export function odeint(f: Dynamics, y0: tf.Tensor, ts: number[] | tf.Tensor1D, options: OdeintOptions = {}): tf.Tensor {
  // Differentiated by backprop, a solve that fails must not leave the tape's saved tensors behind.
  return freeingTapeOnThrow(() => runSync('odeint', odeintSteps('odeint', f, y0, ts, options)));
}

/**
 * {@link odeint} with its host reads awaited: the same options, steps and results, on every backend,
 * including those that can only read asynchronously (WebGPU) and without blocking a page while a GPU
 * works.
 * @param f - the dynamics (t, y) => dy/dt, returning a tensor of y's shape
 * @param y0 - the initial state, a float32 tensor of any shape
 * @param ts - output times, strictly increasing or strictly decreasing; ts[0] is the initial time
 * @param options - method, tolerances and controller settings; see {@link OdeintOptions}
 * @returns a promise of a tensor of shape [ts.length, ...y0.shape]
 * @throws as {@link odeint} (the promise rejects)
 * @example
 * ```ts
 * const ys = await odeintAsync((t, y) => tf.neg(y), tf.scalar(1), [0, 1]);
 * console.log(await ys.data()); // [1, 0.3678796…]  (e⁻¹ = 0.3678794…, within rtol)
 * ```
 */
export async function odeintAsync(f: Dynamics, y0: tf.Tensor, ts: number[] | tf.Tensor1D, options: OdeintOptions = {}): Promise<tf.Tensor> {
  return runAsync(odeintSteps('odeintAsync', f, y0, ts, options));
}

/** The whole of odeint, its host reads yielded (ode/host_reads.ts). */
function* odeintSteps(fn: string, f: Dynamics, y0: tf.Tensor, ts: number[] | tf.Tensor1D, options: OdeintOptions): Reads<tf.Tensor> {
  checkInitialState(fn, y0);
  yield* checkInitialValues(fn, y0);
  const times = yield* outputTimes(fn, ts);
  const resolved = resolveOdeintOptions(fn, options);
  rejectInapplicableOptions(fn, options, resolved.method);
  const stats = resolved.stats ?? createStats();
  resetStats(stats);
  const dynamics = stateDynamics(fn, f, y0.shape, stats);
  const outputs = yield* solveStateSteps(dynamics, [y0], times, resolved, stats);
  const result = tf.tidy(() => tf.stack(outputs.map((o) => o[0])));
  disposeStates(...outputs);
  if (!SOLVERS[resolved.method].adaptive) yield* checkFiniteOutputs(result, times);
  return result;
}

/**
 * Integrates a state (a list of tensors) through every output time with already-checked inputs,
 * reading synchronously. Shared by the adjoint's forward and backward solves and the flows.
 * @param fn - the public function, for the error on a backend that cannot read synchronously
 * @param normMask - components that steer adaptive steps (the seminorm leaves some out)
 * @returns the state at every output time; the caller owns it
 */
export function solveState(
  fn: string,
  f: StateDynamics,
  y0: State,
  ts: readonly number[],
  options: ResolvedOdeintOptions,
  stats: OdeStats,
  normMask?: readonly boolean[],
  onStep?: StepObserver,
): State[] {
  return runSync(fn, solveStateSteps(f, y0, ts, options, stats, normMask, onStep));
}

/** {@link solveState} with its host reads yielded, for a sync or an async driver. */
export function* solveStateSteps(
  f: StateDynamics,
  y0: State,
  ts: readonly number[],
  options: ResolvedOdeintOptions,
  stats: OdeStats,
  normMask?: readonly boolean[],
  onStep?: StepObserver,
): Reads<State[]> {
  const solver = SOLVERS[options.method];
  if (solver.adaptive) {
    return yield* integrateAdaptive(solver.tableau!, f, y0, ts, {
      rtol: options.rtol,
      atol: options.atol,
      firstStep: options.firstStep,
      maxSteps: options.maxSteps,
      normMask,
      onStep,
      controller: {
        kind: options.controller,
        safety: options.safety,
        minFactor: options.minFactor,
        maxFactor: options.maxFactor,
        maxStepSize: options.maxStepSize,
      },
    }, stats);
  }
  const stepper = makeFixedStepper(options.method, {
    solver: options.implicitSolver,
    maxIterations: options.implicitMaxIterations,
    tol: options.implicitTol,
  })!;
  return yield* integrateFixed(stepper, f, y0, ts, options.stepSize, options.maxSteps, stats, onStep);
}
