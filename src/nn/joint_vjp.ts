/**
 * The hand-derived vector–Jacobian product of a CNF's joint dynamics through a ConcatSquash
 * network, for the adjoint's backward solve: one forward pass with tangents, one backward pass,
 * no tape. Per layer (scalar t, K tangents stacked as [K·B, n] rows):
 *
 *   forward:  g = σ(t w_g + b_g),  lin = a W + b,  z = lin ⊙ g + t w_b,  P = ȧ W,  Ż = P ⊙ g,
 *             a' = φ(z),  ȧ' = φ'(z) ⊙ Ż                       (φ the activation, hidden layers)
 *   outputs:  F = z_L,  −tr = −Σ_k v_k·Ż_{L,k},  ‖F‖²,  Σ_k ‖Ż_{L,k}‖²
 *   backward: dlin = dz ⊙ g,  dP = dŻ ⊙ g,  dg = Σ_rows(dz ⊙ lin + dŻ ⊙ P),  dW = aᵀdlin + ȧᵀdP,
 *             db = Σ_rows dlin,  dw_b = t Σ_rows dz,  dgpre = dg ⊙ g(1 − g),  dw_g = t dgpre,  db_g = dgpre,
 *             dt = Σ (Σ_rows dz) ⊙ w_b + Σ dgpre ⊙ w_g,  da = dlin Wᵀ,  dȧ = dP Wᵀ,
 *             into the previous layer: dŻ' = dȧ ⊙ φ'(z'),  dz' = da ⊙ φ'(z') + Σ_k dȧ_k ⊙ Ż'_k ⊙ φ''(z').
 * Sums over rows are matMuls with a row of ones (tfjs's axis-0 Sum is slow on wasm).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Activation } from './activations.js';
import type { JointTerms } from './flow_ops.js';
import { PLAIN_OPS, type TimeLayer } from './layers.js';



/**
 * The joint outputs at (t, x) and the VJP with `cotangents` (one per output, in order):
 * gradients for x, for every layer's variables (W, b, gateW, gateB, biasW per layer) and for t.
 */
export function jointValueAndVjp(
  layers: readonly TimeLayer[],
  act: Activation,
  t: tf.Scalar,
  x: tf.Tensor2D,
  v: tf.Tensor3D,
  outputs: JointTerms,
  cotangents: readonly tf.Tensor[],
): { value: tf.Tensor[]; gradX: tf.Tensor2D; gradParams: tf.Tensor[]; gradT: tf.Scalar } {
  return tf.tidy(() => {
    const [k, rows, dim] = v.shape;
    const onesB = tf.ones([1, rows]);
    const onesKB = tf.ones([1, k * rows]);
    const sumRows = (m: tf.Tensor, ones: tf.Tensor) => tf.matMul(ones as tf.Tensor2D, m as tf.Tensor2D);
    const last = layers.length - 1;

    // Forward, keeping what the backward pass needs.
    const saved: { a: tf.Tensor2D; aDot: tf.Tensor2D; g: tf.Tensor; lin: tf.Tensor2D; P: tf.Tensor2D; zDot: tf.Tensor2D; s1?: tf.Tensor; s2?: tf.Tensor }[] = [];
    let a = x;
    let aDot = v.reshape([k * rows, dim]) as tf.Tensor2D;
    let z: tf.Tensor2D = x;
    let zDot: tf.Tensor2D = aDot;
    layers.forEach((layer, i) => {
      // The layer's own forward pass (nn/layers.ts), in tfjs's plain ops: no tape records here.
      const { y, yDot, g, lin, P } = layer.squashParts!(PLAIN_OPS, t, a, aDot);
      z = y;
      zDot = yDot;
      const entry: (typeof saved)[number] = { a, aDot, g, lin, P, zDot };
      saved.push(entry);
      if (i < last) {
        const y = act.apply(z) as tf.Tensor2D;
        entry.s1 = act.derivative(z, y);
        entry.s2 = act.secondDerivative(z, y);
        const n = z.shape[1];
        a = y;
        aDot = tf.mul(zDot.reshape([k, rows, n]), entry.s1).reshape([k * rows, n]) as tf.Tensor2D;
      }
    });
    const F = z;
    const JV = zDot; // [K·B, d]
    const V = v.reshape([k * rows, dim]);
    const perRow = (m: tf.Tensor) => tf.sum(m.reshape([k, rows, dim]), [0, 2]);
    const value: tf.Tensor[] = [F, tf.neg(perRow(tf.mul(V, JV)))];
    if (outputs.kinetic) value.push(tf.sum(tf.square(F), 1));
    if (outputs.jacobian) value.push(perRow(tf.square(JV)));

    // Seeds from the cotangents of [F, −tr, ‖F‖², Σ‖Jv‖²].
    const column = (c: tf.Tensor) => c.reshape([rows, 1]);
    const tiled = (c: tf.Tensor) => tf.tile(column(c), [k, 1]); // per-row factor for [K·B, ·] rows
    let dz: tf.Tensor2D = cotangents[0] as tf.Tensor2D;
    let dzDot = tf.neg(tf.mul(V, tiled(cotangents[1]))) as tf.Tensor2D;
    let next = 2;
    if (outputs.kinetic) dz = tf.add(dz, tf.mul(tf.mul(2, F), column(cotangents[next++]))) as tf.Tensor2D;
    if (outputs.jacobian) dzDot = tf.add(dzDot, tf.mul(tf.mul(2, JV), tiled(cotangents[next++]))) as tf.Tensor2D;

    // Backward.
    const gradParams: tf.Tensor[][] = [];
    let gradT: tf.Tensor = tf.scalar(0);
    let gradX: tf.Tensor2D = dz;
    for (let i = last; i >= 0; i--) {
      const L = layers[i].variables as Readonly<Record<'W' | 'gateW' | 'biasW', tf.Variable>>;
      const s = saved[i];
      const n = s.lin.shape[1];
      const dlin = tf.mul(dz, s.g) as tf.Tensor2D;
      const dP = tf.mul(dzDot, s.g) as tf.Tensor2D;
      const dg = tf.add(sumRows(tf.mul(dz, s.lin), onesB), sumRows(tf.mul(dzDot, s.P), onesKB)); // [1, n]
      const dW = tf.add(tf.matMul(tf.transpose(s.a), dlin), tf.matMul(tf.transpose(s.aDot), dP));
      const db = sumRows(dlin, onesB).reshape([n]);
      const dzRows = sumRows(dz, onesB); // [1, n]
      const dbiasW = tf.mul(dzRows, t);
      const dgpre = tf.mul(dg, tf.mul(s.g, tf.sub(1, s.g)));
      const dgateW = tf.mul(dgpre, t);
      const dgateB = dgpre.reshape([n]);
      gradT = tf.add(gradT, tf.add(tf.sum(tf.mul(dzRows, L.biasW)), tf.sum(tf.mul(dgpre, L.gateW))));
      gradParams[i] = [dW, db, dgateW, dgateB, dbiasW];
      const WT = tf.transpose(L.W);
      const da = tf.matMul(dlin, WT) as tf.Tensor2D;
      const daDot = tf.matMul(dP, WT) as tf.Tensor2D;
      if (i === 0) {
        gradX = da;
        break;
      }
      const prev = saved[i - 1];
      const m = prev.lin.shape[1];
      const daDot3 = daDot.reshape([k, rows, m]);
      dzDot = tf.mul(daDot3, prev.s1!).reshape([k * rows, m]) as tf.Tensor2D;
      const curvature = tf.sum(tf.mul(daDot3, prev.zDot.reshape([k, rows, m])), 0); // Σ_k dȧ_k ⊙ Ż'_k
      dz = tf.add(tf.mul(da, prev.s1!), tf.mul(curvature, prev.s2!)) as tf.Tensor2D;
    }
    return { value, gradX, gradParams: gradParams.flat(), gradT: gradT as tf.Scalar };
  });
}
