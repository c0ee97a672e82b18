/**
 * THE SEAM between the flows' mathematics and the compute paths that run it. A flow asks for the
 * fused operations of its network ({@link FlowOps}: the joint dynamics [F, −tr J, …] with their VJP,
 * and the flow map's F); {@link flowOps} picks the path once per solve, here and nowhere else, from
 * the backend, the network, the batch and whether a gradient tape records. Each path implements the
 * interface in its own file: tfjs ops (nn/tfjs_flow_ops.ts) and cnfkit's wasm kernels
 * (native/kernel_flow_ops.ts); a WebGPU path would be a third. Training's flow-matching step makes
 * the same choice through {@link computePath}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { kernelFlowOps, releaseKernelWorkspace } from '../native/kernel_flow_ops.js';
import { ACTIVATION_IDS } from '../native/squash_network.js';
import { wasmKernelsAvailable } from '../native/runtime.js';
import { DynamicsNet, type TangentDynamics } from './dynamics_net.js';
import type { ComputePath, FlowOps } from './flow_ops.js';
import type { ListDynamics } from '../ode/adjoint_core.js';
import { tfjsFlowOps } from './tfjs_flow_ops.js';

export type { ComputePath, FlowOps, JointTerms } from './flow_ops.js';

/** How many solves each path has run (for tests and reports: which path actually ran). */
export const pathUsage: Record<ComputePath, number> = { tfjs: 0, 'wasm-kernels': 0 };

/**
 * The path for `net` now: cnfkit's kernels when they are loaded and on, tfjs's tensors live on the
 * host (wasm, cpu backends), the network is one they implement, no gradient tape records (the
 * kernels are invisible to tfjs's autodiff; the adjoint's passes run outside any tape) and a
 * workspace for `rows` stacked rows stays under its cap; tfjs otherwise.
 */
export function computePath(net: TangentDynamics, rows = 0): ComputePath {
  if (!wasmKernelsAvailable() || !(net instanceof DynamicsNet)) return 'tfjs';
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return 'tfjs';
  if (!kernelsImplement(net.config) || tapeRecording()) return 'tfjs';
  return rows === 0 || workspaceFits(net, rows) ? 'wasm-kernels' : 'tfjs';
}

/**
 * The fused operations of `net` for a batch of `rows` points with `tangents` tangents per point
 * (0 for the flow map): THE factory.
 */
export function flowOps(net: TangentDynamics, rows: number, tangents: number): FlowOps {
  const path = computePath(net, (1 + tangents) * rows);
  pathUsage[path]++;
  const ops = path === 'wasm-kernels' ? tfjsUnderTape(kernelFlowOps(net as DynamicsNet), net) : tfjsFlowOps(net);
  // The joint dynamics read x alone: the log-density and regularisers never feed back.
  return { ...ops, joint: (v, terms) => Object.assign(ops.joint(v, terms), { unread: JOINT_UNREAD }) };
}
const JOINT_UNREAD: readonly boolean[] = [false, true, true, true];

/**
 * The kernels' dynamics, with tfjs's for an evaluation under a recording tape: a solve picks its path
 * once, but an implicit method's Newton Jacobian evaluates f under a tape within that solve.
 */
function tfjsUnderTape(kernels: FlowOps, net: TangentDynamics): FlowOps {
  let tfjs: FlowOps | undefined;
  const either = (fast: ListDynamics, slow: () => ListDynamics): ListDynamics => {
    let taped: ListDynamics | undefined;
    const dynamics: ListDynamics = (t, y) => (tapeRecording() ? (taped ??= slow())(t, y) : fast(t, y));
    return Object.assign(dynamics, fast);
  };
  return {
    ...kernels,
    joint: (v, terms) => either(kernels.joint(v, terms), () => (tfjs ??= tfjsFlowOps(net)).joint(v, terms)),
    flow: () => either(kernels.flow(), () => (tfjs ??= tfjsFlowOps(net)).flow()),
  };
}

/** Frees what any path keeps for `net` (the kernels' workspace, up to 1 GiB); call when the network goes. */
export function releaseFlowOps(net: TangentDynamics): void {
  if (net instanceof DynamicsNet) releaseKernelWorkspace(net);
}

/** The networks the kernels implement: ConcatSquash layers, with any of the activations (concat layers run on tfjs). */
export function kernelsImplement(config: { readonly layer: string; readonly activation: string; readonly timeMap?: unknown }): boolean {
  // A mapped time (a flow-matching field) runs on tfjs: the kernels take the layers' time as given.
  return config.layer === 'concatsquash' && Object.hasOwn(ACTIVATION_IDS, config.activation) && config.timeMap === undefined;
}

/** Whether a kernel workspace for `stackedRows` rows of this network stays under 1 GiB. */
function workspaceFits(net: DynamicsNet, stackedRows: number): boolean {
  const sizes = [net.config.dim, ...net.config.hiddenDims, net.config.dim];
  const widest = Math.max(...sizes);
  const floatsPerRow = sizes[0] + 2 * widest + sizes.slice(1).reduce((n, d) => n + 2 * d, 0);
  return stackedRows * floatsPerRow * 4 <= 2 ** 30;
}

/**
 * Whether a tfjs gradient tape records ops run now (then only tfjs ops can be differentiated). Inside
 * a customGrad's forward pass, as in the adjoint, none does.
 */
export function tapeRecording(): boolean {
  return tf.engine().isTapeOn();
}
