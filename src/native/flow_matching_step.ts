/**
 * The flow-matching training step on cnfkit's wasm kernels: forward pass, squared error, hand-derived
 * backward pass and Adam in one workspace, with no tfjs kernel at all. The same arithmetic as
 * DynamicsNet.regressionGradients + FlatAdam (src/nn, src/train), at ~3x fewer milliseconds: the
 * layer's elementwise work is one fused pass, and xᵀ·dy reduces over rows without a transpose.
 *
 * The weights live in the workspace while training; `writeVariables` puts them into the flow's
 * tf.Variables (~0.1 ms for FFJORD's toy network).
 */
import { KernelError } from '../errors.js';
import type * as tf from '@tensorflow/tfjs-core';
import type { DynamicsNet } from '../nn/dynamics_net.js';
import { FlatWeights, TANH_ID, inputGradient, layerProduct, weightGradient } from './squash_network.js';
import { KernelWorkspace, type KernelExports } from './runtime.js';

/** Adam's state as host arrays: the step count and the flat first and second moments. */
export interface AdamState {
  step: number;
  m: Float32Array;
  v: Float32Array;
}

/** Adam's settings, as FlatAdam takes them. */
export interface AdamSettings {
  learningRate: number;
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export class WasmFlowMatching {
  private readonly k: KernelExports;
  private readonly weights: FlatWeights;
  private readonly at: Record<'params' | 'grads' | 'm' | 'v' | 'scratch' | 'xs' | 't' | 'target' | 'dyA' | 'dyB' | 'dlin' | 'wt', number>;
  private readonly layerAt: { lin: number; g: number; out: number; pre: number }[];
  private readonly params: Float32Array;
  private readonly grads: Float32Array;
  private readonly moments: [Float32Array, Float32Array];
  private readonly input: { t: Float32Array; xs: Float32Array; target: Float32Array };
  private step = 0;

  /**
   * @param net - the flow's network (ConcatSquash layers: see computePath in nn/compute_path.ts)
   * @param variables - the flow's trainable variables, network first (Adam's flat order)
   * @param maxRows - the largest minibatch
   */
  constructor(
    net: DynamicsNet,
    variables: readonly tf.Variable[],
    private readonly maxRows: number,
    private readonly adam: AdamSettings,
  ) {
    this.weights = new FlatWeights(net, variables);
    const { size, layers } = this.weights;
    const dim = net.config.dim;
    const widest = Math.max(...layers.map((l) => l.dOut), dim);
    const workspace = new KernelWorkspace();
    this.at = workspace.reserveAll({
      params: size,
      grads: size,
      m: size,
      v: size,
      scratch: 3 * size,
      xs: maxRows * dim,
      t: maxRows,
      target: maxRows * dim,
      dyA: maxRows * widest,
      dyB: maxRows * widest,
      dlin: maxRows * widest,
      wt: Math.max(...layers.map((l) => l.dIn * l.dOut)),
    });
    // Activations other than tanh need their pre-activation in the backward pass (tanh's slope comes from its output).
    const keepPre = this.weights.activation !== TANH_ID;
    this.layerAt = layers.map((l) => {
      const at = workspace.reserveAll({ lin: maxRows * l.dOut, g: maxRows * l.dOut, out: maxRows * l.dOut });
      return { ...at, pre: keepPre ? workspace.reserve(maxRows * l.dOut) : 0 };
    });
    workspace.open();
    this.k = workspace.kernels;
    this.params = workspace.view(this.at.params, size);
    this.grads = workspace.view(this.at.grads, size);
    this.moments = [workspace.view(this.at.m, size), workspace.view(this.at.v, size)];
    this.input = { t: workspace.view(this.at.t, maxRows), xs: workspace.view(this.at.xs, maxRows * dim), target: workspace.view(this.at.target, maxRows * dim) };
    this.weights.read(this.params);
  }

  /**
   * The mean squared error of F(s_b, x_b) against target_b over `rows` rows (s [rows], xs and
   * target [rows, dim]) and its gradient, left in the workspace (see `gradients`).
   */
  lossAndGradients(s: Float32Array, xs: Float32Array, target: Float32Array, rows: number): number {
    if (rows > this.maxRows) throw new KernelError(`a minibatch of ${rows} rows exceeds the workspace's ${this.maxRows}`);
    this.input.t.set(s);
    this.input.xs.set(xs);
    this.input.target.set(target);
    const { k, at, layerAt } = this;
    const p = at.params;
    const layers = this.weights.layers;
    const last = layers.length - 1;
    let h = at.xs;
    layers.forEach((l, i) => {
      const { lin, g, out, pre } = layerAt[i];
      layerProduct(k, l, p + l.W, h, lin, rows, at.wt);
      const hidden = i < last;
      k.squashForwardRows(lin, g, out, hidden ? pre : 0, at.t, p + l.b, p + l.gateW, p + l.gateB, p + l.biasW, rows, l.dOut, hidden ? this.weights.activation : 0);
      h = out;
    });
    const dim = layers[last].dOut;
    const loss = k.squaredErrorGrad(layerAt[last].out, at.target, at.dyA, rows, dim);
    const g = at.grads;
    let dy = at.dyA;
    let spare = at.dyB;
    for (let i = last; i >= 0; i--) {
      const l = layers[i];
      const { lin, g: gate } = layerAt[i];
      k.squashBackwardRows(dy, lin, gate, at.t, at.dlin, g + l.b, g + l.gateW, g + l.gateB, g + l.biasW, rows, l.dOut);
      const input = i > 0 ? layerAt[i - 1].out : at.xs;
      weightGradient(k, l, input, at.dlin, g + l.W, rows, at.wt);
      if (i === 0) break;
      inputGradient(k, l, p + l.W, at.dlin, spare, rows, at.wt);
      k.activationBackward(spare, layerAt[i - 1].out, layerAt[i - 1].pre, rows * l.dIn, this.weights.activation);
      [dy, spare] = [spare, dy];
    }
    return loss;
  }

  /** The gradients of the last `lossAndGradients`, flat in the variables' order (zero for T). */
  gradients(): Float32Array {
    return this.grads.slice();
  }

  /**
   * One Adam update of the network's weights (not T, which flow matching does not train).
   * @returns false, changing nothing, when a weight would become NaN or Inf
   */
  applyAdam(): boolean {
    const { learningRate, weightDecay, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = this.adam;
    const t = this.step + 1;
    const ok = 1 === this.k.adamUpdate(
      this.at.params, this.at.grads, this.at.m, this.at.v, this.at.scratch, this.weights.networkSize,
      learningRate / (1 - beta1 ** t), beta1, beta2, epsilon, weightDecay, 1 - beta2 ** t,
    );
    if (ok) this.step = t;
    return ok;
  }

  /** Puts the trained weights into the flow's variables. */
  writeVariables(): void {
    this.weights.writeNetwork(this.params);
  }

  /** Adam's state in FlatAdam's format (moments over every trainable variable), for checkpoints. */
  optimizerState(): AdamState {
    return { step: this.step, m: this.moments[0].slice(), v: this.moments[1].slice() };
  }

  /** Continues from a saved optimizer state of the same variables. */
  restoreOptimizer(state: AdamState): void {
    if (state.m.length !== this.weights.size || state.v.length !== this.weights.size) {
      throw new KernelError(`optimizer state holds ${state.m.length} values, but the model has ${this.weights.size}`);
    }
    this.moments[0].set(state.m);
    this.moments[1].set(state.v);
    this.step = state.step;
  }
}
