/**
 * Step-size control for adaptive methods: Hairer's initial-step heuristic and a PI controller
 * (Hairer, Nørsett & Wanner, Solving ODEs I, II.4; Gustafsson's PI idea as in DOPRI5).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Reads } from './host_reads.js';
import { scaledRms } from './norms.js';
import { combine, type State, type StateDynamics } from './state.js';

/** How the next step size is chosen from the error ratio. */
export type ControllerKind = 'pi' | 'integral';

/** The controller's constants. */
export interface ControllerSettings {
  readonly kind: ControllerKind;
  /** Safety factor applied to the optimal step. */
  readonly safety: number;
  /** Smallest factor by which one step may shrink the step size. */
  readonly minFactor: number;
  /** Largest factor by which one step may grow the step size. */
  readonly maxFactor: number;
  /** Upper bound on |h|. */
  readonly maxStepSize: number;
}

/** Weight of the previous error in the PI controller (Hairer's DOPRI5 uses 0.04). */
const PI_BETA = 0.04;

/**
 * Chooses step sizes from error ratios (err ≤ 1 means accepted). `q` is the order of the error
 * estimate plus one, so that err ∝ h^q.
 */
export class StepSizeController {
  private previousError = 1e-4;
  private justRejected = false;
  private readonly alpha: number;

  constructor(
    private readonly q: number,
    private readonly settings: ControllerSettings,
  ) {
    this.alpha = settings.kind === 'pi' ? 1 / q - 0.75 * PI_BETA : 1 / q;
  }

  /** Next step size after accepting a step of size h with error ratio err ≤ 1. */
  accepted(h: number, err: number): number {
    const { safety, minFactor, maxFactor, kind } = this.settings;
    let factor: number;
    if (err === 0) factor = maxFactor;
    else {
      const memory = kind === 'pi' ? Math.pow(this.previousError, PI_BETA) : 1;
      factor = (safety * memory) / Math.pow(err, this.alpha);
      // The integral controller never shrinks after an accepted step (torchdiffeq's rule).
      factor = Math.min(maxFactor, Math.max(kind === 'pi' ? minFactor : 1, factor));
    }
    if (this.justRejected) factor = Math.min(factor, 1);
    this.previousError = Math.max(err, 1e-4);
    this.justRejected = false;
    return this.bound(h * factor);
  }

  /** Next step size after rejecting a step of size h with error ratio err > 1 (or NaN). */
  rejected(h: number, err: number): number {
    const { safety, minFactor } = this.settings;
    const factor = Number.isFinite(err) ? Math.max(minFactor, safety / Math.pow(err, 1 / this.q)) : minFactor;
    this.justRejected = true;
    return h * Math.min(factor, 0.9);
  }

  private bound(h: number): number {
    const max = this.settings.maxStepSize;
    return Math.abs(h) > max ? Math.sign(h) * max : h;
  }
}

/**
 * Hairer's starting step: balance h·|f0| against |y0| and the change of f over a trial Euler step.
 * Costs one evaluation of f. `direction` is ±1, `order` the method's order.
 * @returns the signed first step size and the evaluations spent
 */
export function* initialStepSize(
  f: StateDynamics,
  t0: number,
  y0: State,
  f0: State,
  order: number,
  rtol: number,
  atol: number,
  direction: number,
  mask?: readonly boolean[],
): Reads<{ h: number; nfe: number }> {
  const d0 = yield* scaledRms(y0, y0, rtol, atol, mask);
  const d1 = yield* scaledRms(f0, y0, rtol, atol, mask);
  const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * (d0 / d1);
  const y1 = tf.tidy(() => combine(y0, direction * h0, [1], [f0]));
  const f1 = f(t0 + direction * h0, y1);
  const diff = tf.tidy(() => f1.map((c, i) => tf.sub(c, f0[i])));
  tf.dispose([...y1, ...f1]);
  let d2: number;
  try {
    d2 = (yield* scaledRms(diff, y0, rtol, atol, mask)) / h0;
  } finally {
    tf.dispose(diff);
  }
  const dMax = Math.max(d1, d2);
  const h1 = dMax <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : Math.pow(0.01 / dMax, 1 / (order + 1));
  const h = Math.min(100 * h0, h1);
  return { h: direction * (Number.isFinite(h) ? h : 1e-6), nfe: 1 };
}
