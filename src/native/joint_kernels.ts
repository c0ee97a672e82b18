/**
 * The CNF's joint dynamics [F, −tr J, ‖F‖², Σ‖Jv‖²] and their vector–Jacobian product on cnfkit's
 * wasm kernels, for a ConcatSquash network (any activation) at one scalar time: the arithmetic of
 * src/nn/joint_vjp.ts (see its comment for the formulas) with the primal rows and the K tangents
 * stacked into one matrix per layer, so that each layer is one product and one fused pass each way,
 * instead of ~25 tfjs kernels forward and ~60 backward.
 */
import type { DynamicsNet } from '../nn/dynamics_net.js';
import { FlatWeights, inputGradient, layerProduct, weightGradient } from './squash_network.js';
import type { KernelExports } from './kernel_exports.js';
import { KernelWorkspace, plannedKernelThreads } from './runtime.js';
import { recordKernels, splitRows } from './kernel_programs.js';
import { KernelThreads } from './kernel_threads.js';

/** One thread's per-layer vectors (byte offsets): gate values at the time, and the backward sums. */
interface LayerBuffers {
  g: number;
  tb: number;
  dg: number;
  dzSum: number;
}

/** One thread's private buffers: its layer vectors, gradients and transpose scratch. */
interface ThreadBuffers {
  layers: LayerBuffers[];
  grads: number;
  wt: number;
}

/** A workspace sized for a number of stacked rows. */
interface Sized {
  capacity: number;
  k: KernelExports;
  ws: KernelWorkspace;
  at: Record<'params' | 'input' | 'dA' | 'dB', number>;
  /** Per layer: pre-activations and outputs, [(1 + K)·rows, dOut] per shard. */
  rowsAt: { z: number; out: number }[];
  /** Thread 0 (the caller) first. */
  threads: ThreadBuffers[];
}

/** A batch split over threads: each shard's rows, and the workers' programs for it. */
interface Plan {
  rows: number;
  tangents: number;
  shards: [number, number][];
  forward?: number;
  vjp?: number;
}

/** Below this many rows per thread an evaluation stays on one thread. */
const MIN_ROWS_PER_THREAD = 32;

export class WasmJointDynamics {
  private readonly weights: FlatWeights;
  private sized?: Sized;
  private plan?: Plan;
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
    if (this.sized && this.sized.capacity >= stackedRows && !this.sized.ws.stale) return this.sized;
    this.release();
    const old = this.sized?.capacity ?? 0;
    const capacity = Math.max(stackedRows, old >= stackedRows ? old : Math.ceil(old * 1.5));
    const layers = this.weights.layers;
    const widest = Math.max(...layers.map((l) => Math.max(l.dIn, l.dOut)));
    const ws = new KernelWorkspace();
    const size = this.weights.size;
    const at = ws.reserveAll({ params: size, input: capacity * layers[0].dIn, dA: capacity * widest, dB: capacity * widest });
    const rowsAt = layers.map((l) => ws.reserveAll({ z: capacity * l.dOut, out: capacity * l.dOut }));
    const threads = Array.from({ length: plannedKernelThreads() }, () => ({
      layers: layers.map((l) => ws.reserveAll({ g: l.dOut, tb: l.dOut, dg: l.dOut, dzSum: l.dOut })),
      ...ws.reserveAll({ grads: size, wt: Math.max(...layers.map((l) => l.dIn * l.dOut)) }),
    }));
    ws.open({ threads: threads.length > 1 });
    this.sized = { capacity, k: ws.kernels, ws, at, rowsAt, threads };
    this.weights.read(ws.view(at.params, size));
    return this.sized;
  }

  /** Lets the kernel threads forget the workspace and its programs. */
  release(): void {
    const pool = this.sized?.ws.threads?.pool;
    if (pool && this.plan) for (const id of [this.plan.forward, this.plan.vjp]) if (id !== undefined) pool.forget(id);
    this.plan = undefined;
    this.sized?.ws.close();
  }

  /** The shards of a batch: contiguous rows, each laid out as its own stacked block [x; v_1; …; v_K]. */
  private planFor(s: Sized, rows: number, tangents: number): Plan {
    if (this.plan?.rows === rows && this.plan.tangents === tangents) return this.plan;
    const pool = s.ws.threads?.pool;
    if (pool && this.plan) for (const id of [this.plan.forward, this.plan.vjp]) if (id !== undefined) pool.forget(id);
    // A worker returns ∂/∂t per layer: a network deeper than its result slots stays on one thread.
    const split = pool && this.weights.layers.length <= KernelThreads.resultSlots;
    const shards = split ? splitRows(rows, s.threads.length, MIN_ROWS_PER_THREAD) : [[0, rows] as [number, number]];
    this.plan = { rows, tangents, shards };
    if (pool && shards.length > 1) {
      const others = shards.slice(1);
      this.plan.forward = pool.program(s.ws.threads!.id, others.map(([from, count], i) => recordKernels((k) => this.forwardShard(k, s, s.threads[i + 1], NaN, from, count, tangents), KernelThreads.slot(i + 1))));
      this.plan.vjp = pool.program(s.ws.threads!.id, others.map(([from, count], i) => recordKernels((k) => this.vjpShard(k, s, s.threads[i + 1], NaN, from, count, tangents), KernelThreads.slot(i + 1))));
    }
    return this.plan;
  }

  /** Runs `own` here and, when the batch is split, program `id` on the workers at the same time. */
  private onThreads(s: Sized, plan: Plan, id: number | undefined, own: () => void): void {
    const pool = s.ws.threads?.pool;
    if (pool && id !== undefined) {
      pool.time[0] = this.t;
      pool.run(id, own, s.k);
    } else {
      own();
    }
  }

  /**
   * Copies `blocks` ([1 + K] arrays of [rows, d] row-major, x then the tangents) into the
   * workspace at `at`, shard by shard: shard [from, count] starts (1 + K)·from rows of `stride`
   * floats in (the stride of the buffer's widest use) and holds its blocks there, [(1 + K)·count, d].
   */
  private scatter(at: number, blocks: Float32Array[], d: number, plan: Plan, stride = d): void {
    const view = this.sized!.ws.view(at, (1 + plan.tangents) * plan.rows * stride);
    for (const [from, count] of plan.shards) {
      const base = (1 + plan.tangents) * from * stride;
      blocks.forEach((block, kk) => view.set(block.subarray(from * d, (from + count) * d), base + kk * count * d));
    }
  }

  /** The inverse of `scatter` for the first `blocks` blocks: [blocks·rows, d], block-major. */
  private gather(at: number, blocks: number, d: number, plan: Plan, stride = d): Float32Array {
    const view = this.sized!.ws.view(at, (1 + plan.tangents) * plan.rows * stride);
    if (plan.shards.length === 1) return view.subarray(0, blocks * plan.rows * d);
    const out = new Float32Array(blocks * plan.rows * d);
    for (const [from, count] of plan.shards) {
      const base = (1 + plan.tangents) * from * stride;
      for (let kk = 0; kk < blocks; kk++) out.set(view.subarray(base + kk * count * d, base + (kk + 1) * count * d), (kk * plan.rows + from) * d);
    }
    return out;
  }

  /** The widest layer side: the row stride of the backward buffers dA and dB. */
  private get widest(): number {
    return Math.max(...this.weights.layers.map((l) => Math.max(l.dIn, l.dOut)));
  }

  /**
   * Evaluates the network at time t for x [rows, d] and tangents v [K, rows, d] (K may be 0).
   * @returns the stacked output [(1 + K)·rows, d]: F, then J v_k for each k (a view valid until the
   *   next call when on one thread)
   */
  forward(t: number, x: Float32Array, v: Float32Array | undefined, rows: number, tangents: number): Float32Array {
    const layers = this.weights.layers;
    const d = layers[0].dIn;
    const s = this.ensure((1 + tangents) * rows);
    const plan = this.planFor(s, rows, tangents);
    this.t = t;
    const blocks = [x.subarray(0, rows * d), ...Array.from({ length: tangents }, (_, kk) => v!.subarray(kk * rows * d, (kk + 1) * rows * d))];
    this.scatter(s.at.input, blocks, d, plan);
    const [from, count] = plan.shards[0];
    this.onThreads(s, plan, plan.forward, () => this.forwardShard(s.k, s, s.threads[0], t, from, count, tangents));
    const last = layers.length - 1;
    return this.gather(s.rowsAt[last].out, 1 + tangents, layers[last].dOut, plan);
  }

  /** The forward pass over the shard of `count` rows from row `from` (its stacked block). */
  private forwardShard(k: KernelExports, s: Sized, own: ThreadBuffers, t: number, from: number, count: number, tangents: number): void {
    const layers = this.weights.layers;
    const p = s.at.params;
    const last = layers.length - 1;
    const stacked = (1 + tangents) * count;
    const offset = (base: number, width: number) => base + (1 + tangents) * from * width * 4;
    let h = offset(s.at.input, layers[0].dIn);
    layers.forEach((l, i) => {
      const b = own.layers[i];
      const z = offset(s.rowsAt[i].z, l.dOut);
      const out = offset(s.rowsAt[i].out, l.dOut);
      k.squashGate(t, p + l.gateW, p + l.gateB, p + l.biasW, b.g, b.tb, l.dOut);
      layerProduct(k, l, p + l.W, h, z, stacked, own.wt);
      k.squashForwardStacked(z, out, b.g, p + l.b, b.tb, count, tangents, l.dOut, i < last ? this.weights.activation : 0);
      h = out;
    });
  }

  /**
   * The VJP of the last `forward` with output seeds dF [rows, d] and dJv [K, rows, d] (the
   * cotangents of F and of each J v_k).
   * @returns ∂/∂x [rows, d], ∂/∂weights (flat, in the network's variable order), and ∂/∂t (views
   *   valid until the next call when on one thread)
   */
  vjp(seedF: Float32Array, seedJv: Float32Array | undefined): { gradX: Float32Array; grads: Float32Array; gradT: number } {
    const s = this.sized!;
    const plan = this.plan!;
    const { rows, tangents } = plan;
    const layers = this.weights.layers;
    const d = layers[layers.length - 1].dOut;
    const blocks = [seedF.subarray(0, rows * d), ...Array.from({ length: tangents }, (_, kk) => seedJv!.subarray(kk * rows * d, (kk + 1) * rows * d))];
    this.scatter(s.at.dA, blocks, d, plan, this.widest);
    const [from, count] = plan.shards[0];
    let gradT = 0;
    this.onThreads(s, plan, plan.vjp, () => {
      gradT = this.vjpShard(s.k, s, s.threads[0], this.t, from, count, tangents);
    });
    // The batch's gradients are the sums of the shards'.
    const size = this.weights.size;
    const grads = s.ws.view(s.threads[0].grads, size);
    const pool = s.ws.threads?.pool;
    plan.shards.slice(1).forEach((_, i) => {
      s.k.addInto(s.threads[0].grads, s.threads[i + 1].grads, size);
      for (let l = 0; l < layers.length; l++) gradT += pool!.results[KernelThreads.slot(i + 1) + l];
    });
    // The input gradient ends in dA or dB, by the parity of the layer count.
    const end = layers.length % 2 === 1 ? s.at.dB : s.at.dA;
    return { gradX: this.gather(end, 1, layers[0].dIn, plan, this.widest), grads, gradT };
  }

  /** The backward pass over one shard; returns its ∂/∂t. */
  private vjpShard(k: KernelExports, s: Sized, own: ThreadBuffers, t: number, from: number, count: number, tangents: number): number {
    const layers = this.weights.layers;
    const stacked = (1 + tangents) * count;
    const last = layers.length - 1;
    const p = s.at.params;
    const g = own.grads;
    const offset = (base: number, width: number) => base + (1 + tangents) * from * width * 4;
    let dZ = offset(s.at.dA, this.widest);
    let spare = offset(s.at.dB, this.widest);
    let gradT = 0;
    for (let i = last; i >= 0; i--) {
      const l = layers[i];
      const b = own.layers[i];
      const z = offset(s.rowsAt[i].z, l.dOut);
      k.squashBackwardStacked(dZ, z, b.g, b.dg, b.dzSum, count, tangents, l.dOut);
      gradT += k.squashVectorGrads(t, b.dg, b.dzSum, b.g, p + l.gateW, p + l.biasW, g + l.b, g + l.gateW, g + l.gateB, g + l.biasW, l.dOut);
      const input = i > 0 ? offset(s.rowsAt[i - 1].out, l.dIn) : offset(s.at.input, l.dIn);
      weightGradient(k, l, input, dZ, g + l.W, stacked, own.wt);
      // At the input only the primal rows' gradient (∂/∂x) is wanted.
      inputGradient(k, l, p + l.W, dZ, spare, i > 0 ? stacked : count, own.wt);
      if (i > 0) {
        const before = own.layers[i - 1];
        k.activationBackwardStacked(spare, offset(s.rowsAt[i - 1].out, l.dIn), offset(s.rowsAt[i - 1].z, l.dIn), before.g, before.tb, count, tangents, l.dIn, this.weights.activation);
      }
      [dZ, spare] = [spare, dZ];
    }
    return gradT;
  }
}
