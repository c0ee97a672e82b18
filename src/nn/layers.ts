/**
 * Time-dependent linear layers that also push forward-mode tangents: for y = layer(t, x), the
 * tangent is ẏ = ∂y/∂x · ẋ. K tangents travel as one [K·B, d] matrix through a single matMul.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random.js';
import { addRow, mulRow } from './broadcast_ops.js';
import { matMul } from './matmul.js';

/**
 * The primitive ops a layer's math is written in, once: tfjs's own (fast outside a tape; the joint
 * VJP of nn/joint_vjp.ts runs on them) or versions whose gradients avoid wasm's slow transposed
 * products and axis-0 sums (for anything a tape differentiates).
 */
export interface LayerOps {
  matMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D;
  /** x [B, n] + v, v a row [n] or [1, n] (or [B, n]). */
  addRow(x: tf.Tensor2D, v: tf.Tensor): tf.Tensor2D;
  /** x [B, n] ⊙ v, v a row [1, n] (or [B, n]). */
  mulRow(x: tf.Tensor2D, v: tf.Tensor): tf.Tensor2D;
}

/** tfjs's ops, for untaped passes. */
export const PLAIN_OPS: LayerOps = {
  matMul: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
  addRow: (x, v) => tf.add(x, v) as tf.Tensor2D,
  mulRow: (x, v) => tf.mul(x, v) as tf.Tensor2D,
};

/** The ops with wasm-friendly gradients, for taped passes. */
export const TAPED_OPS: LayerOps = {
  matMul,
  addRow: (x, v) => (v.rank === 1 || (v.shape[0] === 1 && x.shape[0] !== 1) ? addRow(x, v) : (tf.add(x, v) as tf.Tensor2D)),
  mulRow: (x, v) => (v.shape[0] === 1 && x.shape[0] !== 1 ? mulRow(x, v) : (tf.mul(x, v) as tf.Tensor2D)),
};

/** What a ConcatSquash layer's forward pass with tangents computes, kept for a backward pass. */
export interface SquashParts {
  /** y = lin ⊙ g + t w_b. */
  y: tf.Tensor2D;
  /** ẏ = P ⊙ g. */
  yDot: tf.Tensor2D;
  /** The gate σ(t w_g + b_g). */
  g: tf.Tensor;
  /** lin = x W + b. */
  lin: tf.Tensor2D;
  /** P = ẋ W. */
  P: tf.Tensor2D;
}

/** The layer kinds of FFJORD's tabular networks that cnfkit implements. */
export type LayerKind = 'concatsquash' | 'concat';

/** A layer of a dynamics network. */
export interface TimeLayer {
  /** y for the batch x [B, dIn] at time t: a scalar, or one time per row as [B, 1] (flow matching). */
  forward(t: tf.Tensor, x: tf.Tensor2D): tf.Tensor2D;
  /**
   * y and ẏ = ∂y/∂x · ẋ for tangents ẋ [K·B, dIn] together (the layer is affine in x, so ẏ needs no
   * x), sharing the time terms (the gate) between them.
   */
  forwardWithTangent(t: tf.Tensor, x: tf.Tensor2D, xDot: tf.Tensor2D): { y: tf.Tensor2D; yDot: tf.Tensor2D };
  /** The layer's variables, by name within the layer. */
  readonly variables: Readonly<Record<string, tf.Variable>>;
  /** ConcatSquash only: the forward pass with tangents in `ops`, with what its VJP needs (no tidy of its own). */
  squashParts?(ops: LayerOps, t: tf.Tensor, x: tf.Tensor2D, xDot: tf.Tensor2D): SquashParts;
  /**
   * Tape-free backward pass for per-row times t [B, 1] (flow matching): the output and what the
   * backward pass needs.
   */
  forwardCached(t: tf.Tensor2D, x: tf.Tensor2D, ones: tf.Tensor2D): { y: tf.Tensor2D; cache: tf.Tensor[] };
  /**
   * Gradients of the variables (by name) and, when `inputGrad`, of x, given dL/dy. `tOnes` is
   * [tᵀ; 1ᵀ] [2, B] and `ones` is 1ᵀ [1, B], shared by all layers.
   */
  backward(cache: tf.Tensor[], dy: tf.Tensor2D, tOnes: tf.Tensor2D, ones: tf.Tensor2D, inputGrad: boolean): { grads: Record<string, tf.Tensor>; dx?: tf.Tensor2D };
}

/**
 * Each layer kind's variables, in creation order, with their shapes and the fan-in of their
 * initialisation: the one place that says what a layer holds, so that a model file's manifest can be
 * checked against its options before anything is allocated.
 */
export const LAYER_PARAMETERS: Readonly<Record<LayerKind, (dIn: number, dOut: number) => { name: string; shape: [number, number] | [number]; fanIn: number }[]>> = {
  concatsquash: (dIn, dOut) => [
    { name: 'W', shape: [dIn, dOut], fanIn: dIn },
    { name: 'b', shape: [dOut], fanIn: dIn },
    { name: 'gateW', shape: [1, dOut], fanIn: 1 },
    { name: 'gateB', shape: [dOut], fanIn: 1 },
    { name: 'biasW', shape: [1, dOut], fanIn: 1 },
  ],
  concat: (dIn, dOut) => [
    { name: 'W', shape: [dIn, dOut], fanIn: dIn + 1 },
    { name: 'tW', shape: [1, dOut], fanIn: dIn + 1 },
    { name: 'b', shape: [dOut], fanIn: dIn + 1 },
  ],
};

/** A layer's variables as LAYER_PARAMETERS lists them, initialised as PyTorch's Linear (FFJORD's). */
function initVariables(kind: LayerKind, dIn: number, dOut: number, rng: Rng): Record<string, tf.Variable> {
  return Object.fromEntries(LAYER_PARAMETERS[kind](dIn, dOut).map((p) => [p.name, uniformInit(rng, p.shape, p.fanIn)]));
}

/** U(−1/√fanIn, 1/√fanIn), PyTorch's default Linear initialisation, which FFJORD uses. */
function uniformInit(rng: Rng, shape: [number, number] | [number], fanIn: number): tf.Variable {
  const bound = 1 / Math.sqrt(fanIn);
  const size = shape.reduce((a, b) => a * b, 1);
  // tidy frees the initial tensor (the variable holds its own copy); variables outlive tidy.
  return tf.tidy(() => tf.variable(tf.tensor(rng.uniforms(size, -bound, bound), shape)));
}

/**
 * FFJORD's ConcatSquash layer: y = (x W + b) ⊙ σ(t W_g + b_g) + t W_b. Its tangent is
 * ẏ = (ẋ W) ⊙ σ(t W_g + b_g).
 */
export function concatSquashLayer(dIn: number, dOut: number, rng: Rng): TimeLayer {
  const variables = initVariables('concatsquash', dIn, dOut, rng) as Record<'W' | 'b' | 'gateW' | 'gateB' | 'biasW', tf.Variable>;
  // The layer's math, once, in the given ops. A scalar t gives a [1, dOut] gate shared by every row;
  // per-row times [B, 1] (flow matching) give a [B, dOut] gate.
  const gate = (ops: LayerOps, t: tf.Tensor) =>
    t.rank === 0 ? tf.sigmoid(tf.add(tf.mul(variables.gateW, t), variables.gateB)) : tf.sigmoid(ops.addRow(ops.matMul(t, variables.gateW), variables.gateB));
  const timeBias = (ops: LayerOps, t: tf.Tensor) => (t.rank === 0 ? tf.mul(variables.biasW, t) : ops.matMul(t, variables.biasW));
  const linear = (ops: LayerOps, x: tf.Tensor2D) => ops.addRow(ops.matMul(x, variables.W), variables.b);
  const squashParts = (ops: LayerOps, t: tf.Tensor, x: tf.Tensor2D, xDot: tf.Tensor2D): SquashParts => {
    const g = gate(ops, t);
    const lin = linear(ops, x);
    const P = ops.matMul(xDot, variables.W);
    return { y: ops.addRow(ops.mulRow(lin, g), timeBias(ops, t)), yDot: ops.mulRow(P, g), g, lin, P };
  };
  return {
    variables,
    squashParts,
    forward: (t, x) => tf.tidy(() => TAPED_OPS.addRow(TAPED_OPS.mulRow(linear(TAPED_OPS, x), gate(TAPED_OPS, t)), timeBias(TAPED_OPS, t))),
    forwardWithTangent: (t, x, xDot) =>
      tf.tidy(() => {
        const { y, yDot } = squashParts(TAPED_OPS, t, x, xDot);
        return { y, yDot };
      }),
    // y = lin ⊙ g + t W_b with lin = x W + b, g = σ(t W_g + b_g).
    forwardCached: (t, x) => {
      const lin = tf.add(tf.matMul(x, variables.W), variables.b) as tf.Tensor2D;
      const g = tf.sigmoid(tf.add(tf.matMul(t, variables.gateW), variables.gateB)) as tf.Tensor2D;
      const y = tf.add(tf.mul(lin, g), tf.matMul(t, variables.biasW)) as tf.Tensor2D;
      return { y, cache: [x, lin, g] };
    },
    // dlin = dy ⊙ g; dW = xᵀ dlin; db = Σ dlin; dgpre = dy ⊙ lin ⊙ g(1 − g); [dW_g; db_g] = [t 1]ᵀ dgpre;
    // dW_b = tᵀ dy; dx = dlin Wᵀ.
    backward: ([x, lin, g], dy, tOnes, ones, inputGrad) => {
      const dlin = tf.mul(dy, g) as tf.Tensor2D;
      const dgpre = tf.mul(tf.mul(dy, lin), tf.mul(g, tf.sub(1, g))) as tf.Tensor2D;
      const gate = tf.matMul(tOnes, dgpre);
      const n = dy.shape[1];
      return {
        grads: {
          W: tf.matMul(tf.transpose(x), dlin),
          b: tf.matMul(ones, dlin).reshape([n]),
          gateW: gate.slice([0, 0], [1, n]),
          gateB: gate.slice([1, 0], [1, n]).reshape([n]),
          biasW: tf.matMul(tOnes.slice([0, 0], [1, -1]), dy),
        },
        dx: inputGrad ? (tf.matMul(dlin, tf.transpose(variables.W)) as tf.Tensor2D) : undefined,
      };
    },
  };
}

/** FFJORD's Concat layer: y = [t, x] W + b. Its tangent is ẋ W[1:]. */
export function concatLayer(dIn: number, dOut: number, rng: Rng): TimeLayer {
  const variables = initVariables('concat', dIn, dOut, rng) as Record<'W' | 'tW' | 'b', tf.Variable>;
  return {
    variables,
    forward: (t, x) =>
      tf.tidy(() => {
        const timeTerm = t.rank === 0 ? tf.add(tf.mul(variables.tW, t), variables.b) : addRow(matMul(t, variables.tW), variables.b);
        return timeTerm.shape[0] === 1 && x.shape[0] !== 1 ? addRow(matMul(x, variables.W), timeTerm) : (tf.add(matMul(x, variables.W), timeTerm) as tf.Tensor2D);
      }),
    forwardWithTangent(t, x, xDot) {
      return { y: this.forward(t, x), yDot: matMul(xDot, variables.W) };
    },
    // y = x W + t W_t + b.
    forwardCached: (t, x) => {
      const y = tf.add(tf.add(tf.matMul(x, variables.W), tf.matMul(t, variables.tW)), variables.b) as tf.Tensor2D;
      return { y, cache: [x] };
    },
    backward: ([x], dy, tOnes, ones, inputGrad) => {
      const n = dy.shape[1];
      return {
        grads: { W: tf.matMul(tf.transpose(x), dy), tW: tf.matMul(tOnes.slice([0, 0], [1, -1]), dy), b: tf.matMul(ones, dy).reshape([n]) },
        dx: inputGrad ? (tf.matMul(dy, tf.transpose(variables.W)) as tf.Tensor2D) : undefined,
      };
    },
  };
}

/** Layer constructors by kind. */
export const LAYERS: Readonly<Record<LayerKind, (dIn: number, dOut: number, rng: Rng) => TimeLayer>> = {
  concatsquash: concatSquashLayer,
  concat: concatLayer,
};
