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
import type { KernelExports } from './kernel_exports.js';
import { KernelWorkspace, plannedKernelThreads } from './runtime.js';
import { recordKernels, splitRows } from './kernel_programs.js';
import { KernelThreads } from './kernel_threads.js';

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

/** Below this many rows per thread a step stays on one thread (waking workers costs ~10-50 µs). */
const MIN_ROWS_PER_THREAD = 64;

export class WasmFlowMatching {
  private readonly k: KernelExports;
  private readonly weights: FlatWeights;
  private readonly at: Record<'params' | 'grads' | 'm' | 'v' | 'scratch' | 'xs' | 't' | 'target' | 'dyA' | 'dyB' | 'dlin' | 'wt', number>;
  private readonly layerAt: { lin: number; g: number; out: number; pre: number }[];
  private readonly params: Float32Array;
  private readonly grads: Float32Array;
  private readonly moments: [Float32Array, Float32Array];
  private readonly input: { t: Float32Array; xs: Float32Array; target: Float32Array };
  private readonly workspace: KernelWorkspace;
  /** Per thread w ≥ 1: its gradients and transpose scratch (thread 0 uses `at.grads` and `at.wt`). */
  private readonly threadAt: { grads: number; wt: number }[] = [];
  /** The workers' program for the last batch size (rows → program id). */
  private program?: { rows: number; id: number; shards: [number, number][] };
  private step = 0;
  private readonly widest: number;

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
    const widest = (this.widest = Math.max(...layers.map((l) => l.dOut), dim));
    const workspace = (this.workspace = new KernelWorkspace());
    const threads = plannedKernelThreads();
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
    for (let w = 1; w < threads; w++) this.threadAt.push(workspace.reserveAll({ grads: size, wt: Math.max(...layers.map((l) => l.dIn * l.dOut)) }));
    workspace.open({ threads: threads > 1 });
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
    const threads = this.workspace.stale ? undefined : this.workspace.threads;
    const shards = threads ? splitRows(rows, threads.pool.count, MIN_ROWS_PER_THREAD) : [[0, rows] as [number, number]];
    if (!threads || shards.length === 1) return this.shardPass(this.k, 0, rows, this.at.grads, this.at.wt);
    // Rows split over the threads, each with its own gradient buffer; the batch's gradient is the
    // rows-weighted mean of the shards' (each shard's loss is a mean over its rows).
    if (this.program?.rows !== rows) {
      if (this.program) threads.pool.forget(this.program.id);
      const calls = shards.slice(1).map(([from, count], i) => recordKernels((k) => this.shardPass(k, from, count, this.threadAt[i].grads, this.threadAt[i].wt), KernelThreads.slot(i + 1)));
      this.program = { rows, id: threads.pool.program(threads.id, calls), shards };
    }
    let loss = 0;
    threads.pool.run(
      this.program.id,
      () => {
        loss = this.shardPass(this.k, 0, shards[0][1], this.at.grads, this.at.wt);
      },
      this.k,
    );
    const size = this.weights.networkSize;
    const total = this.grads;
    const own = shards[0][1] / rows;
    for (let j = 0; j < size; j++) total[j] *= own;
    loss *= own;
    shards.slice(1).forEach(([, count], i) => {
      const weight = count / rows;
      const part = this.workspace.view(this.threadAt[i].grads, size);
      for (let j = 0; j < size; j++) total[j] += weight * part[j];
      loss += weight * threads.pool.results[KernelThreads.slot(i + 1)];
    });
    return loss;
  }

  /**
   * The loss and gradients over rows [from, from + rows) of the workspace's batch: the per-row
   * buffers at those rows, the gradients into `grads`, Wᵀ products through `wt`.
   */
  private shardPass(k: KernelExports, from: number, rows: number, grads: number, wt: number): number {
    const { at, layerAt } = this;
    const p = at.params;
    const layers = this.weights.layers;
    const last = layers.length - 1;
    const dim = layers[0].dIn;
    const widest = this.widest;
    const row = (base: number, width: number) => base + from * width * 4;
    const t = row(at.t, 1);
    let h = row(at.xs, dim);
    const shardLayers = layerAt.map((l, i) => ({ lin: row(l.lin, layers[i].dOut), g: row(l.g, layers[i].dOut), out: row(l.out, layers[i].dOut), pre: l.pre ? row(l.pre, layers[i].dOut) : 0 }));
    layers.forEach((l, i) => {
      const { lin, g, out, pre } = shardLayers[i];
      layerProduct(k, l, p + l.W, h, lin, rows, wt);
      const hidden = i < last;
      k.squashForwardRows(lin, g, out, hidden ? pre : 0, t, p + l.b, p + l.gateW, p + l.gateB, p + l.biasW, rows, l.dOut, hidden ? this.weights.activation : 0);
      h = out;
    });
    let dy = row(at.dyA, widest);
    let spare = row(at.dyB, widest);
    const dlin = row(at.dlin, widest);
    const loss = k.squaredErrorGrad(shardLayers[last].out, row(at.target, dim), dy, rows, layers[last].dOut);
    for (let i = last; i >= 0; i--) {
      const l = layers[i];
      const { lin, g: gate } = shardLayers[i];
      k.squashBackwardRows(dy, lin, gate, t, dlin, grads + l.b, grads + l.gateW, grads + l.gateB, grads + l.biasW, rows, l.dOut);
      const input = i > 0 ? shardLayers[i - 1].out : row(at.xs, dim);
      weightGradient(k, l, input, dlin, grads + l.W, rows, wt);
      if (i === 0) break;
      inputGradient(k, l, p + l.W, dlin, spare, rows, wt);
      k.activationBackward(spare, shardLayers[i - 1].out, shardLayers[i - 1].pre, rows * l.dIn, this.weights.activation);
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

  /** Lets the kernel threads forget this workspace. */
  dispose(): void {
    if (this.program) this.workspace.threads?.pool.forget(this.program.id);
    this.program = undefined;
    this.workspace.close();
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
