/**
 * The errors cnfkit throws. Every message names the function, the argument or the place in the solve,
 * what was expected, and how to fix it.
 */

/** Base class of every error cnfkit throws on purpose; `instanceof CnfkitError` catches them all. */
export class CnfkitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * An argument of a public function is invalid (shape, dtype, NaN/Inf, non-monotonic times,
 * tolerances ≤ 0, unknown method or option, dynamics returning the wrong shape).
 */
export class OdeInputError extends CnfkitError {
  /**
   * @param fn - the public function that was called, e.g. `odeint`
   * @param argument - the argument at fault, e.g. `ts` or `options.rtol`
   * @param problem - what was expected and what was given
   */
  constructor(
    /** The public function that was called. */
    readonly fn: string,
    /** The argument at fault. */
    readonly argument: string,
    problem: string,
  ) {
    super(`${fn}: '${argument}' ${problem}`);
  }
}

/** The adaptive step size fell below what float64 time can resolve: a blow-up, stiffness, or NaN. */
export class StepSizeError extends CnfkitError {
  constructor(
    /** The time the solve reached. */
    readonly t: number,
    /** The step size that fell below resolution. */
    readonly stepSize: number,
    reason: string,
  ) {
    super(`step size underflow: h=${stepSize.toExponential(3)} at t=${t}; ${reason}`);
  }
}

/** The solve needed more steps than `maxSteps` allows. */
export class MaxStepsError extends CnfkitError {
  constructor(
    /** The limit that was reached. */
    readonly maxSteps: number,
    /** The time the solve reached. */
    readonly t: number,
    /** The final time it was heading for. */
    readonly tEnd: number,
  ) {
    super(
      `${maxSteps} steps reached at t=${t} before t=${tEnd}; ` +
        `raise maxSteps, loosen rtol/atol, or use an implicit method if the problem is stiff`,
    );
  }
}

/** The nonlinear iteration of an implicit method did not converge within its iteration limit. */
export class ConvergenceError extends CnfkitError {
  constructor(
    /** The implicit method. */
    readonly method: string,
    /** The end time of the step whose equation did not converge. */
    readonly t: number,
    detail: string,
  ) {
    super(
      `${method}: the implicit equation at t=${t} did not converge (${detail}); ` +
        `use a smaller stepSize, or implicitSolver: 'newton' for stiff problems`,
    );
  }
}

/** The dynamics produced NaN or Inf during a solve. */
export class NonFiniteError extends CnfkitError {
  constructor(
    /** The time at which NaN or Inf was found. */
    readonly t: number,
    detail: string,
  ) {
    super(`non-finite values (NaN or Inf) at t=${t}: ${detail}`);
  }
}
