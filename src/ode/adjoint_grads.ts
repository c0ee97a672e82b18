/**
 * `odeintAdjointGrads`: the adjoint method's gradients without a gradient tape. tfjs's tape is
 * synchronous, so `odeintAdjoint` (a custom gradient) cannot run where host reads must be awaited
 * (WebGPU); here the caller hands in dL/dy at the output times and gets dL/dy0, dL/dθ and dL/dts
 * back, from the same forward solve and backward sweep, with every read awaited.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors.js';
import { checkParamsCover, resolveAdjointOptions, type OdeintAdjointOptions } from './adjoint.js';
import { backwardSweep, forwardStepTracker, mergeGrid, type ListDynamics } from './adjoint_core.js';
import { checkFiniteOutputs, checkInitialState, checkInitialValues, outputTimes, stateDynamics, type Dynamics } from './checks.js';
import { runAsync, type Reads } from './host_reads.js';
import { solveStateSteps } from './odeint.js';
import { SOLVERS } from './solvers.js';
import { disposeStates, type State } from './state.js';
import { resetStats } from './stats.js';

/** What {@link odeintAdjointGrads} returns; the caller owns every tensor. */
export interface AdjointGrads {
  /** The solution at every output time, [ts.length, ...y0.shape] (as {@link odeint} returns it). */
  value: tf.Tensor;
  /** dL/dy0, of y0's shape. */
  y0: tf.Tensor;
  /** dL/dθ for each variable of `options.params`, in order (a model counts as its trainable weights, in order; a variable listed twice, once). */
  params: tf.Tensor[];
  /** dL/dts, when `ts` was given as a tensor. */
  ts?: tf.Tensor1D;
}

/**
 * Solves dy/dt = f(t, y) and returns, beside the solution, the gradients of a loss L whose gradient
 * w.r.t. the solution is `dLdy`, by the adjoint method (the backward sweep of {@link odeintAdjoint},
 * memory flat in the number of steps). No gradient tape spans the solve, so it runs on every backend,
 * WebGPU included, with its host reads awaited.
 * @param f - the dynamics (t, y) => dy/dt; it may use only the variables listed in `options.params`
 * @param y0 - the initial state, a float32 tensor of any shape
 * @param ts - output times, strictly monotonic; a tensor to get dL/dts too
 * @param dLdy - dL/dy at every output time, [ts.length, ...y0.shape] (zeros where L ignores a time)
 * @param options - as for {@link odeintAdjoint}
 * @returns a promise of the solution and the gradients (see {@link AdjointGrads})
 * @throws InputError for a bad argument; the solvers' errors when a solve fails (the promise rejects)
 * @example
 * ```ts
 * // L = Σ y(1) for y' = k·y: dL/dk = Σ y0 e^{k}
 * const k = tf.variable(tf.scalar(-0.5));
 * const y0 = tf.tensor1d([1, 2]);
 * const dLdy = tf.tensor2d([[0, 0], [1, 1]]);   // L looks at y(1) only
 * const grads = await odeintAdjointGrads((t, y) => tf.mul(k, y), y0, [0, 1], dLdy, { params: [k] });
 * console.log(await grads.params[0].data());   // ≈ 3 e^{−0.5} = 1.8196
 * ```
 */
export async function odeintAdjointGrads(f: Dynamics, y0: tf.Tensor, ts: number[] | tf.Tensor1D, dLdy: tf.Tensor, options: OdeintAdjointOptions): Promise<AdjointGrads> {
  return runAsync(adjointGradsSteps('odeintAdjointGrads', f, y0, ts, dLdy, options));
}

function* adjointGradsSteps(fn: string, f: Dynamics, y0: tf.Tensor, ts: number[] | tf.Tensor1D, dLdy: tf.Tensor, options: OdeintAdjointOptions): Reads<AdjointGrads> {
  checkInitialState(fn, y0);
  yield* checkInitialValues(fn, y0);
  const times = yield* outputTimes(fn, ts);
  if (!(dLdy instanceof tf.Tensor) || dLdy.dtype !== 'float32' || dLdy.shape.join() !== [times.length, ...y0.shape].join()) {
    throw new InputError(fn, 'dLdy', `must be a float32 tensor of shape [${[times.length, ...y0.shape]}] (dL/dy at each output time), but got ${dLdy instanceof tf.Tensor ? `${dLdy.dtype} [${dLdy.shape}]` : typeof dLdy}`);
  }
  const { forward, params, backward, stats } = resolveAdjointOptions(fn, options);
  resetStats(backward.stats);
  const wantTimes = ts instanceof tf.Tensor;
  checkParamsCover(fn, f, y0, wantTimes ? ts : undefined, times[0], params);

  const tracker = forwardStepTracker(times[0], backward.checkpoints);
  const steps = tracker.steps;
  const outputs = yield* solveStateSteps(stateDynamics(fn, f, y0.shape, stats), [y0], times, forward, stats, undefined, tracker.onStep);
  const value = tf.tidy(() => tf.stack(outputs.map((o) => o[0])));
  if (!SOLVERS[forward.method].adaptive) {
    try {
      yield* checkFiniteOutputs(value, times);
    } catch (e) {
      disposeStates(...outputs, ...steps.map((s) => s.y));
      throw e;
    }
  }
  // The backward grid: the output times, plus every forward step when checkpointing (a step that
  // lands on an output time is dropped from it: its state is freed here).
  const grid = backward.checkpoints ? mergeGrid(times, outputs, steps) : { times: [...times], states: outputs, outputAt: times.map((_, i) => i) };
  const kept = new Set(grid.states);
  for (const s of steps) if (!kept.has(s.y)) disposeStates(s.y);
  const dyOut = tf.unstack(dLdy);
  const isOutput = grid.times.map(() => false);
  grid.outputAt.forEach((g) => (isOutput[g] = true));
  const dyAt: State[] = grid.times.map((_, g) => {
    const k = grid.outputAt.indexOf(g);
    return [k >= 0 ? dyOut[k] : tf.zerosLike(y0)];
  });
  const listDynamics: ListDynamics = (t, [y]) => [f(t, y)];
  try {
    const grads = yield* backwardSweep(listDynamics, grid.states, dyAt, grid.times, params, wantTimes, backward, isOutput, tracker.firstBackwardStep());
    return {
      value,
      y0: grads.y0[0],
      params: grads.params,
      ...(wantTimes ? { ts: tf.tensor1d(grid.outputAt.map((g) => grads.timeGrads![g])) } : {}),
    };
  } catch (e) {
    value.dispose();
    throw e;
  }
}
