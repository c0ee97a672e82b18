/**
 * One CNF block: a dynamics network F(t, x) integrated over [0, T], with T fixed or trained (as
 * T = s², so it stays positive). The flow composes blocks; each knows how to carry points and their
 * log-density change across its time span.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TangentDynamics } from '../nn/dynamics_net.js';
import { adjointSolve, backwardSweep, countedDynamics, forwardStepTracker, rememberedStart, type BackwardSettings, type StepMemory } from '../ode/adjoint_core.js';
import { readNumber, runSync, type Reads } from '../ode/host_reads.js';
import { solveStateSteps } from '../ode/odeint.js';
import type { ResolvedOdeintOptions } from '../ode/options.js';
import { disposeStates, type State } from '../ode/state.js';
import type { OdeStats } from '../ode/stats.js';
import { flowOps, releaseFlowOps } from '../nn/compute_path.js';
import type { JointTerms } from '../nn/flow_ops.js';

export class CnfBlock {
  /** √T as a variable when T is trained. */
  private readonly sqrtT?: tf.Variable;

  constructor(
    readonly net: TangentDynamics,
    private readonly fixedT: number,
    trainT: boolean,
  ) {
    this.sqrtT = trainT ? tf.tidy(() => tf.variable(tf.scalar(Math.sqrt(fixedT)))) : undefined;
  }

  /** The block's variables with stable names under `prefix` (`block0.layer1.W`, `block0.sqrtT`). */
  namedVariables(prefix: string): [string, tf.Variable][] {
    return [
      ...this.net.namedVariables().map(([n, v]) => [`${prefix}.${n}`, v] as [string, tf.Variable]),
      ...(this.sqrtT ? [[`${prefix}.sqrtT`, this.sqrtT] as [string, tf.Variable]] : []),
    ];
  }

  /** The integration time T (one host read when trained). */
  endTime(): number {
    return runSync('CNF.endTimes', this.endTimeSteps());
  }

  /**
   * {@link endTime} with its read yielded. T = s² is squared on the device, in float32, and that
   * value is read: the time every solve of the block (sync, async, adjoint) integrates to.
   */
  *endTimeSteps(): Reads<number> {
    return this.sqrtT ? yield* readNumber(tf.square(this.sqrtT)) : this.fixedT;
  }

  /**
   * Integrates the joint state [x, ℓ, k?, j?] from 0 to T for the tangents v (see joint_dynamics.ts)
   * and returns it at T, component by component. Differentiable by the adjoint (w.r.t. x, the
   * network and T) when the network supports training; `memory` carries a training loop's first
   * step from one solve to the next.
   */
  integrateJoint(
    x: tf.Tensor2D,
    v: tf.Tensor3D,
    terms: JointTerms,
    forward: ResolvedOdeintOptions,
    backward: BackwardSettings,
    stats: OdeStats,
    memory?: StepMemory,
  ): tf.Tensor[] {
    if (!this.net.supportsTraining) return runSync('CNF.logProb', this.solveJointSteps(x, v, terms, forward, stats));
    const rows = x.shape[0];
    const y0 = [x, ...jointZeros(rows, terms)];
    const T = this.sqrtT ? tf.square(this.sqrtT) : undefined;
    const times = [0, T ? T.dataSync()[0] : this.fixedT];
    const ts = T ? tf.stack([tf.scalar(0), T]) : undefined;
    const params = this.net.namedVariables().map(([, p]) => p);
    const k = v.shape[0];
    const packed = adjointSolve(y0, ([tangents]) => flowOps(this.net, rows, k).joint(tangents as tf.Tensor3D, terms), [v], times, ts, params, forward, backward, stats, undefined, memory);
    const last = packed.slice([1, 0], [1, -1]).reshape([-1]);
    return tf.split(last, y0.map((c) => c.size)).map((part, i) => part.reshape(y0[i].shape));
  }

  /**
   * The joint state at T without the adjoint (not differentiable), its reads yielded: the form of
   * {@link integrateJoint} for the async methods. With `inverse`, from x at T back to 0 (sampling).
   */
  *solveJointSteps(x: tf.Tensor2D, v: tf.Tensor3D, terms: JointTerms, forward: ResolvedOdeintOptions, stats: OdeStats, inverse = false): Reads<tf.Tensor[]> {
    const zeros = jointZeros(x.shape[0], terms);
    const y0 = [x, ...zeros];
    try {
      const T = yield* this.endTimeSteps();
      const outputs = yield* solveStateSteps(countedDynamics(flowOps(this.net, y0[0].shape[0], v.shape[0]).joint(v, terms), stats), y0, inverse ? [T, 0] : [0, T], forward, stats);
      disposeStates(outputs[0]);
      return outputs[1];
    } finally {
      disposeStates(zeros);
    }
  }

  /**
   * The forward half of the tape-free adjoint: the joint state at 0 and at T (the caller owns both),
   * and T. See {@link jointGradsSteps} for the backward half.
   */
  *jointEndsSteps(x: tf.Tensor2D, v: tf.Tensor3D, terms: JointTerms, forward: ResolvedOdeintOptions, stats: OdeStats, memory?: StepMemory): Reads<JointEnds> {
    const zeros = jointZeros(x.shape[0], terms);
    try {
      const T = yield* this.endTimeSteps();
      // The backward half starts with the forward solve's last steps, as the taped adjoint does.
      const tracker = forwardStepTracker(0);
      const [start, end] = yield* solveStateSteps(countedDynamics(flowOps(this.net, x.shape[0], v.shape[0]).joint(v, terms), stats), [x, ...zeros], [0, T], rememberedStart(forward, memory), stats, undefined, tracker.onStep);
      if (memory) memory.firstStep = tracker.nextFirstStep();
      return { start, end, T, backwardStep: tracker.firstBackwardStep() };
    } finally {
      disposeStates(zeros);
    }
  }

  /**
   * The backward half: from dL/d(joint state at T) (`cotangent`), the adjoint sweep of the joint ODE
   * gives dL/dx and the gradients of the block's variables (keyed by variable name; √T's when T is
   * trained). Takes ownership of `start`, `end` and `cotangent`; the caller owns the results.
   */
  *jointGradsSteps(v: tf.Tensor3D, terms: JointTerms, ends: JointEnds, cotangent: State, backward: BackwardSettings): Reads<{ dx: tf.Tensor; grads: Record<string, tf.Tensor> }> {
    const params = this.net.namedVariables().map(([, p]) => p);
    const rows = ends.start[0].shape[0];
    const dynamics = flowOps(this.net, rows, v.shape[0]).joint(v, terms);
    const atStart = ends.start.map((c) => tf.zerosLike(c));
    const swept = yield* backwardSweep(dynamics, [ends.start, ends.end], [atStart, cotangent], [0, ends.T], params, this.sqrtT !== undefined, backward, [true, true], ends.backwardStep);
    const grads: Record<string, tf.Tensor> = {};
    params.forEach((p, i) => (grads[p.name] = swept.params[i]));
    // T = s²: dL/ds = 2 s dL/dT.
    if (this.sqrtT) grads[this.sqrtT.name] = tf.tidy(() => tf.mul(this.sqrtT!, 2 * swept.timeGrads![1]));
    disposeStates(swept.y0.slice(1));
    return { dx: swept.y0[0], grads };
  }

  /** x at t = 0 to t = T (or back when `inverse`), without the trace; reads yielded. */
  *transportSteps(x: tf.Tensor2D, inverse: boolean, forward: ResolvedOdeintOptions, stats: OdeStats): Reads<tf.Tensor2D> {
    const T = yield* this.endTimeSteps();
    const outputs = yield* solveStateSteps(countedDynamics(flowOps(this.net, x.shape[0], 0).flow(), stats), [x], inverse ? [T, 0] : [0, T], forward, stats);
    disposeStates(outputs[0]);
    return outputs[1][0] as tf.Tensor2D;
  }

  /** The states at `frames` equally spaced times from T down to 0, starting from z at T. */
  path(z: tf.Tensor2D, frames: number, forward: ResolvedOdeintOptions, stats: OdeStats): { times: number[]; states: tf.Tensor2D[] } {
    const T = this.endTime();
    const times = Array.from({ length: frames }, (_, k) => T * (1 - k / (frames - 1)));
    const outputs = runSync('CNF.trajectory', solveStateSteps(countedDynamics(flowOps(this.net, z.shape[0], 0).flow(), stats), [z], times, forward, stats));
    return { times, states: outputs.map((o) => o[0] as tf.Tensor2D) };
  }

  /** Frees the block's variables (a custom network's variables belong to the caller). */
  dispose(): void {
    this.sqrtT?.dispose();
    releaseFlowOps(this.net);
    if (this.net.supportsTraining) this.net.dispose();
  }
}

/** The joint state at 0 and at T of a block's forward solve, T, and the backward half's first step. */
export interface JointEnds {
  start: State;
  end: State;
  T: number;
  backwardStep?: number;
}

/** The initial values of the joint state's integrals: ℓ, and the regularisers' when asked for. */
function jointZeros(rows: number, terms: JointTerms): tf.Tensor[] {
  return [tf.zeros([rows]), ...(terms.kinetic ? [tf.zeros([rows])] : []), ...(terms.jacobian ? [tf.zeros([rows])] : [])];
}
