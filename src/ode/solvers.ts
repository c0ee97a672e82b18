/**
 * The one registry of methods: names, the `MethodName` type, `METHODS`, the "must be one of" message
 * and the tests all come from here.
 */
import { explicitFixedStepper } from './explicit.js';
import { thetaMethodStepper, type ImplicitSettings } from './implicit.js';
import { nystromStepper } from './multistep.js';
import type { FixedStepper } from './stepper.js';
import { TABLEAUS, type ButcherTableau } from './tableaus.js';

/** What a method is, for users (the solvers guide's table) and for the driver. */
export interface SolverInfo {
  /** Order of accuracy of the propagated solution. */
  readonly order: number;
  /** Whether the method chooses its own steps from an error estimate. */
  readonly adaptive: boolean;
  /** Whether each step solves a nonlinear equation. */
  readonly implicit: boolean;
  /** The tableau of an explicit Runge–Kutta method. */
  readonly tableau?: ButcherTableau;
}

/** A registry entry: the public facts plus, for fixed-step methods, how to make their stepper. */
interface SolverEntry extends SolverInfo {
  readonly makeStepper?: (implicit: ImplicitSettings) => FixedStepper;
}

/** The name of a method `odeint` accepts. */
export type MethodName = 'euler' | 'midpoint' | 'rk4' | 'implicit_euler' | 'trapezoid' | 'nystrom2' | 'bosh3' | 'dopri5' | 'tsit5' | 'dopri8';

const explicitFixed = (tableau: ButcherTableau): SolverEntry => ({
  order: tableau.order,
  adaptive: false,
  implicit: false,
  tableau,
  makeStepper: () => explicitFixedStepper(tableau),
});

const adaptive = (tableau: ButcherTableau): SolverEntry => ({ order: tableau.order, adaptive: true, implicit: false, tableau });

const SOLVER_TABLE: Readonly<Record<MethodName, SolverEntry>> = {
  euler: explicitFixed(TABLEAUS.euler),
  midpoint: explicitFixed(TABLEAUS.midpoint),
  rk4: explicitFixed(TABLEAUS.rk4),
  implicit_euler: {
    order: 1,
    adaptive: false,
    implicit: true,
    makeStepper: (settings) => thetaMethodStepper('implicit_euler', 1, settings),
  },
  trapezoid: {
    order: 2,
    adaptive: false,
    implicit: true,
    makeStepper: (settings) => thetaMethodStepper('trapezoid', 0.5, settings),
  },
  nystrom2: { order: 2, adaptive: false, implicit: false, makeStepper: () => nystromStepper() },
  bosh3: adaptive(TABLEAUS.bosh3),
  dopri5: adaptive(TABLEAUS.dopri5),
  tsit5: adaptive(TABLEAUS.tsit5),
  dopri8: adaptive(TABLEAUS.dopri8),
};

/**
 * Every method `odeint` accepts, by name, with its order and kind.
 * @example
 * ```ts
 * const adaptive = METHODS.filter((m) => SOLVERS[m].adaptive);   // ['bosh3', 'dopri5', 'tsit5', 'dopri8']
 * console.log(SOLVERS.rk4.order, SOLVERS.trapezoid.implicit);      // 4 true
 * ```
 */
export const SOLVERS: Readonly<Record<MethodName, SolverInfo>> = Object.freeze(SOLVER_TABLE);

/**
 * Every method name `odeint` accepts, fixed-step first, then adaptive.
 * @example
 * ```ts
 * for (const method of METHODS) {
 *   const options = SOLVERS[method].adaptive ? {} : { stepSize: 0.1 };
 *   odeint((t, y) => tf.neg(y), tf.ones([1]), [0, 1], { method, ...options }).dispose();
 * }
 * ```
 */
export const METHODS: readonly MethodName[] = Object.freeze(Object.keys(SOLVERS) as MethodName[]);

/** A fresh stepper for a fixed-step method (undefined for adaptive methods). */
export function makeFixedStepper(method: MethodName, implicit: ImplicitSettings): FixedStepper | undefined {
  return SOLVER_TABLE[method].makeStepper?.(implicit);
}
