/**
 * The seam between the fixed-step driver and the methods it runs (explicit, implicit, multistep).
 */
import type { Reads } from './host_reads.js';
import type { State, StateDynamics } from './state.js';
import type { OdeStats } from './stats.js';

/** A method that advances the state by a given step; the driver chooses the steps. */
export interface FixedStepper {
  /**
   * Returns y(t0 + h) from y(t0). The caller owns the result and keeps ownership of y0.
   * Evaluations of f are counted by the caller's f; `stats` takes the method's own counters.
   * A generator: implicit methods yield the values they read (see ode/host_reads.ts).
   */
  step(f: StateDynamics, t0: number, y0: State, h: number, stats: OdeStats): Reads<State>;
  /** Forgets any history (multistep methods restart here); called at the start of each interval. */
  reset?(): void;
}
