/**
 * Implicit one-step methods of the θ family: y1 = y0 + h[(1−θ) f(t0, y0) + θ f(t1, y1)].
 * θ = 1 is implicit Euler (first order, L-stable), θ = ½ the trapezoidal rule (second order, A-stable).
 * The equation for y1 is solved by fixed-point iteration (cheap, needs h·θ·L < 1) or by simplified
 * Newton with the Jacobian from one VJP per state element (for stiff problems with small states).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConvergenceError } from '../errors.js';
import { luFactor, luSolve } from './linalg.js';
import { firstOrderGradients } from './vjp.js';
import { read, type Reads } from './host_reads.js';
import { scaledRms } from './norms.js';
import { combine, disposeStates, elementCount, sumOf, type State, type StateDynamics } from './state.js';
import type { FixedStepper } from './stepper.js';

/** How the implicit equation is solved. */
export type ImplicitSolver = 'newton' | 'fixed-point' | 'auto';

/** Settings of the nonlinear iteration. */
export interface ImplicitSettings {
  readonly solver: ImplicitSolver;
  readonly maxIterations: number;
  /** Converged when the update is below tol·(1 + |y|) in the RMS sense. */
  readonly tol: number;
}

/** What to do when Newton fails (it is already the solver for stiff problems). */
const NEWTON_HINT = 'use a smaller stepSize';

/**
 * `auto` picks Newton up to this many state elements (its Jacobian costs one VJP per element); above,
 * fixed point, until a step it cannot take (a stiff one) hands the solve to Newton.
 */
const AUTO_NEWTON_MAX_SIZE = 100;

/** A θ-method stepper; `name` is used in error messages. */
export function thetaMethodStepper(name: string, theta: number, settings: ImplicitSettings): FixedStepper {
  let newtonFromNowOn = false; // 'auto' after a step fixed point could not take
  return {
    *step(f, t0, y0, h, stats) {
      const t1 = t0 + h;
      const f0 = theta < 1 ? f(t0, y0) : y0.map((c) => tf.zerosLike(c));
      // Known part of the right-hand side. The predictor is y0 itself: an explicit Euler predictor
      // overshoots wildly on stiff problems (−9·y0 for hλ = −10), and Newton's first update then
      // cancels most of it, losing float32 digits.
      const base = tf.tidy(() => combine(y0, h * (1 - theta), [1], [f0]));
      tf.dispose(f0);
      const y = y0.map((c) => c.clone());
      const auto = settings.solver === 'auto';
      const useNewton = settings.solver === 'newton' || (auto && (newtonFromNowOn || elementCount(y0) <= AUTO_NEWTON_MAX_SIZE));
      try {
        if (useNewton) return yield* newtonSolve(name, f, t1, base, y, h * theta, settings, stats);
        try {
          return yield* fixedPointSolve(name, f, t1, base, y, h * theta, settings, stats);
        } catch (e) {
          // 'auto' on a large state tries fixed point first (Newton's Jacobian costs one VJP per
          // element); a step it cannot take is stiff (h·|∂f/∂y| ≥ 1), so Newton takes it and the rest.
          if (!auto || !(e instanceof ConvergenceError)) throw e;
          newtonFromNowOn = true;
          return yield* newtonSolve(name, f, t1, base, y0.map((c) => c.clone()), h * theta, settings, stats);
        }
      } finally {
        disposeStates(base);
      }
    },
  };
}

/** Iterates y ← base + hθ f(t1, y) until the update is small. Takes ownership of `y`. */
function* fixedPointSolve(
  name: string,
  f: StateDynamics,
  t1: number,
  base: State,
  y: State,
  hTheta: number,
  settings: ImplicitSettings,
  stats: { implicitIterations: number },
): Reads<State> {
  let previousUpdate = Infinity;
  let growing = 0;
  for (let iter = 1; iter <= settings.maxIterations; iter++) {
    stats.implicitIterations++;
    const yNew = disposingOnThrow(y, () => tf.tidy(() => combine(base, hTheta, [1], [f(t1, y)])));
    const delta = tf.tidy(() => yNew.map((c, i) => tf.sub(c, y[i])));
    disposeStates(y);
    y = yNew;
    const update = yield* disposingOnStop([y, delta], scaledRms(delta, yNew, settings.tol, settings.tol));
    disposeStates(delta);
    if (update <= 1) return y;
    if (!Number.isFinite(update) || (update > previousUpdate && ++growing >= 3)) {
      disposeStates(y);
      const what = Number.isFinite(update) ? `update ratio ${update.toExponential(2)}` : 'the iterate overflowed to non-finite values';
      throw new ConvergenceError(name, t1, `fixed-point iteration diverges (${what} after ${iter} iterations)`);
    }
    previousUpdate = update;
  }
  disposeStates(y);
  throw new ConvergenceError(name, t1, `fixed-point iteration not converged after ${settings.maxIterations} iterations`);
}

/**
 * Simplified Newton on G(y) = y − base − hθ f(t1, y), with (I − hθ J) factored once per step at the
 * predictor. Takes ownership of `y`.
 */
function* newtonSolve(
  name: string,
  f: StateDynamics,
  t1: number,
  base: State,
  y: State,
  hTheta: number,
  settings: ImplicitSettings,
  stats: { implicitIterations: number },
): Reads<State> {
  const shapes = y.map((c) => c.shape);
  const n = elementCount(y);
  const jac = yield* disposingOnStop([y], jacobian(f, t1, y, n));
  let factors = disposingOnThrow(y, () => newtonFactors(name, t1, jac, n, hTheta));
  let iterations = 0;
  let previous = Infinity;
  for (let iter = 1; iter <= settings.maxIterations; iter++) {
    iterations = iter;
    stats.implicitIterations++;
    const residual = disposingOnThrow(y, () => newtonResidual(f, t1, y, base, hTheta));
    const g = yield* disposingOnStop([y], read(residual));
    const step = luSolve(factors, g as Float32Array);
    const delta = unflatten(Float32Array.from(step, (v) => -v), shapes);
    const yNew = tf.tidy(() => y.map((c, i) => tf.add(c, delta[i])));
    disposeStates(y);
    y = yNew;
    const update = yield* disposingOnStop([y, delta], scaledRms(delta, yNew, settings.tol, settings.tol));
    disposeStates(delta);
    if (update <= 1) return tf.engine().isTapeOn() ? yield* tapedNewtonStep(name, f, t1, base, y, hTheta) : y;
    if (!Number.isFinite(update)) break;
    // Simplified Newton keeps the Jacobian of the step's start. Where it stops contracting (a stiff
    // nonlinear term: J at the start far from J at the solution, as y′ = −1000y³ or Robertson's
    // kinetics), the Jacobian is taken again at the current iterate: full Newton's steps from there.
    if (update > 0.25 * previous) {
      const refreshed = yield* disposingOnStop([y], jacobian(f, t1, y, n));
      factors = disposingOnThrow(y, () => newtonFactors(name, t1, refreshed, n, hTheta));
    }
    previous = update;
  }
  disposeStates(y);
  const what = iterations < settings.maxIterations ? `Newton's update became non-finite at iteration ${iterations}` : `Newton iteration not converged after ${iterations} iterations`;
  throw new ConvergenceError(name, t1, what, NEWTON_HINT);
}

/**
 * Under a recording gradient tape: Newton's updates are host arithmetic, which the tape does not see
 * (it would record y1 = y0 + a constant). One more Newton step, recorded, from the converged y* taken
 * as a constant and with the exact inverse of I − hθ J(y*), gives y1's derivatives by the implicit
 * function theorem: dy1 = (I − hθ J)⁻¹ (d base + hθ ∂f/∂p dp). Takes ownership of `y`.
 */
function* tapedNewtonStep(name: string, f: StateDynamics, t1: number, base: State, y: State, hTheta: number): Reads<State> {
  const shapes = y.map((c) => c.shape);
  const n = elementCount(y);
  const values = yield* disposingOnStop([y], read(flatten(y)));
  disposeStates(y);
  const converged = unflatten(Float32Array.from(values), shapes);
  try {
    const factors = newtonFactors(name, t1, yield* jacobian(f, t1, converged, n), n, hTheta);
    // Column j of the inverse solves (I − hθJ) x = e_j; stored row-major for the product below.
    const inverse = new Float32Array(n * n);
    for (let j = 0; j < n; j++) {
      const e = new Float64Array(n);
      e[j] = 1;
      luSolve(factors, e).forEach((v, i) => (inverse[i * n + j] = v));
    }
    return tf.tidy(() => {
      const residual = newtonResidual(f, t1, converged, base, hTheta);
      const next = tf.sub(flatten(converged), tf.matMul(tf.tensor2d(inverse, [n, n]), residual.reshape([n, 1])).reshape([n]));
      let offset = 0;
      return shapes.map((shape) => {
        const size = shape.reduce((a, b) => a * b, 1);
        const part = next.slice(offset, size).reshape(shape);
        offset += size;
        return part;
      });
    });
  } finally {
    disposeStates(converged);
  }
}

/** The LU factors of Newton's matrix I − hθJ. @throws ConvergenceError when it is singular */
function newtonFactors(name: string, t1: number, jac: Float64Array, n: number, hTheta: number): NonNullable<ReturnType<typeof luFactor>> {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) m[i] = -hTheta * jac[i];
  for (let i = 0; i < n; i++) m[i * n + i] += 1;
  const factors = luFactor(m, n);
  if (!factors) throw new ConvergenceError(name, t1, 'the Newton matrix I − hθJ is singular', NEWTON_HINT);
  return factors;
}

/** G(y) = y − base − hθ f(t1, y), flattened: the residual Newton drives to zero. */
function newtonResidual(f: StateDynamics, t1: number, y: State, base: State, hTheta: number): tf.Tensor1D {
  return tf.tidy(() => {
    const fy = f(t1, y);
    return flatten(y.map((c, i) => tf.sub(c, tf.add(base[i], tf.mul(fy[i], hTheta)))));
  });
}

/** ∂f/∂y at (t, y), flattened over all components, row-major; one VJP per row. */
function* jacobian(f: StateDynamics, t: number, y: State, n: number): Reads<Float64Array> {
  const jac = new Float64Array(n * n);
  const shapes = y.map((c) => c.shape);
  // Zeros for components f does not depend on (a constant f has J = 0, not an error).
  const grad = (ys: State) =>
    firstOrderGradients(() => {
      const out = f(t, ys);
      return sumOf(out.map((o, i) => tf.sum(tf.mul(o, probe[i]))));
    }, ys).grads;
  let probe: State = [];
  for (let row = 0; row < n; row++) {
    const onehot = new Float32Array(n);
    onehot[row] = 1;
    probe = unflatten(onehot, shapes);
    try {
      jac.set(yield* read(tf.tidy(() => flatten(grad(y)))), row * n);
    } finally {
      disposeStates(probe);
    }
  }
  return jac;
}

/** Runs the reads of `steps`; if they throw or are stopped, frees the solver's own `states`. */
function* disposingOnStop<T>(states: State[], steps: Reads<T>): Reads<T> {
  let done = false;
  try {
    const value = yield* steps;
    done = true;
    return value;
  } finally {
    if (!done) disposeStates(...states);
  }
}

/** Runs `evaluate` (which calls the user's f); if it throws, frees the iterate `y` the solver owns. */
function disposingOnThrow<T>(y: State, evaluate: () => T): T {
  try {
    return evaluate();
  } catch (e) {
    disposeStates(y);
    throw e;
  }
}

function flatten(parts: State): tf.Tensor1D {
  return tf.tidy(() => tf.concat(parts.map((p) => p.reshape([-1]))) as tf.Tensor1D);
}

function unflatten(values: Float32Array, shapes: number[][]): State {
  let offset = 0;
  return shapes.map((shape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const part = tf.tensor(values.subarray(offset, offset + size), shape);
    offset += size;
    return part;
  });
}
