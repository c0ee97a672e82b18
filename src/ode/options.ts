/**
 * The options of `odeint`: one interface with documented defaults, one resolver that checks every
 * field and returns the complete settings. Unknown keys throw.
 */
import { shownValue } from '../shown_value.js';
import { InputError, rejectUnknownOptions } from '../errors.js';
import type { ControllerKind } from './controller.js';
import type { ImplicitSolver } from './implicit.js';
import { METHODS, SOLVERS, type MethodName } from './solvers.js';
import type { OdeStats } from './stats.js';

/** Options of {@link odeint}. */
export interface OdeintOptions {
  /**
   * The integration method, one of {@link METHODS}.
   * @defaultValue `'dopri5'`
   */
  method?: MethodName;
  /**
   * Relative tolerance of adaptive methods. Float32 states resolve about 1e-7 relative, so values
   * much below 1e-6 cannot be met.
   * @defaultValue `1e-5`
   */
  rtol?: number;
  /**
   * Absolute tolerance of adaptive methods.
   * @defaultValue `1e-6`
   */
  atol?: number;
  /**
   * Step size of fixed-step methods: each output interval is cut into ceil(|Δt| / stepSize) equal
   * steps, landing exactly on every output time (so output times closer than stepSize each cost a
   * step; adaptive methods give any number of output times at no extra evaluations, by dense
   * output). Omitted: one step per output interval.
   */
  stepSize?: number;
  /** First step of adaptive methods (positive; its sign follows the direction of `ts`). Omitted: Hairer's heuristic. */
  firstStep?: number;
  /**
   * Largest number of steps (accepted and rejected) in one solve.
   * @defaultValue `10000`
   */
  maxSteps?: number;
  /**
   * Largest step an adaptive method may take.
   * @defaultValue `Infinity`
   */
  maxStepSize?: number;
  /**
   * Safety factor of the step-size controller.
   * @defaultValue `0.9`
   */
  safety?: number;
  /**
   * Smallest factor by which one step may shrink the next.
   * @defaultValue `0.2`
   */
  minFactor?: number;
  /**
   * Largest factor by which one step may grow the next.
   * @defaultValue `10`
   */
  maxFactor?: number;
  /**
   * Step-size controller: `'pi'` (proportional–integral, Hairer's DOPRI5 constants) or `'integral'`
   * (the classic controller, as torchdiffeq uses).
   * @defaultValue `'pi'`
   */
  controller?: ControllerKind;
  /**
   * Nonlinear solver of implicit methods: `'newton'` (Jacobian from one VJP per state element),
   * `'fixed-point'`, or `'auto'` (Newton up to 100 state elements).
   * @defaultValue `'auto'`
   */
  implicitSolver?: ImplicitSolver;
  /**
   * Iteration limit of the nonlinear solver of implicit methods.
   * @defaultValue `50`
   */
  implicitMaxIterations?: number;
  /**
   * Convergence tolerance of the nonlinear solver: stop when the update is below tol·(1 + |y|).
   * @defaultValue `1e-6`
   */
  implicitTol?: number;
  /** An object the solver fills with its statistics (see {@link createStats}). */
  stats?: OdeStats;
}

/** Every option filled in. */
export type ResolvedOdeintOptions = Required<Omit<OdeintOptions, 'stepSize' | 'firstStep' | 'stats'>> &
  Pick<OdeintOptions, 'stepSize' | 'firstStep' | 'stats'>;

/** The defaults, in one place. */
export const ODEINT_DEFAULTS = {
  method: 'dopri5',
  rtol: 1e-5,
  atol: 1e-6,
  maxSteps: 10_000,
  maxStepSize: Infinity,
  safety: 0.9,
  minFactor: 0.2,
  maxFactor: 10,
  controller: 'pi',
  implicitSolver: 'auto',
  implicitMaxIterations: 50,
  implicitTol: 1e-6,
} as const satisfies Omit<ResolvedOdeintOptions, 'stats'>;

const KNOWN_KEYS = [...Object.keys(ODEINT_DEFAULTS), 'stepSize', 'firstStep', 'stats'];

/**
 * Checks `options` and fills in the defaults.
 * @param fn - the calling function, for error messages
 * @param extraKeys - keys a wrapper (e.g. `odeintAdjoint`) handles itself and that are allowed here
 */
export function resolveOdeintOptions(fn: string, options: object, extraKeys: readonly string[] = []): ResolvedOdeintOptions {
  if (options === null || typeof options !== 'object') {
    throw new InputError(fn, 'options', `must be an object, but got ${options === null ? 'null' : typeof options}`);
  }
  rejectUnknownOptions(fn, options, [...KNOWN_KEYS, ...extraKeys]);
  const given = options as OdeintOptions;
  const resolved = { ...ODEINT_DEFAULTS, ...withoutUndefined(given) } as ResolvedOdeintOptions;

  if (!METHODS.includes(resolved.method)) {
    throw new InputError(fn, 'options.method', `must be one of ${METHODS.join(', ')}, but got ${JSON.stringify(resolved.method)}`);
  }
  for (const key of ['rtol', 'atol', 'safety', 'maxFactor', 'implicitTol'] as const) requirePositive(fn, key, resolved[key]);
  requirePositive(fn, 'maxStepSize', resolved.maxStepSize, true);
  if (resolved.rtol < MIN_RTOL) throw new InputError(fn, 'options.rtol', rtolTooSmall(resolved.rtol));
  // A relative tolerance of 100 % or more controls nothing (rtol: 1 with a large atol gave y(10) = 176 for y′ = −y).
  if (!(resolved.rtol < 1)) throw new InputError(fn, 'options.rtol', `must be below 1 (a fraction of the solution's size), but got ${resolved.rtol}`);
  if (!(resolved.safety < 1)) throw new InputError(fn, 'options.safety', `must be in (0, 1), but got ${resolved.safety}`);
  if (!(resolved.minFactor > 0 && resolved.minFactor < 1)) {
    throw new InputError(fn, 'options.minFactor', `must be in (0, 1), but got ${shownValue(resolved.minFactor)}`);
  }
  if (!(resolved.maxFactor > 1)) throw new InputError(fn, 'options.maxFactor', `must be > 1, but got ${shownValue(resolved.maxFactor)}`);
  for (const key of ['maxSteps', 'implicitMaxIterations'] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) {
      throw new InputError(fn, `options.${key}`, `must be a positive integer, but got ${shownValue(resolved[key])}`);
    }
  }
  if (!['pi', 'integral'].includes(resolved.controller)) {
    throw new InputError(fn, 'options.controller', `must be 'pi' or 'integral', but got ${JSON.stringify(resolved.controller)}`);
  }
  if (!['auto', 'newton', 'fixed-point'].includes(resolved.implicitSolver)) {
    throw new InputError(fn, 'options.implicitSolver', `must be 'auto', 'newton' or 'fixed-point', but got ${JSON.stringify(resolved.implicitSolver)}`);
  }
  const adaptive = SOLVERS[resolved.method].adaptive;
  if (resolved.stepSize !== undefined) {
    requirePositive(fn, 'stepSize', resolved.stepSize);
    if (adaptive) {
      throw new InputError(fn, 'options.stepSize', `applies to fixed-step methods only; '${resolved.method}' is adaptive (use firstStep or maxStepSize)`);
    }
  }
  if (resolved.firstStep !== undefined) {
    requirePositive(fn, 'firstStep', resolved.firstStep);
    if (!adaptive) {
      throw new InputError(fn, 'options.firstStep', `applies to adaptive methods only; '${resolved.method}' is fixed-step (use stepSize)`);
    }
  }
  if (resolved.stats !== undefined && (typeof resolved.stats !== 'object' || resolved.stats === null)) {
    throw new InputError(fn, 'options.stats', 'must be an object to fill in (see createStats())');
  }
  return resolved;
}

/**
 * Refuses options the caller gave that `method` would ignore (a fixed-step method's steps are
 * stepSize's alone: `rk4` with maxStepSize 0.01 took one step of 1.0; an explicit method has no
 * implicit equation). For the options a user passes; cnfkit's own calls fill in defaults freely.
 */
export function rejectInapplicableOptions(fn: string, given: object, method: MethodName): void {
  const set = (key: string) => (given as Record<string, unknown>)[key] !== undefined;
  const { adaptive, implicit } = SOLVERS[method];
  const stepControl = ['rtol', 'atol', 'maxStepSize', 'safety', 'minFactor', 'maxFactor', 'controller'].filter(set);
  if (!adaptive && stepControl.length) {
    throw new InputError(fn, `options.${stepControl[0]}`, `applies to adaptive methods only; '${method}' is fixed-step: its steps are set by stepSize (one step per output interval without it)`);
  }
  const iteration = ['implicitSolver', 'implicitTol', 'implicitMaxIterations'].filter(set);
  if (!implicit && iteration.length) throw new InputError(fn, `options.${iteration[0]}`, `applies to the implicit methods (implicit_euler, trapezoid) only; '${method}' is explicit`);
}

function requirePositive(fn: string, key: string, value: unknown, allowInfinity = false): void {
  const ok = typeof value === 'number' && value > 0 && (allowInfinity ? !Number.isNaN(value) : Number.isFinite(value));
  if (!ok) throw new InputError(fn, `options.${key}`, `must be a positive ${allowInfinity ? '' : 'finite '}number, but got ${shownValue(value)}`);
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The smallest rtol a float32 state can honour: below it the error estimate is rounding noise, and
 * measured solves came back 30-40x less accurate than at 1e-7, or ran out of steps.
 */
export const MIN_RTOL = 1e-7;

/** The message for an rtol below {@link MIN_RTOL}. */
export function rtolTooSmall(rtol: number): string {
  return `is ${rtol}, below what float32 states resolve (~6e-8 relative): the error estimate there is rounding noise, and the answer gets worse, not better; use ${MIN_RTOL} or more`;
}
