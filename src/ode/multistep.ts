/**
 * The explicit two-step Nyström (leapfrog) method of the CNF note: y_{n+1} = y_{n−1} + 2h f(t_n, y_n).
 * Second order; it needs y_1, which one midpoint (Runge–Kutta) step provides at every restart.
 * Its parasitic root makes it weakly unstable on decaying problems over long spans.
 */
import * as tf from '@tensorflow/tfjs-core';
import { combine, disposeStates, type State } from './state.js';
import { explicitFixedStepper } from './explicit.js';
import type { FixedStepper } from './stepper.js';
import { TABLEAUS } from './tableaus.js';

/** A fresh nystrom2 stepper; it keeps y_{n−1} between calls until `reset`. */
export function nystromStepper(): FixedStepper {
  const starter = explicitFixedStepper(TABLEAUS.midpoint);
  let previous: State | undefined;
  return {
    reset() {
      disposeStates(previous);
      previous = undefined;
    },
    *step(f, t0, y0, h, stats) {
      const y1 = previous
        ? tf.tidy(() => {
            const f0 = f(t0, y0);
            return combine(previous!, 2 * h, [1], [f0]);
          })
        : yield* starter.step(f, t0, y0, h, stats);
      disposeStates(previous);
      previous = y0.map((c) => c.clone());
      return y1;
    },
  };
}
