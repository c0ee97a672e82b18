/**
 * The errors cnfkit throws. Every message names the function, the argument or the place in the solve,
 * what was expected, and how to fix it.
 */

/**
 * Base class of every error cnfkit throws on purpose; `instanceof CnfkitError` catches them all.
 * @example
 * ```ts
 * try {
 *   odeint((t, y) => y, tf.ones([1]), [0, 0]);
 * } catch (e) {
 *   if (!(e instanceof CnfkitError)) throw e;
 *   console.log(e.name, e.message);   // InputError odeint: 'ts' must be strictly …
 * }
 * ```
 */
export class CnfkitError extends Error {
  /** The class's name, as a literal: a minifier renames classes, and `e.name` must survive it. */
  override name = 'CnfkitError';
}

/**
 * An argument of a public function is invalid (shape, dtype, NaN/Inf, non-monotonic times, a
 * tolerance ≤ 0, an unknown method or option, dynamics returning the wrong shape, bad training data
 * or options). Every cnfkit function raises it for its arguments; `argument` names the one at fault.
 * @example
 * ```ts
 * try {
 *   odeint((t, y) => y, tf.ones([1]), [0, 1], { rtol: 0 });
 * } catch (e) {
 *   console.log((e as InputError).argument);   // options.rtol
 * }
 * ```
 */
export class InputError extends CnfkitError {
  /** 'InputError' (see {@link CnfkitError.name}). */
  override name = 'InputError';
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

/** Refuses a key `options` does not have (a misspelt option is otherwise ignored silently). */
export function rejectUnknownOptions(fn: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new InputError(fn, `options.${key}`, `is not an option; known options are ${known.join(', ')}`);
  }
}

/**
 * The name cnfkit 0.1 gave {@link InputError}; the same class, so code that catches it keeps
 * catching every bad argument (of the CNF and training too, as before).
 * @deprecated use InputError
 * @example
 * ```ts
 * try {
 *   new CNF({ dim: 0 });
 * } catch (e) {
 *   console.log(e instanceof OdeInputError, e instanceof InputError);   // true true
 * }
 * ```
 */
export const OdeInputError = InputError;
/** @deprecated use InputError */
export type OdeInputError = InputError;

/**
 * Training blew up: the loss became NaN/Inf, or an update would overflow a weight. The weights of
 * the last good iteration stay in place. A kind of {@link InputError} naming the learning rate (the
 * usual fix), so code that caught divergence as an input error still does.
 * @example
 * ```ts
 * const flow = new CNF({ dim: 2, hiddenDims: [4] });
 * try {
 *   await flow.fit(toyData('moons', 256), { iterations: 5, learningRate: 1e38, objective: 'flow-matching' });
 * } catch (e) {
 *   console.log(e instanceof DivergenceError, (e as DivergenceError).iteration);   // true 1 (or soon after)
 * }
 * flow.dispose();
 * ```
 */
export class DivergenceError extends InputError {
  /** 'DivergenceError' (see {@link CnfkitError.name}). */
  override name = 'DivergenceError';
  constructor(
    fn: string,
    /** The iteration at which training diverged. */
    readonly iteration: number,
    /** The loss at that iteration (NaN or ±Infinity, or finite when an update overflowed; NaN when its solve failed). */
    readonly loss: number,
    /** The solver's error, when the last update made the dynamics unsolvable. */
    readonly solverError?: Error,
  ) {
    const what = solverError ? `its ODE solve failed (${solverError.message.split('\n')[0]})` : `loss ${loss}`;
    super(fn, 'options.learningRate', `training diverged at iteration ${iteration} (${what}); lower the learning rate`);
  }
}

/**
 * cnfkit's own WebAssembly kernels failed or were used wrongly (not loaded, a workspace too small, a
 * state that does not fit): a bug or a misuse inside cnfkit, never silently wrong numbers.
 * @example
 * ```ts
 * console.log(new KernelError('the wasm kernels are not loaded').message);
 * ```
 */
export class KernelError extends CnfkitError {
  /** 'KernelError' (see {@link CnfkitError.name}). */
  override name = 'KernelError';
}

/**
 * The adaptive step size fell below what float64 time can resolve: a blow-up, stiffness, or NaN.
 * @example
 * ```ts
 * try {
 *   odeint((t, y) => tf.square(y), tf.ones([1]), [0, 2]);   // y' = y² blows up at t = 1
 * } catch (e) {
 *   console.log(e instanceof StepSizeError, (e as StepSizeError).t);   // true ~1
 * }
 * ```
 */
export class StepSizeError extends CnfkitError {
  /** 'StepSizeError' (see {@link CnfkitError.name}). */
  override name = 'StepSizeError';
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

/**
 * The solve needed more steps than `maxSteps` allows.
 * @example
 * ```ts
 * try {
 *   odeint((t, y) => tf.neg(y), tf.ones([1]), [0, 100], { method: 'rk4', stepSize: 0.01, maxSteps: 50 });
 * } catch (e) {
 *   console.log(e instanceof MaxStepsError, (e as MaxStepsError).t);   // true 0.5
 * }
 * ```
 */
export class MaxStepsError extends CnfkitError {
  /** 'MaxStepsError' (see {@link CnfkitError.name}). */
  override name = 'MaxStepsError';
  constructor(
    /** The limit that was reached. */
    readonly maxSteps: number,
    /** The time the solve reached. */
    readonly t: number,
    /** The final time it was heading for. */
    readonly tEnd: number,
    /** The message, when the adaptive solver's advice does not fit (a fixed-step solve). */
    message = `${maxSteps} steps reached at t=${t} before t=${tEnd}; raise maxSteps, loosen rtol/atol, or use an implicit method if the problem is stiff`,
  ) {
    super(message);
  }
}

/**
 * The nonlinear iteration of an implicit method did not converge within its iteration limit.
 * @example
 * ```ts
 * try {
 *   const stiff = (t: tf.Scalar, y: tf.Tensor) => tf.mul(-100, y);
 *   odeint(stiff, tf.ones([1]), [0, 1], { method: 'implicit_euler', stepSize: 0.1, implicitSolver: 'fixed-point' });
 * } catch (e) {
 *   console.log(e instanceof ConvergenceError);   // true: use implicitSolver 'newton'
 * }
 * ```
 */
export class ConvergenceError extends CnfkitError {
  /** 'ConvergenceError' (see {@link CnfkitError.name}). */
  override name = 'ConvergenceError';
  constructor(
    /** The implicit method. */
    readonly method: string,
    /** The end time of the step whose equation did not converge. */
    readonly t: number,
    /** What the iteration did. */
    readonly detail: string,
    /** What to do about it. */
    hint = "use a smaller stepSize, or implicitSolver: 'newton' for stiff problems",
  ) {
    super(`${method}: the implicit equation at t=${t} did not converge (${detail}); ${hint}`);
  }
}

/**
 * The dynamics produced NaN or Inf during a solve.
 * @example
 * ```ts
 * try {
 *   odeint((t, y) => tf.pow(y, 4), tf.ones([1]), [0, 1, 2, 3], { method: 'euler', stepSize: 0.5 });
 * } catch (e) {
 *   console.log(e instanceof NonFiniteError, (e as NonFiniteError).t);   // true 3
 * }
 * ```
 */
export class NonFiniteError extends CnfkitError {
  /** 'NonFiniteError' (see {@link CnfkitError.name}). */
  override name = 'NonFiniteError';
  constructor(
    /** The time at which NaN or Inf was found. */
    readonly t: number,
    detail: string,
  ) {
    super(`non-finite values (NaN or Inf) at t=${t}: ${detail}`);
  }
}

/**
 * A model file or folder cannot be written or read: the target is a file, read-only, in a pseudo
 * filesystem or holds files cnfkit did not write; or a saved model is missing, corrupt or does not
 * fit its options. The message names the path and, for a corrupt model, the file and the field.
 * @example
 * ```ts
 * try {
 *   await CNF.load('runs/no-such-model');
 * } catch (e) {
 *   console.log(e instanceof ModelFileError, (e as ModelFileError).path);   // true …/runs/no-such-model
 * }
 * ```
 */
export class ModelFileError extends CnfkitError {
  /** 'ModelFileError' (see {@link CnfkitError.name}). */
  override name = 'ModelFileError';
  /**
   * @param fn - the public function that was called, e.g. `CNF.save`
   * @param path - the folder or file at fault
   * @param problem - what is wrong with it and what to do
   */
  constructor(
    /** The public function that was called. */
    readonly fn: string,
    /** The folder or file at fault. */
    readonly path: string,
    /** What is wrong with it and what to do (the message without the function and path). */
    readonly problem: string,
  ) {
    super(`${fn}: ${path} ${problem}`);
  }
}
