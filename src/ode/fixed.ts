/**
 * The fixed-step driver: equal steps inside each output interval, landing exactly on every output
 * time, so no interpolation error is added to the method's own.
 */
import { MaxStepsError } from '../errors.js';
import { disposeStates, type State, type StateDynamics } from './state.js';
import type { OdeStats } from './stats.js';
import type { StepObserver } from './adaptive.js';
import type { Reads } from './host_reads.js';
import type { FixedStepper } from './stepper.js';

/**
 * Integrates from ts[0] through every ts[i]. Each interval [ts[i], ts[i+1]] is cut into
 * ceil(|Δ| / stepSize) equal steps (one step when stepSize is undefined).
 * @returns the states at every output time; the caller owns them (the first is a clone of y0)
 */
export function* integrateFixed(
  stepper: FixedStepper,
  f: StateDynamics,
  y0: State,
  ts: readonly number[],
  stepSize: number | undefined,
  maxSteps: number,
  stats: OdeStats,
  onStep?: StepObserver,
): Reads<State[]> {
  // The steps are known up front: too many is said before any is taken, with the advice that fits.
  const counts = ts.slice(1).map((t, i) => stepsIn(t - ts[i], stepSize));
  const total = counts.reduce((a, b) => a + b, 0);
  if (stats.acceptedSteps + total > maxSteps) {
    const tEnd = ts[ts.length - 1];
    throw new MaxStepsError(maxSteps, ts[0], tEnd, `stepSize ${stepSize} takes ${total} steps from t=${ts[0]} to t=${tEnd}, more than maxSteps (${maxSteps}); raise maxSteps or take a larger stepSize`);
  }
  const outputs: State[] = [y0.map((c) => c.clone())];
  let y = outputs[0];
  // A finally, not a catch: a driver that stops reading (generator return) must free these too.
  let completed = false;
  try {
    for (let i = 0; i + 1 < ts.length; i++) {
      const span = ts[i + 1] - ts[i];
      const n = counts[i];
      const h = span / n;
      stepper.reset?.();
      for (let k = 0; k < n; k++) {
        const next = yield* stepper.step(f, ts[i] + k * h, y, h, stats);
        stats.acceptedSteps++;
        onStep?.(k + 1 === n ? ts[i + 1] : ts[i] + (k + 1) * h, next);
        if (k > 0) for (const c of y) c.dispose();
        y = next;
      }
      outputs.push(y);
    }
    completed = true;
  } finally {
    stepper.reset?.();
    if (!completed) {
      if (!outputs.includes(y)) disposeStates(y);
      disposeStates(...outputs);
    }
  }
  return outputs;
}

/** Equal steps of at most `stepSize` across `span` (one without a stepSize). */
function stepsIn(span: number, stepSize: number | undefined): number {
  // The 1e-9 slack keeps a span that is an exact multiple of stepSize from gaining a sliver step.
  return stepSize === undefined ? 1 : Math.max(1, Math.ceil(Math.abs(span) / stepSize - 1e-9));
}
