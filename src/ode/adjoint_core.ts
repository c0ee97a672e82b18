/**
 * The adjoint method over a state of several tensors: a tf.customGrad whose forward pass is a plain
 * solve and whose backward pass integrates [z…, a…, a_θ, a_t] backwards, interval by interval.
 * `odeintAdjoint` uses it with one tensor; the CNF with [x, log-det, regularisers…]. The parameter
 * adjoints travel as one flat component.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConvergenceError, InputError, MaxStepsError, NonFiniteError } from '../errors.js';
import { hostArithmetic, tensorOf, timeScalar, valuesOf } from './host_arithmetic.js';
import type { StepObserver } from './adaptive.js';
import type { ResolvedOdeintOptions } from './options.js';
import { readNumber, runSync, type Reads } from './host_reads.js';
import { solveState, solveStateSteps } from './odeint.js';
import { SOLVERS } from './solvers.js';
import { disposeStates, ownedResult, sumOf, weightedSum, type State, type StateDynamics } from './state.js';
import { resetStats, type OdeStats } from './stats.js';
import { freeAbortedTape } from './tape_cleanup.js';
import { firstOrderGradients } from './vjp.js';

/**
 * Dynamics over a list of tensors, with time as a scalar tensor (so ∂f/∂t can be taken). It may
 * carry its own VJP (value and cotangentᵀ ∂f/∂(y, params, t)), which the adjoint then uses instead
 * of recording f on a tape, and mark the components it never reads (`unread`, as in ode/state.ts).
 */
export type ListDynamics = ((t: tf.Scalar, y: State) => State) & { vjp?: DynamicsVjp; unread?: readonly boolean[] };

/**
 * f's value and the products of `cotangents` with its Jacobians w.r.t. y, the params (in the params'
 * order, or all of them as one flat 1-D tensor) and t.
 */
export type DynamicsVjp = (t: tf.Scalar, y: State, cotangents: State) => { value: State; gradY: State; gradParams: tf.Tensor[]; gradT: tf.Scalar };

/** What the backward solve needs, resolved once. */
export interface BackwardSettings extends ResolvedOdeintOptions {
  stats: OdeStats;
  seminorm: boolean;
  /**
   * Keep the state after every forward step and restart the backward solve from each, instead of
   * reconstructing z backwards between output times (memory grows with the steps; exact z).
   */
  checkpoints?: boolean;
}

/**
 * Solves the ODE and returns the states at every output time packed as [ts.length, Σ sizes] (each
 * component flattened, in order), differentiable w.r.t. y0, `tsTensor` and `params` by the adjoint.
 * @param makeDynamics - builds the dynamics from the `extras` tensors (e.g. the CNF's trace
 *   tangents). The backward pass runs after the caller's tidy scopes have ended, so it rebuilds the
 *   dynamics from copies of `extras` that tfjs keeps for it, never from the caller's handles.
 * @param memory - where a training loop carries the forward solve's first step between calls
 */
export function adjointSolve(
  y0: State,
  makeDynamics: (extras: readonly tf.Tensor[]) => ListDynamics,
  extras: readonly tf.Tensor[],
  times: readonly number[],
  tsTensor: tf.Tensor | undefined,
  params: readonly tf.Variable[],
  forward: ResolvedOdeintOptions,
  backward: BackwardSettings,
  stats: OdeStats,
  checkedForward?: StateDynamics,
  memory?: StepMemory,
): tf.Tensor {
  if (y0.length === 0) throw new InputError('adjointSolve', 'y0', 'must hold at least one tensor');
  const shapes = y0.map((c) => c.shape);
  const inputs: tf.Tensor[] = [...y0, ...(tsTensor ? [tsTensor] : []), ...params];
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const forwardDynamics = checkedForward ?? countedDynamics(makeDynamics(extras), stats);
    const tracker = forwardStepTracker(times[0], backward.checkpoints);
    const steps = tracker.steps;
    const outputs = solveState('odeintAdjoint', forwardDynamics, y0, times, rememberedStart(forward, memory), stats, undefined, tracker.onStep);
    if (memory) memory.firstStep = tracker.nextFirstStep();
    const pack = (states: State[]) => tf.tidy(() => tf.stack(states.map((o) => tf.concat(o.map((c) => c.reshape([-1]))))));
    const value = pack(outputs);
    // The backward grid: the output times, plus every forward step when checkpointing.
    const grid = backward.checkpoints ? mergeGrid(times, outputs, steps) : { times: [...times], states: outputs, outputAt: times.map((_, i) => i) };
    const gridPacked = backward.checkpoints ? pack(grid.states) : undefined;
    disposeStates(...outputs, ...steps.map((s) => s.y));
    save([value, ...(gridPacked ? [gridPacked] : []), ...extras]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        resetStats(backward.stats);
        const f = makeDynamics(saved.slice(gridPacked ? 2 : 1));
        const zAt = unpack(gridPacked ? saved[1] : saved[0], shapes);
        const dyOut = unpack(dy, shapes);
        const isOutput = grid.times.map(() => false);
        grid.outputAt.forEach((g) => (isOutput[g] = true));
        const dyAt = grid.times.map((_, g) => {
          const k = grid.outputAt.indexOf(g);
          return k >= 0 ? dyOut[k] : dyOut[0].map((c) => tf.zerosLike(c));
        });
        let grads;
        try {
          grads = runSync('odeintAdjoint', backwardSweep(f, zAt, dyAt, grid.times, params, tsTensor !== undefined, backward, isOutput, tracker.firstBackwardStep()));
        } catch (e) {
          // tfjs frees what the forward pass saved only after a backward pass that succeeds.
          tf.dispose(saved);
          freeAbortedTape();
          throw readDisposedTensor(e) ? new InputError('odeintAdjoint', 'f', CAPTURED_DISPOSED) : e;
        }
        const tsGrad = grads.timeGrads ? tf.tensor1d(grid.outputAt.map((g) => grads.timeGrads![g])) : undefined;
        return [...grads.y0, ...(tsGrad ? [tsGrad] : []), ...grads.params];
      },
    };
  });
  return run(...inputs);
}

/**
 * The adjoint calls f again in the backward pass, after the loss function's own tidy (tf.variableGrads,
 * optimizer.minimize) has freed every tensor made inside it: f reading one of those fails deep in tfjs.
 */
const CAPTURED_DISPOSED =
  'read a tensor that was disposed before the backward solve: the adjoint calls f again after the loss function returns, and tfjs frees the tensors made inside the loss function then. ' +
  'Make the tensors f reads outside the loss function (slice a batch before optimizer.minimize), or tf.keep them and dispose them after the step; and compute anything that depends on params inside f, where the adjoint differentiates it';

/** Whether `e` is tfjs's failure on a disposed tensor (its message, or a missing backend on its data). */
function readDisposedTensor(e: unknown): boolean {
  const message = (e as Error)?.message ?? '';
  return /Tensor is disposed|reading 'backend'/.test(message);
}

/** Splits a packed [N, Σ sizes] tensor into, per output time, the list of components. */
export function unpack(packed: tf.Tensor, shapes: readonly number[][]): State[] {
  return tf.tidy(() => {
    const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
    return tf.unstack(packed).map((row) => tf.split(row, sizes).map((part, c) => part.reshape(shapes[c])));
  });
}

/**
 * Merges the output times with the forward steps' times (in the direction of the solve), skipping
 * steps that land on an output time. Owns nothing: the states are those passed in.
 */
export function mergeGrid(times: readonly number[], outputs: State[], steps: { t: number; y: State }[]): { times: number[]; states: State[]; outputAt: number[] } {
  const direction = Math.sign(times[times.length - 1] - times[0]) || 1;
  const tolerance = 1e-12 * Math.max(1, Math.abs(times[times.length - 1] - times[0]));
  const merged: { t: number; y: State; output?: number }[] = times.map((t, i) => ({ t, y: outputs[i], output: i }));
  for (const s of steps) if (times.every((t) => Math.abs(t - s.t) > tolerance)) merged.push(s);
  merged.sort((a, b) => (a.t - b.t) * direction);
  const outputAt: number[] = [];
  merged.forEach((m, g) => {
    if (m.output !== undefined) outputAt[m.output] = g;
  });
  return { times: merged.map((m) => m.t), states: merged.map((m) => m.y), outputAt };
}

/**
 * Watches a forward solve's accepted steps (pass `onStep` to the solve): keeps a clone of each
 * step's state when `keepStates` (the adjoint's checkpoints), and proposes the first step of the
 * backward solve from its end: the larger of the last two (the very last is often cut short to land
 * on the end time). Without it the backward solve runs Hairer's initial-step heuristic, which costs
 * one evaluation of the augmented dynamics (a VJP) and, judging from a(T) alone, picked steps
 * several times too small: in FFJORD's toy training 7 of 26-38 backward evaluations per iteration.
 * The backward solve's error control accepts or rejects it as any step. `nextFirstStep` is the
 * larger of the first two steps, for a {@link StepMemory}.
 */
export function forwardStepTracker(t0: number, keepStates = false): { steps: { t: number; y: State }[]; onStep: StepObserver; firstBackwardStep(): number | undefined; nextFirstStep(): number | undefined } {
  let lastT = t0;
  let last: number[] = [];
  const first: number[] = [];
  const steps: { t: number; y: State }[] = [];
  return {
    steps,
    onStep(t, y) {
      const width = Math.abs(t - lastT);
      last = [...last.slice(-1), width];
      if (first.length < 2) first.push(width);
      lastT = t;
      if (keepStates) steps.push({ t, y: y.map((c) => c.clone()) });
    },
    firstBackwardStep: () => (last.length ? Math.max(...last) : undefined),
    nextFirstStep: () => (first.length ? Math.max(...first) : undefined),
  };
}

/**
 * A forward solve's first step carried from one call to the next. Training solves nearly the same
 * ODE every iteration (the weights move a little), and Hairer's initial-step heuristic, run afresh
 * each time, picked first steps 2-5x smaller than the steps the controller took next: one more step
 * (six evaluations) per solve. A solve given a memory starts with the larger of the previous solve's
 * first two accepted steps, and leaves its own; the error control accepts or rejects it as any step.
 * In FFJORD's toy training: forward evaluations 33.3 → 26.9 per iteration over 500 iterations.
 */
export interface StepMemory {
  /** The next solve's first step (none yet: the heuristic picks it). */
  firstStep?: number;
}

/** `forward` starting with the remembered first step, when it is adaptive and sets none itself. */
export function rememberedStart(forward: ResolvedOdeintOptions, memory: StepMemory | undefined): ResolvedOdeintOptions {
  const remembered = memory?.firstStep;
  return remembered !== undefined && forward.firstStep === undefined && SOLVERS[forward.method].adaptive ? { ...forward, firstStep: remembered } : forward;
}

/**
 * The backward sweep over the grid `ts`: returns dL/dy0 (per component), dL/dt at every grid time
 * (when wanted) and dL/dθ. `isOutput` marks the grid times where the loss looks at the state;
 * `startStep` is the first step of the last interval (where the forward solve ended), unless the
 * options set one. Takes ownership of `zAt` and `dyAt`. Its host reads are yielded (ode/host_reads.ts).
 */
export function* backwardSweep(
  f: ListDynamics,
  zAt: State[],
  dyAt: State[],
  ts: readonly number[],
  params: readonly tf.Variable[],
  wantTimes: boolean,
  settings: BackwardSettings,
  isOutput: readonly boolean[],
  startStep?: number,
): Reads<{ y0: tf.Tensor[]; timeGrads?: number[]; params: tf.Tensor[] }> {
  const n = ts.length;
  const m = zAt[0].length;
  const augmented = augmentedDynamics(f, m, params, wantTimes, settings.stats);
  const paramSize = params.reduce((n, p) => n + p.size, 0);
  // State: [z…, a…, a_θ (flat), a_t?]; only z and a steer the step size under the seminorm.
  let state: State = [
    ...zAt[n - 1].map((c) => c.clone()),
    ...dyAt[n - 1].map((c) => c.clone()),
    // All parameter adjoints travel as one flat component: the solver's per-component work (stage
    // sums, norms) then costs a few kernels, not a few per parameter tensor.
    ...(params.length ? [tf.zeros([paramSize])] : []),
    ...(wantTimes ? [tf.scalar(0)] : []),
  ];
  const mask = state.map((_, i) => !settings.seminorm || i < 2 * m);
  const timeGrads = new Array<number>(n).fill(0);
  const timeIndex = 2 * m + (params.length ? 1 : 0);
  // A finally, not a catch: a failed solve or a driver that stops reading must free these too.
  let completed = false;
  try {
    for (let i = n - 1; i >= 1; i--) {
      if (wantTimes && isOutput[i]) {
        // dL/dt_i through z(t_i) alone: ∂L/∂z(t_i) · f(t_i, z(t_i)); the same term leaves a_t.
        const direct = tf.tidy(() => {
          const fz = f(tf.scalar(ts[i]), zAt[i]);
          return sumOf(fz.map((c, k) => tf.sum(tf.mul(dyAt[i][k], c))));
        });
        const at = tf.sub(state[timeIndex], direct);
        tf.dispose(state[timeIndex]);
        state[timeIndex] = at;
        timeGrads[i] = yield* readNumber(direct);
      }
      const first = i === n - 1 && settings.firstStep === undefined && startStep ? { ...settings, firstStep: startStep } : settings;
      const solved = yield* backwardSolveHints(solveStateSteps(augmented, state, [ts[i], ts[i - 1]], first, settings.stats, mask), state.slice(m, 2 * m));
      disposeStates(state, solved[0]);
      state = solved[1];
      // Restart z from the forward state at t_{i−1} (no drift from the backward reconstruction) and
      // add the direct gradient there.
      for (let k = 0; k < m; k++) {
        const a = tf.add(state[m + k], dyAt[i - 1][k]);
        tf.dispose([state[k], state[m + k]]);
        state[k] = zAt[i - 1][k].clone();
        state[m + k] = a;
      }
    }
    if (wantTimes) timeGrads[0] = yield* readNumber(state[timeIndex].clone());
    completed = true;
  } finally {
    disposeStates(...zAt, ...dyAt, state.slice(0, m));
    if (wantTimes) state[timeIndex].dispose();
    if (!completed) disposeStates(state.slice(m));
  }
  const paramGrads = params.length ? splitFlat(state[2 * m], params) : [];
  if (params.length) state[2 * m].dispose();
  return { y0: state.slice(m, 2 * m), timeGrads: wantTimes ? timeGrads : undefined, params: paramGrads };
}

/**
 * The backward solve's failures, said as such: its implicit steps iterate by fixed point whatever
 * implicitSolver says (Newton there would differentiate the VJP: second derivatives of f); its steps
 * run out where the forward solve was stiff (checkpoints help, not an implicit method); a non-finite
 * start is the loss's gradient, not f(t0, y0). `adjoints`: the adjoint components it starts from.
 */
function* backwardSolveHints<T>(steps: Reads<T>, adjoints: State): Reads<T> {
  // A stiff forward solve decays fast, so z reconstructed backwards grows fast: smaller steps cannot help.
  const stiff = "adjointCheckpoints: true with an explicit adjointMethod such as 'dopri5' (guide: Gradients, stiff problems)";
  try {
    return yield* steps;
  } catch (e) {
    if (e instanceof ConvergenceError) {
      const hint = /overflowed/.test(e.detail)
        ? `z reconstructed backwards overflowed (a fast decay forwards is a fast growth backwards): a stiff forward solve needs ${stiff}`
        : `its implicit steps iterate by fixed point (Newton there would need second derivatives of f): use a smaller stepSize, or, for a stiff forward solve, ${stiff}`;
      throw new ConvergenceError(e.method, e.t, `the adjoint's backward solve: ${e.detail}`, hint);
    }
    if (e instanceof MaxStepsError) {
      throw new MaxStepsError(e.maxSteps, e.t, e.tEnd, `the adjoint's backward solve: ${e.maxSteps} steps reached at t=${e.t} before t=${e.tEnd}; for a stiff forward solve use ${stiff}, else raise maxSteps or loosen adjointRtol/adjointAtol`);
    }
    if (e instanceof NonFiniteError) {
      // The adjoints start from the loss's gradient: a loss not differentiable at the solution (sqrt at 0) makes them Inf.
      const finite = (yield* readNumber(tf.tidy(() => tf.all(tf.stack(adjoints.map((a) => tf.all(tf.isFinite(a))))).cast('float32')))) === 1;
      throw new NonFiniteError(e.t, finite
        ? `in the adjoint's backward solve (the augmented dynamics, evaluated on f's vector-Jacobian products); check f where the forward solve went`
        : `the gradient of the loss with respect to the solution at t=${e.t} is not finite, so the adjoint's backward solve cannot start: the loss is not differentiable there (e.g. sqrt or log at 0)`);
    }
    throw e;
  }
}

/** The flat parameter adjoint split into one gradient per parameter (on the host, with no tfjs kernel). */
function splitFlat(flat: tf.Tensor, params: readonly tf.Variable[]): tf.Tensor[] {
  if (!hostArithmetic() || flat.dtype !== 'float32') return tf.tidy(() => tf.split(flat, params.map((p) => p.size)).map((g, i) => g.reshape(params[i].shape)));
  const values = valuesOf(flat);
  let at = 0;
  return params.map((p) => tensorOf(values.subarray(at, (at += p.size)), p.shape));
}

/**
 * The augmented dynamics over [z…, a…, a_θ (flat), a_t?]: [f, −aᵀ∂f/∂z, −aᵀ∂f/∂θ (flat), −aᵀ∂f/∂t], from one
 * evaluation of f and one VJP (of Σ_c ⟨f_c, −a_c⟩, which is that product).
 */
function augmentedDynamics(f: ListDynamics, m: number, params: readonly tf.Variable[], wantTimes: boolean, stats: OdeStats): StateDynamics {
  // Read: the z that f reads, and every a; never the parameter and time adjoints.
  const unread = [...Array.from({ length: m }, (_, k) => f.unread?.[k] ?? false), ...Array<boolean>(m).fill(false), true, true];
  const dynamics: StateDynamics = (t, y) => {
    stats.nfe++;
    return tf.tidy(() => {
      const z = y.slice(0, m);
      const a = y.slice(m, 2 * m);
      const tScalar = timeScalar(t);
      if (f.vjp) {
        const r = f.vjp(tScalar, z, weightedSum(-1, [1], [a]));
        return [...r.value, ...r.gradY, ...flatParams(r.gradParams), ...(wantTimes ? [r.gradT] : [])];
      }
      let value: State = [];
      const xs = [...z, ...params, ...(wantTimes ? [tScalar] : [])];
      const { grads } = firstOrderGradients(() => {
        value = f(tScalar, z).map((c) => tf.keep(ownedResult(c, tScalar)));
        const terms = value.map((c, k) => tf.sum(tf.mul(c, a[k])));
        return tf.neg(sumOf(terms));
      }, xs);
      // Kept tensors escape every enclosing tidy, also the caller's (an implicit method's iteration):
      // hand back ordinary tensors instead.
      const fresh = value.map((c) => c.clone());
      tf.dispose(value);
      return [...fresh, ...grads.slice(0, m), ...flatParams(grads.slice(m, m + params.length)), ...grads.slice(m + params.length)];
    });
  };
  return Object.assign(dynamics, { unread });
}

/**
 * Parameter gradients as the one flat state component (none when there are no parameters). A VJP
 * may return them already flat, as one 1-D tensor.
 */
function flatParams(grads: readonly tf.Tensor[]): tf.Tensor[] {
  if (grads.length === 1 && grads[0].rank === 1) return [grads[0]];
  return grads.length ? [tf.concat(grads.map((g) => g.reshape([-1])))] : [];
}

/** The solvers' form of list dynamics: host time, evaluations counted in `stats.nfe`. */
export function countedDynamics(f: ListDynamics, stats: OdeStats): StateDynamics {
  const counted: StateDynamics = (t, y) => {
    stats.nfe++;
    return tf.tidy(() => {
      const time = timeScalar(t);
      return f(time, y).map((c) => ownedResult(c, time));
    });
  };
  return f.unread ? Object.assign(counted, { unread: f.unread }) : counted;
}
