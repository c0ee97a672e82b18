/**
 * `odeintAdjoint`: `odeint` whose gradients come from the adjoint sensitivity method (Chen et al.
 * 2018, Algorithm 1 and Appendix B.2): the augmented state [z, a, a_θ, a_t] is integrated backwards,
 * interval by interval between output times, so memory does not grow with the number of solver steps.
 */
import * as tf from '@tensorflow/tfjs';
import { OdeInputError } from '../errors.js';
import { checkFiniteOutputs, checkInitialState, outputTimes, stateDynamics, type Dynamics } from './checks.js';
import { resolveOdeintOptions, type OdeintOptions, type ResolvedOdeintOptions } from './options.js';
import { solveState } from './odeint.js';
import { METHODS, SOLVERS, type MethodName } from './solvers.js';
import { disposeStates, type State, type StateDynamics } from './state.js';
import { createStats, resetStats, type OdeStats } from './stats.js';
import { valueAndVjp } from './vjp.js';

/** Options of {@link odeintAdjoint}: those of {@link odeint} plus the backward solve's. */
export interface OdeintAdjointOptions extends OdeintOptions {
  /** Every tf.Variable the dynamics use; their gradients come from the adjoint solve. Pass `[]` if none. */
  params: tf.Variable[];
  /**
   * Method of the backward (augmented) solve.
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
   * Error norm of the backward solve: `'seminorm'` controls the error of z and a only, not of the
   * parameter and time integrals (Kidger et al. 2021), which cuts backward evaluations; `'full'`
   * controls every component, as torchdiffeq does by default.
   * @defaultValue `'seminorm'`
   */
  adjointNorm?: 'seminorm' | 'full';
  /** An object the backward solves fill with their statistics, summed over intervals. */
  backwardStats?: OdeStats;
}

const ADJOINT_KEYS = ['params', 'adjointMethod', 'adjointRtol', 'adjointAtol', 'adjointNorm', 'backwardStats'];

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
 * @throws OdeInputError for a bad argument (also when `params` is missing or holds non-variables,
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
  const times = outputTimes(fn, ts);
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new OdeInputError(fn, 'options', 'must be an object with params: tf.Variable[] (the variables f uses; [] if none)');
  }
  const forward = resolveOdeintOptions(fn, options, ADJOINT_KEYS);
  const params = checkParams(fn, options.params);
  const backward = resolveBackward(fn, options, forward);
  const stats = forward.stats ?? createStats();
  resetStats(stats);
  const dynamics = stateDynamics(fn, f, y0.shape, stats);
  checkParamsCover(fn, f, y0, times[0], params);

  const tsTensor = ts instanceof tf.Tensor ? ts : undefined;
  const inputs: tf.Tensor[] = [y0, ...(tsTensor ? [tsTensor] : []), ...params];
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const outputs = solveState(dynamics, [y0], times, forward, stats);
    const value = tf.tidy(() => tf.stack(outputs.map((o) => o[0])));
    disposeStates(...outputs);
    save([value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const backwardStats = backward.stats;
        resetStats(backwardStats);
        const grads = adjointGradients(f, saved[0], dy, times, params, tsTensor !== undefined, backward);
        return [grads.y0, ...(grads.ts ? [grads.ts] : []), ...grads.params];
      },
    };
  });
  const result = run(...inputs);
  if (!SOLVERS[forward.method].adaptive) checkFiniteOutputs(result, times);
  return result;
}

/** What the backward solve needs, resolved once. */
interface BackwardSettings extends ResolvedOdeintOptions {
  stats: OdeStats;
  seminorm: boolean;
}

/** The backward sweep: returns dL/dy0, dL/dts (when wanted) and dL/dθ. */
function adjointGradients(
  f: Dynamics,
  zs: tf.Tensor,
  dy: tf.Tensor,
  ts: readonly number[],
  params: readonly tf.Variable[],
  wantTimes: boolean,
  settings: BackwardSettings,
): { y0: tf.Tensor; ts?: tf.Tensor; params: tf.Tensor[] } {
  const n = ts.length;
  const zAt = tf.unstack(zs);
  const dyAt = tf.unstack(dy);
  const augmented = augmentedDynamics(f, params, wantTimes, settings.stats);
  // State: [z, a, a_θ…, a_t?]; only z and a steer the step size under the seminorm.
  let state: State = [zAt[n - 1].clone(), dyAt[n - 1].clone(), ...params.map((p) => tf.zerosLike(p)), ...(wantTimes ? [tf.scalar(0)] : [])];
  const mask = state.map((_, i) => !settings.seminorm || i < 2);
  const timeGrads = new Array<number>(n).fill(0);
  const timeIndex = 2 + params.length;
  for (let i = n - 1; i >= 1; i--) {
    if (wantTimes) {
      // dL/dt_i through z(t_i) alone: ∂L/∂z(t_i) · f(t_i, z(t_i)); the same term leaves a_t.
      const direct = tf.tidy(() => tf.sum(tf.mul(dyAt[i], f(tf.scalar(ts[i]), zAt[i]))));
      timeGrads[i] = direct.dataSync()[0];
      const at = tf.sub(state[timeIndex], direct);
      tf.dispose([direct, state[timeIndex]]);
      state[timeIndex] = at;
    }
    const solved = solveState(augmented, state, [ts[i], ts[i - 1]], settings, settings.stats, mask);
    disposeStates(state, solved[0]);
    state = solved[1];
    // Restart from the forward state at t_{i−1} (no drift from the backward reconstruction) and add
    // the direct gradient there.
    const a = tf.add(state[1], dyAt[i - 1]);
    tf.dispose([state[0], state[1]]);
    state[0] = zAt[i - 1].clone();
    state[1] = a;
  }
  if (wantTimes) timeGrads[0] = state[timeIndex].dataSync()[0];
  tf.dispose([...zAt, ...dyAt, state[0]]);
  if (wantTimes) state[timeIndex].dispose();
  return { y0: state[1], ts: wantTimes ? tf.tensor1d(timeGrads) : undefined, params: state.slice(2, 2 + params.length) };
}

/**
 * The augmented dynamics over [z, a, a_θ…, a_t?]: [f, −aᵀ∂f/∂z, −aᵀ∂f/∂θ…, −aᵀ∂f/∂t], from one
 * evaluation of f and one VJP with cotangent −a.
 */
function augmentedDynamics(f: Dynamics, params: readonly tf.Variable[], wantTimes: boolean, stats: OdeStats): StateDynamics {
  return (t, [z, a]) => {
    stats.nfe++;
    return tf.tidy(() => {
      const tScalar = tf.scalar(t);
      const { value, grads } = valueAndVjp(() => f(tScalar, z), [z, ...params, ...(wantTimes ? [tScalar] : [])], tf.neg(a));
      return [value, ...grads];
    });
  };
}

function checkParams(fn: string, params: unknown): tf.Variable[] {
  if (!Array.isArray(params)) {
    throw new OdeInputError(fn, 'options.params', `must be an array of the tf.Variables f uses ([] if none), but got ${params === undefined ? 'undefined' : typeof params}`);
  }
  const bad = params.findIndex((p) => !(p instanceof tf.Variable));
  if (bad >= 0) {
    throw new OdeInputError(fn, 'options.params', `must hold tf.Variables only, but params[${bad}] is ${params[bad] instanceof tf.Tensor ? 'a plain tensor (wrap it in tf.variable)' : typeof params[bad]}`);
  }
  return params as tf.Variable[];
}

/**
 * A trainable variable that f uses but `params` leaves out would get no gradient, silently. One VJP
 * at (t0, y0) per dynamics function finds them.
 */
const coveredDynamics = new WeakSet<Dynamics>();
function checkParamsCover(fn: string, f: Dynamics, y0: tf.Tensor, t0: number, params: readonly tf.Variable[]): void {
  if (coveredDynamics.has(f)) return;
  const listed = new Set(params.map((p) => p.name));
  const others = Object.values(tf.engine().registeredVariables).filter((v) => v.trainable && !listed.has(v.name));
  if (others.length > 0) {
    const used = tf.tidy(() => {
      const { grads } = tf.engine().gradients(() => tf.sum(f(tf.scalar(t0), y0)), others, undefined, true);
      return others.filter((_, i) => grads[i] != null).map((v) => v.name);
    });
    if (used.length > 0) {
      throw new OdeInputError(fn, 'options.params', `must list every variable f uses, but f also uses ${used.map((u) => `'${u}'`).join(', ')}; add them to params (or make them non-trainable)`);
    }
  }
  coveredDynamics.add(f);
}

function resolveBackward(fn: string, options: OdeintAdjointOptions, forward: ResolvedOdeintOptions): BackwardSettings {
  const method = options.adjointMethod ?? forward.method;
  if (!METHODS.includes(method)) {
    throw new OdeInputError(fn, 'options.adjointMethod', `must be one of ${METHODS.join(', ')}, but got ${JSON.stringify(method)}`);
  }
  const norm = options.adjointNorm ?? 'seminorm';
  if (norm !== 'seminorm' && norm !== 'full') {
    throw new OdeInputError(fn, 'options.adjointNorm', `must be 'seminorm' or 'full', but got ${JSON.stringify(norm)}`);
  }
  const { adjointRtol, adjointAtol } = options;
  const resolved = resolveOdeintOptions(fn, {
    method,
    rtol: adjointRtol ?? forward.rtol,
    atol: adjointAtol ?? forward.atol,
    // The forward stepSize carries over only between fixed-step methods.
    ...(SOLVERS[method].adaptive ? {} : { stepSize: forward.stepSize }),
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
    throw new OdeInputError(fn, 'options.backwardStats', 'must be an object to fill in (see createStats())');
  }
  return { ...resolved, stats: options.backwardStats ?? createStats(), seminorm: norm === 'seminorm' };
}
