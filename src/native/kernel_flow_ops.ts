/**
 * The wasm-kernels compute path of the seam (nn/compute_path.ts), for the built-in ConcatSquash
 * network (any activation): the joint dynamics and their VJP as one host read of x (and of the cotangents), one pass
 * each way on the kernels and the outputs as fresh tensors; the parameter gradient comes back as one
 * flat tensor. The seam chooses this path only where it applies (host backend, no recording tape, a
 * workspace under its cap).
 */
import * as tf from '@tensorflow/tfjs-core';
import { KernelError } from '../errors.js';
import type { FlowOps, JointTerms } from '../nn/flow_ops.js';
import type { DynamicsNet } from '../nn/dynamics_net.js';
import type { ListDynamics } from '../ode/adjoint_core.js';
import { WasmJointDynamics } from './joint_kernels.js';
// Values in and out without copies through tfjs where the solver's host arithmetic knows them.
import { tensorOf, valuesOf } from '../ode/host_arithmetic.js';

/** One kernel workspace per network, reused by every solve. */
const workspaces = new WeakMap<DynamicsNet, WasmJointDynamics>();

/** The kernels' operations for `net`. */
export function kernelFlowOps(net: DynamicsNet): FlowOps {
  const kernels = workspaceOf(net);
  return {
    path: 'wasm-kernels',
    joint: (v, terms) => kernelJointDynamics(kernels, v, terms),
    flow: () => (t, [x]) => {
      untaped();
      const [rows, dim] = x.shape;
      return [tf.tensor2d(kernels.forward(valuesOf(t)[0], valuesOf(x), undefined, rows, 0).slice(), [rows, dim])];
    },
  };
}

/** Lets the network's kernel workspace go (its memory is the largest batch's, up to 1 GiB). */
export function releaseKernelWorkspace(net: DynamicsNet): void {
  workspaces.get(net)?.release();
  workspaces.delete(net);
}

/**
 * The kernels are invisible to tfjs's autodiff: the seam never picks them under a recording tape, and
 * an evaluation under one would give silently wrong gradients, so it is refused.
 */
function untaped(): undefined {
  if (tf.engine().isTapeOn()) throw new KernelError('kernel dynamics evaluated under a recording gradient tape (the seam picks tfjs there; this is a bug in cnfkit)');
  return undefined;
}

/** The network's workspace with its current weights. */
function workspaceOf(net: DynamicsNet): WasmJointDynamics {
  let kernels = workspaces.get(net);
  if (kernels) {
    kernels.loadWeights();
  } else {
    kernels = new WasmJointDynamics(net);
    workspaces.set(net, kernels);
  }
  return kernels;
}

function kernelJointDynamics(kernels: WasmJointDynamics, v: tf.Tensor3D, terms: JointTerms): ListDynamics {
  const [k, rows, dim] = v.shape;
  const tangents = v.dataSync() as Float32Array;
  const size = rows * dim;
  /** [F, −tr, ‖F‖²?, Σ‖Jv‖²?] from the stacked output [F; Jv_1; …; Jv_K]. */
  const outputs = (stacked: Float32Array): tf.Tensor[] => {
    const negTrace = new Float32Array(rows);
    const kinetic = terms.kinetic ? new Float32Array(rows) : undefined;
    const jacobian = terms.jacobian ? new Float32Array(rows) : undefined;
    for (let b = 0; b < rows; b++) {
      let tr = 0;
      let jac = 0;
      for (let kk = 0; kk < k; kk++) {
        for (let j = 0; j < dim; j++) {
          const jv = stacked[size * (kk + 1) + b * dim + j];
          tr += tangents[kk * size + b * dim + j] * jv;
          jac += jv * jv;
        }
      }
      negTrace[b] = -tr;
      if (jacobian) jacobian[b] = jac;
      if (kinetic) for (let j = 0; j < dim; j++) kinetic[b] += stacked[b * dim + j] ** 2;
    }
    const out: tf.Tensor[] = [tensorOf(stacked.slice(0, size), [rows, dim]), tensorOf(negTrace, [rows])];
    if (kinetic) out.push(tensorOf(kinetic, [rows]));
    if (jacobian) out.push(tensorOf(jacobian, [rows]));
    return out;
  };
  const dynamics: ListDynamics = (t, y) => untaped() ?? outputs(kernels.forward(valuesOf(t)[0], valuesOf(y[0]), tangents, rows, k));
  dynamics.vjp = (t, y, cotangents) => {
    const stacked = kernels.forward(valuesOf(t)[0], valuesOf(y[0]), tangents, rows, k);
    const value = outputs(stacked);
    // Seeds for F and each J v_k from the cotangents of [F, −tr, ‖F‖², Σ‖Jv‖²].
    const [cF, cTrace] = [valuesOf(cotangents[0]), valuesOf(cotangents[1])];
    let next = 2;
    const cKinetic = terms.kinetic ? valuesOf(cotangents[next++]) : undefined;
    const cJacobian = terms.jacobian ? valuesOf(cotangents[next++]) : undefined;
    const seedF = Float32Array.from(cF);
    if (cKinetic) for (let i = 0; i < size; i++) seedF[i] += 2 * stacked[i] * cKinetic[Math.floor(i / dim)];
    const seedJv = new Float32Array(k * size);
    for (let i = 0; i < k * size; i++) {
      const row = Math.floor((i % size) / dim);
      seedJv[i] = -tangents[i] * cTrace[row] + (cJacobian ? 2 * stacked[size + i] * cJacobian[row] : 0);
    }
    const r = kernels.vjp(seedF, seedJv);
    return {
      value,
      gradY: [tensorOf(r.gradX.slice(), [rows, dim]), ...y.slice(1).map((c) => tf.zeros(c.shape))],
      gradParams: [tensorOf(r.grads.slice(), [r.grads.length])],
      gradT: tf.scalar(r.gradT),
    };
  };
  return dynamics;
}
