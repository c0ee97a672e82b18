/**
 * Solver statistics: how a result was obtained.
 */

/**
 * Counters of one solve. Pass an object as `options.stats` to `odeint` (or `odeintAdjoint`) and the
 * solver fills it in; create one with {@link createStats}.
 */
export interface OdeStats {
  /** Evaluations of the dynamics f. */
  nfe: number;
  /** Accepted steps (every step of a fixed-step method). */
  acceptedSteps: number;
  /** Rejected steps of an adaptive method. */
  rejectedSteps: number;
  /** Iterations of the nonlinear solver of an implicit method, summed over steps. */
  implicitIterations: number;
}

/**
 * A zeroed {@link OdeStats}, to pass as `options.stats`.
 * @returns `{ nfe: 0, acceptedSteps: 0, rejectedSteps: 0, implicitIterations: 0 }`
 * @example
 * ```ts
 * const stats = createStats();
 * odeint((t, y) => tf.neg(y), tf.ones([2]), [0, 1], { stats });
 * console.log(stats.nfe, stats.acceptedSteps);
 * ```
 */
export function createStats(): OdeStats {
  return { nfe: 0, acceptedSteps: 0, rejectedSteps: 0, implicitIterations: 0 };
}

/** Sets every counter of `stats` back to zero (in place, so the caller's object is the one filled). */
export function resetStats(stats: OdeStats): void {
  Object.assign(stats, createStats());
}

/** Adds every counter of `from` to `into` (a solve made of several, e.g. blocks or chunks). */
export function addStats(into: OdeStats, from: OdeStats): void {
  for (const key of Object.keys(into) as (keyof OdeStats)[]) into[key] += from[key];
}
