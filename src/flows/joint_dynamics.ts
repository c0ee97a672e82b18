/**
 * The CNF's joint ODE over the state [x, ℓ, k?, j?]:
 *   dx/dt = F(t, x),  dℓ/dt = −tr(∂F/∂x),  dk/dt = ‖F‖²,  dj/dt = ‖∂F/∂x‖²_F (estimated),
 * where k and j (RNODE's kinetic energy and Jacobian Frobenius norm) are only integrated when they
 * are regularised. One network pass gives F and all the Jacobian–vector products.
 */
import * as tf from '@tensorflow/tfjs';
import { KernelError } from '../errors.js';
import { DynamicsNet, type TangentDynamics } from '../nn/dynamics_net.js';
import { WasmJointDynamics } from '../native/joint_kernels.js';
import { kernelsSupport } from '../native/squash_network.js';
import { tapeRecording } from '../native/wasm_kernels.js';
import type { ListDynamics } from '../ode/adjoint_core.js';
import { traceFromTangents } from './trace.js';

/** Which regularisers the joint state carries. */
export interface JointTerms {
  readonly kinetic: boolean;
  readonly jacobian: boolean;
}

/** The joint dynamics for fixed tangents v [K, B, d] (basis or noise, drawn once per solve). */
export function jointDynamics(net: TangentDynamics, v: tf.Tensor3D, terms: JointTerms): ListDynamics {
  const kernels = jointKernels(net);
  return kernels ? kernelJointDynamics(kernels, tensorJointDynamics(net, v, terms), v, terms) : tensorJointDynamics(net, v, terms);
}

/** The joint dynamics on tfjs kernels, with the network's tape-free VJP when it has one. */
function tensorJointDynamics(net: TangentDynamics, v: tf.Tensor3D, terms: JointTerms): ListDynamics {
  const dynamics: ListDynamics = (t, [x]) => {
    const { f, jv } = net.forwardWithTangents(t, x as tf.Tensor2D, v);
    const out: tf.Tensor[] = [f, tf.neg(traceFromTangents(v, jv))];
    if (terms.kinetic) out.push(tf.sum(tf.square(f), 1));
    // Σ_k ‖J v_k‖²: the exact Frobenius norm for basis tangents, unbiased for noise.
    if (terms.jacobian) out.push(tf.sum(tf.square(jv), [0, 2]));
    return out;
  };
  if (net.hasJointVjp && net.jointValueAndVjp) {
    // Only x feeds the dynamics: the other components' gradients are zero.
    dynamics.vjp = (t, y, cotangents) => {
      const r = net.jointValueAndVjp!(t, y[0] as tf.Tensor2D, v, terms, cotangents);
      if (!r) throw new KernelError('jointValueAndVjp unavailable for this network');
      return { value: r.value, gradY: [r.gradX, ...y.slice(1).map((c) => tf.zerosLike(c))], gradParams: r.gradParams, gradT: r.gradT };
    };
  }
  return dynamics;
}

/** The dynamics of x alone, for the flow map and sampling. */
export function flowDynamics(net: TangentDynamics): ListDynamics {
  const kernels = jointKernels(net);
  if (!kernels) return (t, [x]) => [net.forward(t, x as tf.Tensor2D)];
  return (t, [x]) => {
    const [rows, dim] = x.shape;
    if (tapeRecording() || !kernels.fits(rows)) return [net.forward(t, x as tf.Tensor2D)];
    return [tf.tensor2d(kernels.forward(t.dataSync()[0], x.dataSync() as Float32Array, undefined, rows, 0).slice(), [rows, dim])];
  };
}

/** One kernel workspace per network, reused by every solve; undefined where the kernels cannot run. */
const workspaces = new WeakMap<DynamicsNet, WasmJointDynamics>();

/** Lets the network's kernel workspace go (its memory is the largest batch's, up to 1 GiB). */
export function releaseJointKernels(net: TangentDynamics): void {
  if (net instanceof DynamicsNet) workspaces.delete(net);
}

/** The network's kernel workspace with its current weights, when the kernels can run it now. */
function jointKernels(net: TangentDynamics): WasmJointDynamics | undefined {
  if (!(net instanceof DynamicsNet) || !kernelsSupport(net)) return undefined;
  let kernels = workspaces.get(net);
  if (kernels) {
    kernels.loadWeights();
  } else {
    kernels = new WasmJointDynamics(net);
    workspaces.set(net, kernels);
  }
  return kernels;
}

/**
 * The joint dynamics on the kernels: one host read of x (and of the cotangents), one pass each way,
 * the outputs as fresh tensors; the parameter gradient comes back as one flat tensor. Under a
 * recording tape the forward pass is `taped`'s, and so is everything for batches too large for a
 * workspace.
 */
function kernelJointDynamics(kernels: WasmJointDynamics, taped: ListDynamics, v: tf.Tensor3D, terms: JointTerms): ListDynamics {
  const [k, rows, dim] = v.shape;
  if (!kernels.fits((1 + k) * rows)) return taped;
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
    const out: tf.Tensor[] = [tf.tensor2d(stacked.slice(0, size), [rows, dim]), tf.tensor1d(negTrace)];
    if (kinetic) out.push(tf.tensor1d(kinetic));
    if (jacobian) out.push(tf.tensor1d(jacobian));
    return out;
  };
  const dynamics: ListDynamics = (t, y) => (tapeRecording() ? taped(t, y) : outputs(kernels.forward(t.dataSync()[0], y[0].dataSync() as Float32Array, tangents, rows, k)));
  dynamics.vjp = (t, y, cotangents) => {
    const stacked = kernels.forward(t.dataSync()[0], y[0].dataSync() as Float32Array, tangents, rows, k);
    const value = outputs(stacked);
    // Seeds for F and each J v_k from the cotangents of [F, −tr, ‖F‖², Σ‖Jv‖²].
    const [cF, cTrace] = [cotangents[0].dataSync(), cotangents[1].dataSync()];
    let next = 2;
    const cKinetic = terms.kinetic ? cotangents[next++].dataSync() : undefined;
    const cJacobian = terms.jacobian ? cotangents[next++].dataSync() : undefined;
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
      gradY: [tf.tensor2d(r.gradX.slice(), [rows, dim]), ...y.slice(1).map((c) => tf.zeros(c.shape))],
      gradParams: [tf.tensor1d(r.grads.slice())],
      gradT: tf.scalar(r.gradT),
    };
  };
  return dynamics;
}
