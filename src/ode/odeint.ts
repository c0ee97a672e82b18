/**
 * `odeint`: solve an initial value problem and return the solution at the requested times.
 */
import * as tf from '@tensorflow/tfjs-core';
import { integrateAdaptive, type StepObserver } from './adaptive.js';
import { checkFiniteOutputs, checkInitialState, outputTimes, stateDynamics, type Dynamics } from './checks.js';
import { integrateFixed } from './fixed.js';
import { resolveOdeintOptions, type OdeintOptions, type ResolvedOdeintOptions } from './options.js';
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
 *   NonFiniteError when the solve fails
 * @example
 * ```ts
 * // y' = −y, y(0) = 1: y(1) = e^{−1}
 * const ys = odeint((t, y) => tf.neg(y), tf.scalar(1), [0, 1], { method: 'dopri5' });
 * ys.print(); // [1, 0.3678794]
 * ```
 * @see Hairer, Nørsett & Wanner, Solving Ordinary Differential Equations I (1993), II.4–II.6
 */
export function odeint(f: Dynamics, y0: tf.Tensor, ts: number[] | tf.Tensor1D, options: OdeintOptions = {}): tf.Tensor {
  const fn = 'odeint';
  checkInitialState(fn, y0);
  const times = outputTimes(fn, ts);
  const resolved = resolveOdeintOptions(fn, options);
  const stats = resolved.stats ?? createStats();
  resetStats(stats);
  const dynamics = stateDynamics(fn, f, y0.shape, stats);
  const outputs = solveState(dynamics, [y0], times, resolved, stats);
  const result = tf.tidy(() => tf.stack(outputs.map((o) => o[0])));
  disposeStates(...outputs);
  if (!SOLVERS[resolved.method].adaptive) checkFiniteOutputs(result, times);
  return result;
}

/**
 * Integrates a state (a list of tensors) through every output time with already-checked inputs.
 * Shared by `odeint` and the adjoint's forward and backward solves.
 * @param normMask - components that steer adaptive steps (the seminorm leaves some out)
 * @returns the state at every output time; the caller owns it
 */
export function solveState(
  f: StateDynamics,
  y0: State,
  ts: readonly number[],
  options: ResolvedOdeintOptions,
  stats: OdeStats,
  normMask?: readonly boolean[],
  onStep?: StepObserver,
): State[] {
  const solver = SOLVERS[options.method];
  if (solver.adaptive) {
    return integrateAdaptive(solver.tableau!, f, y0, ts, {
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
  return integrateFixed(stepper, f, y0, ts, options.stepSize, options.maxSteps, stats, onStep);
}
