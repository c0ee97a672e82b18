/**
 * One flow-matching step (the regression loss of a minibatch, its gradient, an Adam update) on the
 * compute path that nn/compute_path.ts picks: cnfkit's kernels do all of it in one workspace
 * (native/flow_matching_step.ts), keeping the weights there while training; on tfjs it is the
 * network's tape-free backward pass (or the tape, for networks without one) and FlatAdam.
 */
import * as tf from '@tensorflow/tfjs-core';
import { computePath, pathUsage, type ComputePath } from '../nn/compute_path.js';
import { DynamicsNet, type TangentDynamics } from '../nn/dynamics_net.js';
import { WasmFlowMatching, type AdamSettings, type AdamState } from '../native/flow_matching_step.js';
import { noReads, readNumber, type Reads } from '../ode/host_reads.js';
import { FlatAdam } from './flat_adam.js';
import type { RegressionProblem } from './flow_matching.js';

export interface FlowMatchingStep {
  /** The path that runs it. */
  readonly path: ComputePath;
  /** Whether the step keeps newer weights than the variables between steps (see `writeVariables`). */
  readonly holdsWeights: boolean;
  /** The loss of the problem's `rows` rows; its gradient is kept for `applyAdam`. Reads yielded (ode/host_reads.ts). */
  lossAndGradients(problem: RegressionProblem, rows: number): Reads<number>;
  /** One Adam update from the last gradient; false, changing nothing, when a weight would overflow. */
  applyAdam(): Reads<boolean>;
  /** Puts the weights into the variables (a no-op where the variables are the weights). */
  writeVariables(): void;
  optimizerState(): Reads<AdamState>;
  restoreOptimizer(state: AdamState): void;
  dispose(): void;
}

/** The flow-matching step for `net` (whose weights come first in `variables`), for minibatches up to `maxRows`. */
export function flowMatchingStep(net: TangentDynamics, variables: readonly tf.Variable[], maxRows: number, adam: AdamSettings): FlowMatchingStep {
  const path = computePath(net, maxRows);
  pathUsage[path]++;
  if (path === 'wasm-kernels') {
    const kernels = new WasmFlowMatching(net as DynamicsNet, variables, maxRows, adam);
    return {
      path: 'wasm-kernels',
      holdsWeights: true,
      lossAndGradients: (p, rows) => noReads(kernels.lossAndGradients(p.s, p.xs, p.target, rows)),
      applyAdam: () => noReads(kernels.applyAdam()),
      writeVariables: () => kernels.writeVariables(),
      optimizerState: () => noReads(kernels.optimizerState()),
      restoreOptimizer: (s) => kernels.restoreOptimizer(s),
      dispose: () => kernels.dispose(),
    };
  }
  return new TfjsFlowMatchingStep(net, variables, adam);
}

class TfjsFlowMatchingStep implements FlowMatchingStep {
  readonly path = 'tfjs';
  readonly holdsWeights = false;
  private readonly optimizer: FlatAdam;
  private grads: Record<string, tf.Tensor> = {};

  constructor(
    private readonly net: TangentDynamics,
    private readonly variables: readonly tf.Variable[],
    adam: AdamSettings,
  ) {
    this.optimizer = new FlatAdam(variables, adam.learningRate, adam.weightDecay, adam.beta1, adam.beta2, adam.epsilon);
  }

  *lossAndGradients(problem: RegressionProblem, rows: number): Reads<number> {
    tf.dispose(Object.values(this.grads));
    const dim = problem.xs.length / rows;
    const { value, grads } = tf.tidy(() => {
      const s = tf.tensor2d(problem.s, [rows, 1]);
      const xs = tf.tensor2d(problem.xs, [rows, dim]);
      const target = tf.tensor2d(problem.target, [rows, dim]);
      if (this.net.regressionGradients) {
        const r = this.net.regressionGradients(s, xs, target);
        return { value: r.loss, grads: r.grads };
      }
      return tf.variableGrads(() => tf.mean(tf.sum(tf.square(tf.sub(this.net.forward(s, xs), target)), 1)) as tf.Scalar, [...this.variables]);
    });
    this.grads = grads;
    return yield* readNumber(value);
  }

  *applyAdam(): Reads<boolean> {
    // Flow matching leaves T without a gradient: it is not updated.
    return yield* this.optimizer.apply(this.grads);
  }

  writeVariables(): void {}

  optimizerState(): Reads<AdamState> {
    return this.optimizer.state();
  }

  restoreOptimizer(state: AdamState): void {
    this.optimizer.restore(state);
  }

  dispose(): void {
    tf.dispose(Object.values(this.grads));
    this.grads = {};
    this.optimizer.dispose();
  }
}
