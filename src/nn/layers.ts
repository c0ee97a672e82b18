/**
 * Time-dependent linear layers that also push forward-mode tangents: for y = layer(t, x), the
 * tangent is ẏ = ∂y/∂x · ẋ. K tangents travel as one [K·B, d] matrix through a single matMul.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../random.js';
import { matMul } from './matmul.js';

/** The layer kinds of FFJORD's tabular networks that cnfkit implements. */
export type LayerKind = 'concatsquash' | 'concat';

/** A layer of a dynamics network. */
export interface TimeLayer {
  /** y for the batch x [B, dIn] at time t: a scalar, or one time per row as [B, 1] (flow matching). */
  forward(t: tf.Tensor, x: tf.Tensor2D): tf.Tensor2D;
  /** ∂y/∂x · ẋ for tangents ẋ [K·B, dIn] (the layer is affine in x, so this needs no x). */
  tangent(t: tf.Tensor, xDot: tf.Tensor2D): tf.Tensor2D;
  /** The layer's variables, by name within the layer. */
  readonly variables: Readonly<Record<string, tf.Variable>>;
}

/** U(−1/√fanIn, 1/√fanIn), PyTorch's default Linear initialisation, which FFJORD uses. */
function uniformInit(rng: Rng, shape: [number, number] | [number], fanIn: number): tf.Variable {
  const bound = 1 / Math.sqrt(fanIn);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.variable(tf.tensor(rng.uniforms(size, -bound, bound), shape));
}

/**
 * FFJORD's ConcatSquash layer: y = (x W + b) ⊙ σ(t W_g + b_g) + t W_b. Its tangent is
 * ẏ = (ẋ W) ⊙ σ(t W_g + b_g).
 */
export function concatSquashLayer(dIn: number, dOut: number, rng: Rng): TimeLayer {
  const variables = {
    W: uniformInit(rng, [dIn, dOut], dIn),
    b: uniformInit(rng, [dOut], dIn),
    gateW: uniformInit(rng, [1, dOut], 1),
    gateB: uniformInit(rng, [dOut], 1),
    biasW: uniformInit(rng, [1, dOut], 1),
  };
  const gate = (t: tf.Tensor) => tf.sigmoid(tf.add(tf.mul(variables.gateW, t), variables.gateB));
  return {
    variables,
    forward: (t, x) =>
      tf.tidy(() => tf.add(tf.mul(tf.add(matMul(x, variables.W), variables.b), gate(t)), tf.mul(variables.biasW, t)) as tf.Tensor2D),
    tangent: (t, xDot) => tf.tidy(() => tf.mul(matMul(xDot, variables.W), gate(t)) as tf.Tensor2D),
  };
}

/** FFJORD's Concat layer: y = [t, x] W + b. Its tangent is ẋ W[1:]. */
export function concatLayer(dIn: number, dOut: number, rng: Rng): TimeLayer {
  const variables = {
    W: uniformInit(rng, [dIn, dOut], dIn + 1),
    tW: uniformInit(rng, [1, dOut], dIn + 1),
    b: uniformInit(rng, [dOut], dIn + 1),
  };
  return {
    variables,
    forward: (t, x) => tf.tidy(() => tf.add(tf.add(matMul(x, variables.W), tf.mul(variables.tW, t)), variables.b) as tf.Tensor2D),
    tangent: (_t, xDot) => matMul(xDot, variables.W),
  };
}

/** Layer constructors by kind. */
export const LAYERS: Readonly<Record<LayerKind, (dIn: number, dOut: number, rng: Rng) => TimeLayer>> = {
  concatsquash: concatSquashLayer,
  concat: concatLayer,
};
