/**
 * The CNF's joint dynamics [F, −tr J, ‖F‖², Σ‖Jv‖²] and their vector–Jacobian product on cnfkit's
 * wasm kernels, for a ConcatSquash network (any activation) at one scalar time: the arithmetic of
 * src/nn/joint_vjp.ts (see its comment for the formulas) with the primal rows and the K tangents
 * stacked into one matrix per layer, so that each layer is one product and one fused pass each way,
 * instead of ~25 tfjs kernels forward and ~60 backward.
 */
import type { DynamicsNet } from '../nn/dynamics_net.js';
import { FlatWeights, inputGradient, layerProduct, weightGradient } from './squash_network.js';
import { KernelWorkspace, type KernelExports } from './runtime.js';

/** Where one layer's buffers are in the workspace (byte offsets). */
interface LayerBuffers {
  g: number;
  tb: number;
  z: number;
  out: number;
  dg: number;
  dzSum: number;
}

/** A workspace sized for a number of stacked rows. */
interface Sized {
  capacity: number;
  k: KernelExports;
  ws: KernelWorkspace;
  at: Record<'params' | 'grads' | 'input' | 'dA' | 'dB' | 'wt', number>;
  layers: LayerBuffers[];
}

export class WasmJointDynamics {
  private readonly weights: FlatWeights;
  private sized?: Sized;
  private rows = 0;
  private tangents = 0;
  private t = 0;

  constructor(net: DynamicsNet) {
    this.weights = new FlatWeights(
      net,
      net.namedVariables().map(([, v]) => v),
    );
  }

  /** Copies the current weights in (call when they may have changed, e.g. once per solve). */
  loadWeights(): void {
    if (this.sized) this.weights.read(this.sized.ws.view(this.sized.at.params, this.weights.size));
  }

  /** A workspace for at least `stackedRows` rows, keeping the weights. */
  private ensure(stackedRows: number): Sized {
    if (this.sized && this.sized.capacity >= stackedRows) return this.sized;
    const capacity = Math.max(stackedRows, Math.ceil((this.sized?.capacity ?? 0) * 1.5));
    const layers = this.weights.layers;
    const widest = Math.max(...layers.map((l) => Math.max(l.dIn, l.dOut)));
    const ws = new KernelWorkspace();
    const size = this.weights.size;
    const at = ws.reserveAll({
      params: size,
      grads: size,
      input: capacity * layers[0].dIn,
      dA: capacity * widest,
      dB: capacity * widest,
      wt: Math.max(...layers.map((l) => l.dIn * l.dOut)),
    });
    const buffers = layers.map((l) => ws.reserveAll({ g: l.dOut, tb: l.dOut, z: capacity * l.dOut, out: capacity * l.dOut, dg: l.dOut, dzSum: l.dOut }));
    ws.open();
    this.sized = { capacity, k: ws.kernels, ws, at, layers: buffers };
    this.weights.read(ws.view(at.params, size));
    return this.sized;
  }

  /**
   * Evaluates the network at time t for x [rows, d] and tangents v [K, rows, d] (K may be 0).
   * @returns a view of the stacked output [(1 + K)·rows, d]: F, then J v_k for each k (valid until
   *   the next call)
   */
  forward(t: number, x: Float32Array, v: Float32Array | undefined, rows: number, tangents: number): Float32Array {
    const layers = this.weights.layers;
    const d = layers[0].dIn;
    const stacked = (1 + tangents) * rows;
    const s = this.ensure(stacked);
    const { k, at } = s;
    const input = s.ws.view(at.input, stacked * d);
    input.set(x);
    if (tangents > 0) input.set(v!.subarray(0, tangents * rows * d), rows * d);
    this.rows = rows;
    this.tangents = tangents;
    this.t = t;
    const p = at.params;
    const last = layers.length - 1;
    let h = at.input;
    layers.forEach((l, i) => {
      const b = s.layers[i];
      k.squashGate(t, p + l.gateW, p + l.gateB, p + l.biasW, b.g, b.tb, l.dOut);
      layerProduct(k, l, p + l.W, h, b.z, stacked, at.wt);
      k.squashForwardStacked(b.z, b.out, b.g, p + l.b, b.tb, rows, tangents, l.dOut, i < last ? this.weights.activation : 0);
      h = b.out;
    });
    return s.ws.view(s.layers[last].out, stacked * layers[last].dOut);
  }

  /**
   * The VJP of the last `forward` with output seeds dF [rows, d] and dJv [K, rows, d] (the
   * cotangents of F and of each J v_k).
   * @returns views, valid until the next call: ∂/∂x [rows, d], ∂/∂weights (flat, in the network's
   *   variable order), and ∂/∂t
   */
  vjp(seedF: Float32Array, seedJv: Float32Array | undefined): { gradX: Float32Array; grads: Float32Array; gradT: number } {
    const s = this.sized!;
    const { k, at } = s;
    const { rows, tangents, t } = this;
    const layers = this.weights.layers;
    const stacked = (1 + tangents) * rows;
    const last = layers.length - 1;
    const d = layers[last].dOut;
    const seeds = s.ws.view(at.dA, stacked * d);
    seeds.set(seedF);
    if (tangents > 0) seeds.set(seedJv!.subarray(0, tangents * rows * d), rows * d);
    const p = at.params;
    const g = at.grads;
    let dZ = at.dA;
    let spare = at.dB;
    let gradT = 0;
    for (let i = last; i >= 0; i--) {
      const l = layers[i];
      const b = s.layers[i];
      k.squashBackwardStacked(dZ, b.z, b.g, b.dg, b.dzSum, rows, tangents, l.dOut);
      gradT += k.squashVectorGrads(t, b.dg, b.dzSum, b.g, p + l.gateW, p + l.biasW, g + l.b, g + l.gateW, g + l.gateB, g + l.biasW, l.dOut);
      const input = i > 0 ? s.layers[i - 1].out : at.input;
      weightGradient(k, l, input, dZ, g + l.W, stacked, at.wt);
      // At the input only the primal rows' gradient (∂/∂x) is wanted.
      inputGradient(k, l, p + l.W, dZ, spare, i > 0 ? stacked : rows, at.wt);
      if (i > 0) {
        const before = s.layers[i - 1];
        k.activationBackwardStacked(spare, before.out, before.z, before.g, before.tb, rows, tangents, l.dIn, this.weights.activation);
      }
      [dZ, spare] = [spare, dZ];
    }
    return { gradX: s.ws.view(dZ, rows * layers[0].dIn), grads: s.ws.view(g, this.weights.size), gradT };
  }
}
