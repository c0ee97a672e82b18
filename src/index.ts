/**
 * cnfkit: continuous normalizing flows on a general Neural ODE core, for TensorFlow.js.
 *
 * This file is the whole public API.
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * The tfjs-core instance cnfkit uses: the same module as `import * as tf from '@tensorflow/tfjs-core'`
 * (and the core inside `@tensorflow/tfjs`), so tensors, variables and backends are shared with yours.
 * It has no layers: `import * as tfl from '@tensorflow/tfjs-layers'` (or the whole `@tensorflow/tfjs`)
 * for models built from layers.
 */
export { tf };

export { ready, backendInfo, BACKEND_CHOICES } from './backend.js';
export type { BackendChoice, BackendInfo, ReadyOptions } from './backend.js';

export { odeint, odeintAsync } from './ode/odeint.js';
export { odeintAdjoint } from './ode/adjoint.js';
export type { OdeintAdjointOptions } from './ode/adjoint.js';
export type { Params, ParamSource, LayerWeight, WeightsOwner } from './ode/params.js';
export { odeintAdjointGrads } from './ode/adjoint_grads.js';
export type { AdjointGrads } from './ode/adjoint_grads.js';
export type { Dynamics } from './ode/checks.js';
export type { OdeintOptions } from './ode/options.js';
export { METHODS, SOLVERS } from './ode/solvers.js';
export type { MethodName, SolverInfo } from './ode/solvers.js';
export { TABLEAUS } from './ode/tableaus.js';
export type { ButcherTableau, TableauName } from './ode/tableaus.js';
export { createStats } from './ode/stats.js';
export type { OdeStats } from './ode/stats.js';
export type { ControllerKind } from './ode/controller.js';
export type { ImplicitSolver } from './ode/implicit.js';

export { matMul } from './nn/matmul.js';
export type { ActivationName } from './nn/activations.js';
export type { LayerKind } from './nn/layers.js';
export type { CustomDynamics } from './nn/vjp_dynamics.js';

export { CNF } from './flows/cnf.js';
export type { CnfOptions, ResolvedCnfOptions, LogProbOptions, LogProbTerms, SamplesWithLogProb, SaveOptions, Trajectory } from './flows/cnf_options.js';
export type { Standardization } from './flows/standardize.js';
export type { ModelLocation } from './io/model_store.js';
export type { BestValidation, FitOptions, FitReport, IterationRecord, Objective, TrainingData, TrainingState, SavedTensor } from './train/fit_options.js';
export type { AleaWords, RngState } from './random.js';
export type { Coupling } from './train/flow_matching.js';
export type { TraceMode, NoiseKind } from './flows/trace.js';

export { toyData, TOY_DATASETS, TOY_ENTROPY } from './data/toy.js';
export type { ToyDataset } from './data/toy.js';

export { CnfkitError, InputError, OdeInputError, DivergenceError, KernelError, StepSizeError, MaxStepsError, ConvergenceError, NonFiniteError, ModelFileError } from './errors.js';
