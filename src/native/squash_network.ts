/**
 * A ConcatSquash dynamics network laid out in a kernel workspace: its weights as one flat
 * vector in the order of the flow's trainable variables (so that gradients and Adam's moments line
 * up with FlatAdam's), and each layer's place in it.
 */
import { KernelError } from '../errors.js';
import type * as tf from '@tensorflow/tfjs-core';
import { assignValues } from '../nn/assign_values.js';
import type { ActivationName } from '../nn/activations.js';
import type { DynamicsNet } from '../nn/dynamics_net.js';
import type { KernelExports } from './kernel_exports.js';

/** The kernels' id of each activation (native/kernels.ts has the same constants); 0 is none. */
export const ACTIVATION_IDS: Readonly<Record<ActivationName, number>> = { tanh: 1, softplus: 2, elu: 3, swish: 4 };
/** The id of tanh, whose derivatives come from its output alone. */
export const TANH_ID = ACTIVATION_IDS.tanh;

/** Byte offsets of one layer's weights within the flat vector (relative to its start). */
export interface LayerSlots {
  readonly dIn: number;
  readonly dOut: number;
  readonly W: number;
  readonly b: number;
  readonly gateW: number;
  readonly gateB: number;
  readonly biasW: number;
}

/** The flat weight vector of `variables` (the flow's trainable ones), where `net`'s layers are. */
export class FlatWeights {
  /** Floats in the flat vector (every trainable variable, T included). */
  readonly size: number;
  /** Floats of the network's own weights, which come first. */
  readonly networkSize: number;
  readonly layers: LayerSlots[];
  /** The kernels' id of the hidden layers' activation. */
  readonly activation: number;
  private readonly offsets: number[];

  constructor(
    net: DynamicsNet,
    readonly variables: readonly tf.Variable[],
  ) {
    this.offsets = [];
    let at = 0;
    for (const v of variables) {
      this.offsets.push(at);
      at += v.size;
    }
    this.size = at;
    if (!Object.hasOwn(ACTIVATION_IDS, net.config.activation)) throw new KernelError(`the kernels do not implement the activation '${net.config.activation}'`);
    this.activation = ACTIVATION_IDS[net.config.activation];
    const named = new Map(net.namedVariables());
    const offsetOf = (name: string) => {
      const index = variables.indexOf(named.get(name)!);
      if (index < 0) throw new KernelError(`${name} is not among the trainable variables`);
      return this.offsets[index] * 4;
    };
    const sizes = [net.config.dim, ...net.config.hiddenDims, net.config.dim];
    this.layers = sizes.slice(1).map((dOut, i) => ({
      dIn: sizes[i],
      dOut,
      W: offsetOf(`layer${i}.W`),
      b: offsetOf(`layer${i}.b`),
      gateW: offsetOf(`layer${i}.gateW`),
      gateB: offsetOf(`layer${i}.gateB`),
      biasW: offsetOf(`layer${i}.biasW`),
    }));
    this.networkSize = net.namedVariables().reduce((n, [, v]) => n + v.size, 0);
    if (Math.max(...this.layers.map((l) => l.W + l.dIn * l.dOut * 4)) > this.networkSize * 4) {
      throw new KernelError("the network's weights must come first among the trainable variables");
    }
  }

  /** Copies the variables' values into `flat` (size floats). */
  read(flat: Float32Array): void {
    this.variables.forEach((v, i) => flat.set(v.dataSync() as Float32Array, this.offsets[i]));
  }

  /**
   * Writes the network's part of `flat` back into its variables: fresh tensors (~4 µs each, no
   * kernel), never the variables' memory in place, because tfjs's wasm matMul caches weights packed
   * by tensor id.
   */
  writeNetwork(flat: Float32Array): void {
    this.variables.forEach((v, i) => {
      if (this.offsets[i] >= this.networkSize) return;
      assignValues(v, flat.slice(this.offsets[i], this.offsets[i] + v.size));
    });
  }
}

/**
 * z = h W over `rows` rows, for the layer's W at byte offset `W`; narrow outputs (the last layer's
 * d columns) as dot products against Wᵀ (in `wt`), which vectorise where column blocks cannot.
 */
export function layerProduct(k: KernelExports, l: LayerSlots, W: number, h: number, z: number, rows: number, wt: number): void {
  if (l.dOut < 8) {
    k.transpose(W, wt, l.dIn, l.dOut);
    k.mmNT(h, wt, z, rows, l.dIn, l.dOut);
  } else {
    k.mmNN(h, W, z, rows, l.dIn, l.dOut, false);
  }
}

/**
 * The weight gradient gW = inputᵀ d over `rows` rows; for narrow outputs, dWᵀ = dᵀ input (the wide
 * side in the vector lanes) through `wt`, then transposed.
 */
export function weightGradient(k: KernelExports, l: LayerSlots, input: number, d: number, gW: number, rows: number, wt: number): void {
  if (l.dOut < 4 && l.dIn >= 4) {
    k.mmTN(d, input, wt, rows, l.dOut, l.dIn, false);
    k.transpose(wt, gW, l.dOut, l.dIn);
  } else {
    k.mmTN(input, d, gW, rows, l.dIn, l.dOut, false);
  }
}

/** The input gradient dx = d Wᵀ over `rows` rows (Wᵀ made explicit in `wt`). */
export function inputGradient(k: KernelExports, l: LayerSlots, W: number, d: number, dx: number, rows: number, wt: number): void {
  k.transpose(W, wt, l.dIn, l.dOut);
  k.mmNN(d, wt, dx, rows, l.dOut, l.dIn, false);
}
