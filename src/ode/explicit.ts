/**
 * The one explicit Runge–Kutta loop: every explicit method is a tableau run by `rkStep`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { combine, combineComponent, weightedSum, type State, type StateDynamics } from './state.js';
import { isFsal, type ButcherTableau } from './tableaus.js';
import type { FixedStepper } from './stepper.js';

/** One attempted step: the new state, the stages (for dense output) and the error estimate. */
export interface RkStep {
  readonly y1: State;
  /** ks[0] is the f0 passed in (borrowed, not owned by the step). */
  readonly ks: State[];
  /** f(t1, y1) when the tableau is FSAL (then it is ks[last]). */
  readonly f1?: State;
  /** h Σ (b − b̂)_i k_i of the measured components only (in order), for adaptive tableaus. */
  readonly err?: State;
}

/**
 * Takes one step of size h (negative to go backwards) from (t0, y0), given f0 = f(t0, y0).
 * Components that f leaves unread (`f.unread`) get no stage values, only their value at the end;
 * the error is estimated for the components `measured` marks (all when omitted; none when false).
 * The caller owns every returned tensor except ks[0].
 */
export function rkStep(
  tableau: ButcherTableau,
  f: StateDynamics,
  t0: number,
  y0: State,
  f0: State,
  h: number,
  measured?: readonly boolean[] | false,
): RkStep {
  const ks: State[] = [f0];
  const stages = tableau.c.length;
  const fsal = isFsal(tableau);
  const unread = f.unread;
  let y1: State | undefined;
  for (let i = 1; i < stages; i++) {
    const yi = tf.tidy(() => combine(y0, h, tableau.a[i], ks, unread));
    const own = (c: number) => !unread?.[c];
    try {
      ks.push(f(t0 + tableau.c[i] * h, yi));
    } catch (e) {
      // f threw (user code): free this step's stages before the error goes on.
      tf.dispose([...yi.filter((_, c) => own(c)), ...ks.slice(1).flat()]);
      throw e;
    }
    if (fsal && i === stages - 1) y1 = yi.map((c, j) => (own(j) ? c : tf.tidy(() => combineComponent(y0, h, tableau.b, ks, j))));
    else tf.dispose(yi.filter((_, c) => own(c)));
  }
  if (!y1) y1 = tf.tidy(() => combine(y0, h, tableau.b, ks));
  const err = tableau.bErr && measured !== false ? tf.tidy(() => weightedSum(h, tableau.bErr!, ks, measured)) : undefined;
  return { y1, ks, f1: fsal ? ks[stages - 1] : undefined, err };
}

/** Disposes what `rkStep` allocated, except the tensors listed in `keep`. */
export function disposeRkStep(step: RkStep, keep: readonly tf.Tensor[] = []): void {
  const kept = new Set(keep);
  const owned: tf.Tensor[] = [...step.y1, ...(step.err ?? [])];
  for (let i = 1; i < step.ks.length; i++) owned.push(...step.ks[i]);
  for (const t of new Set(owned)) if (!kept.has(t)) t.dispose();
}

/** An explicit Runge–Kutta method used with a fixed step: evaluates f at the step start each time. */
export function explicitFixedStepper(tableau: ButcherTableau): FixedStepper {
  return {
    *step(f, t0, y0, h) {
      const f0 = f(t0, y0);
      try {
        const step = rkStep(tableau, f, t0, y0, f0, h, false);
        disposeRkStep(step, step.y1);
        return step.y1;
      } finally {
        tf.dispose(f0);
      }
    },
  };
}
