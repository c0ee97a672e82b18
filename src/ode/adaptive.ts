/**
 * The adaptive driver: embedded error estimate, PI step-size control, FSAL reuse and dense output.
 * Times live on the host in float64; the only host read per step is the error norm, yielded to the
 * driver (ode/host_reads.ts), which reads it synchronously or asynchronously.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MaxStepsError, NonFiniteError, StepSizeError } from '../errors.js';
import { StepSizeController, initialStepSize, type ControllerSettings } from './controller.js';
import { disposeRkStep, rkStep } from './explicit.js';
import { denseOutput } from './interpolate.js';
import { readNumber, type Reads } from './host_reads.js';
import { allFinite, scaledRmsNorm } from './norms.js';
import { disposeStates, type State, type StateDynamics } from './state.js';
import type { OdeStats } from './stats.js';
import type { ButcherTableau } from './tableaus.js';

/** What the adaptive driver needs beyond the problem. */
export interface AdaptiveSettings {
  readonly rtol: number;
  readonly atol: number;
  readonly firstStep?: number;
  readonly maxSteps: number;
  readonly controller: ControllerSettings;
  /** Components that steer the step size (all when omitted): the seminorm leaves some out. */
  readonly normMask?: readonly boolean[];
  /** Sees the state after every accepted step (the driver owns it: clone what you keep). */
  readonly onStep?: StepObserver;
}

/** Called with the time and state after each step of a solve. */
export type StepObserver = (t: number, y: State) => void;

/**
 * Integrates from ts[0] through every ts[i] with an embedded Runge–Kutta pair.
 * @returns the states at every output time; the caller owns them (the first is a clone of y0)
 * @throws StepSizeError when the step size underflows, MaxStepsError past `maxSteps` attempts,
 *   NonFiniteError when f is NaN/Inf at the start
 */
export function* integrateAdaptive(
  tableau: ButcherTableau,
  f: StateDynamics,
  y0: State,
  ts: readonly number[],
  settings: AdaptiveSettings,
  stats: OdeStats,
): Reads<State[]> {
  const { rtol, atol, maxSteps, normMask } = settings;
  const t0 = ts[0];
  const tEnd = ts[ts.length - 1];
  const outputs: State[] = [y0.map((c) => c.clone())];
  if (ts.length === 1) return outputs;

  // The components that steer the step size (the step's error estimate holds only those).
  const steering = (s: State) => (normMask ? s.filter((_, c) => normMask[c]) : s);
  const direction = Math.sign(tEnd - t0);
  const controller = new StepSizeController(Math.min(tableau.order, tableau.embeddedOrder ?? tableau.order) + 1, settings.controller);
  let t = t0;
  let y: State = outputs[0];
  let f0: State = [];
  let next = 1;
  let attempts = 0;
  const minStep = 4 * Number.EPSILON * Math.max(Math.abs(t0), Math.abs(tEnd), Math.abs(tEnd - t0));
  // A finally, not a catch: a driver that stops reading (generator return) must free these too.
  let completed = false;
  try {
    f0 = f(t, y);
    if (!(yield* allFinite(f0))) throw new NonFiniteError(t0, 'f(t0, y0) is not finite; check the dynamics and y0');
    let h = settings.firstStep !== undefined
      ? direction * settings.firstStep
      : (yield* initialStepSize(f, t, y, f0, tableau.order, rtol, atol, direction, normMask)).h;
    h = direction * Math.min(Math.abs(h), settings.controller.maxStepSize);
    while (next < ts.length) {
      if (attempts >= maxSteps) throw new MaxStepsError(maxSteps, t, tEnd);
      attempts++;
      const lands = (t + h - tEnd) * direction >= 0;
      const tNew = lands ? tEnd : t + h;
      // The step actually taken: at large |t| (say 1e15) t + h rounds, and stepping by the h that
      // did not round while landing on tNew lost accuracy.
      h = tNew - t;
      if (h === 0) throw new StepSizeError(t, tNew - t, `the tolerance asks for steps finer than float64 time resolves at t = ${t}; shift the times nearer 0, or loosen rtol/atol`);

      const step = rkStep(tableau, f, t, y, f0, h, normMask);
      let err = NaN;
      let measured = false;
      try {
        err = yield* readNumber(scaledRmsNorm(step.err!, steering(y), steering(step.y1), rtol, atol));
        measured = true;
      } finally {
        if (!measured) disposeRkStep(step);
      }

      if (!(err <= 1)) {
        disposeRkStep(step);
        stats.rejectedSteps++;
        h = controller.rejected(h, err);
        if (Math.abs(h) < minStep) throw yield* underflow(t, h, err, y);
        continue;
      }

      stats.acceptedSteps++;
      settings.onStep?.(tNew, step.y1);
      const f1 = step.f1 ?? f(tNew, step.y1);
      while (next < ts.length && (ts[next] - tNew) * direction <= 0) {
        const tOut = ts[next];
        outputs.push(tOut === tNew ? step.y1.map((c) => c.clone()) : denseOutput(tableau, y, h, step.ks, f1, (tOut - t) / h));
        next++;
      }
      disposeRkStep(step, [...step.y1, ...f1]);
      if (!outputs.includes(y)) disposeStates(y);
      disposeStates(f0);
      y = step.y1;
      f0 = f1;
      const hTaken = h;
      t = tNew;
      h = controller.accepted(hTaken, err);
    }
    completed = true;
  } finally {
    if (!outputs.includes(y)) disposeStates(y);
    disposeStates(f0);
    if (!completed) disposeStates(...outputs);
  }
  return outputs;
}

function* underflow(t: number, h: number, err: number, y: State): Reads<StepSizeError> {
  if (!Number.isFinite(err)) {
    return new StepSizeError(t, h, 'the error estimate is NaN/Inf: f produced non-finite values; the solution may blow up here');
  }
  const yMax = yield* readNumber(tf.tidy(() => tf.max(tf.stack(y.map((c) => tf.max(tf.abs(c)))))));
  return new StepSizeError(
    t,
    h,
    `|y| reached ${yMax.toExponential(2)}: the solution may blow up in finite time near here, ` +
      `the problem may be stiff (try implicit_euler or trapezoid), or rtol/atol are below float32 resolution (~1e-7 relative)`,
  );
}
