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
  /** A fresh stepper for the fixed-step driver (fixed-step methods only). */
  readonly makeStepper?: (implicit: ImplicitSettings) => FixedStepper;
}

const explicitFixed = (tableau: ButcherTableau): SolverInfo => ({
  order: tableau.order,
  adaptive: false,
  implicit: false,
  tableau,
  makeStepper: () => explicitFixedStepper(tableau),
});

const adaptive = (tableau: ButcherTableau): SolverInfo => ({ order: tableau.order, adaptive: true, implicit: false, tableau });

const SOLVER_TABLE = {
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
} satisfies Record<string, SolverInfo>;

/** The name of a method `odeint` accepts. */
export type MethodName = keyof typeof SOLVER_TABLE;

/** Every method `odeint` accepts, by name. */
export const SOLVERS: Readonly<Record<MethodName, SolverInfo>> = Object.freeze(SOLVER_TABLE);

/** Every method name `odeint` accepts, fixed-step first, then adaptive. */
export const METHODS: readonly MethodName[] = Object.freeze(Object.keys(SOLVERS) as MethodName[]);

/** The registry entry of `method`. */
export function solverInfo(method: MethodName): SolverInfo {
  return SOLVERS[method];
}
