/**
 * The dynamics network F(t, x) of a CNF: time-dependent layers with an activation between them,
 * able to return F together with Jacobian–vector products J·v for K tangents v in one pass
 * (forward mode: for h = σ(z), ḣ = σ'(z) ⊙ ż), so traces need no nested autodiff.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../random.js';
import { ACTIVATIONS, type ActivationName } from './activations.js';
import type { JointTerms } from './flow_ops.js';
import { jointValueAndVjp } from './joint_vjp.js';
import { LAYER_PARAMETERS, LAYERS, type LayerKind, type TimeLayer } from './layers.js';

/** The shape of a dynamics network. */
export interface DynamicsNetConfig {
  readonly dim: number;
  readonly hiddenDims: readonly number[];
  readonly activation: ActivationName;
  readonly layer: LayerKind;
  /**
   * The time the layers see, `shift + scale·t`, for a network trained in another time convention
   * (a flow-matching field u(s, x) with s = 1 − t/T: scale −1/T, shift 1). None: t itself.
   */
  readonly timeMap?: { readonly scale: number; readonly shift: number };
}

/** What a CNF block needs of its dynamics: F, and F with Jacobian–vector products. */
export interface TangentDynamics {
  readonly supportsTraining: boolean;
  /** Whether {@link TangentDynamics.jointValueAndVjp} is available. */
  readonly hasJointVjp?: boolean;
  /** The joint dynamics' value and VJP without a tape, when the network provides them (see joint_vjp.ts). */
  jointValueAndVjp?(
    t: tf.Scalar,
    x: tf.Tensor2D,
    v: tf.Tensor3D,
    outputs: JointTerms,
    cotangents: readonly tf.Tensor[],
  ): { value: tf.Tensor[]; gradX: tf.Tensor2D; gradParams: tf.Tensor[]; gradT: tf.Scalar } | undefined;
  /** The flow-matching loss and gradients without a tape, when the network provides them. */
  regressionGradients?(t: tf.Tensor2D, x: tf.Tensor2D, target: tf.Tensor2D): { loss: tf.Scalar; grads: Record<string, tf.Tensor> };
  namedVariables(): [string, tf.Variable][];
  forward(t: tf.Tensor, x: tf.Tensor2D): tf.Tensor2D;
  forwardWithTangents(t: tf.Scalar, x: tf.Tensor2D, v: tf.Tensor3D): { f: tf.Tensor2D; jv: tf.Tensor3D };
  dispose(): void;
}

/**
 * The names and shapes of a network's variables (as {@link DynamicsNet.namedVariables} gives them),
 * from its configuration alone: nothing is allocated.
 */
export function parameterShapes(config: DynamicsNetConfig): { name: string; shape: number[] }[] {
  const sizes = [config.dim, ...config.hiddenDims, config.dim];
  return sizes.slice(1).flatMap((dOut, i) => LAYER_PARAMETERS[config.layer](sizes[i], dOut).map((p) => ({ name: `layer${i}.${p.name}`, shape: p.shape })));
}

/** The built-in dynamics network: time-dependent layers, forward-mode tangents. */
export class DynamicsNet implements TangentDynamics {
  readonly supportsTraining = true;
  private readonly layers: TimeLayer[];

  constructor(
    readonly config: DynamicsNetConfig,
    rng: Rng,
  ) {
    const sizes = [config.dim, ...config.hiddenDims, config.dim];
    this.layers = sizes.slice(1).map((out, i) => LAYERS[config.layer](sizes[i], out, rng));
  }

  /** Every variable, with a stable name (`layer0.W`, …) for saving. */
  namedVariables(): [string, tf.Variable][] {
    return this.layers.flatMap((layer, i) => Object.entries(layer.variables).map(([k, v]) => [`layer${i}.${k}`, v] as [string, tf.Variable]));
  }

  /** The time the layers see (see {@link DynamicsNetConfig.timeMap}). */
  private layerTime<T extends tf.Tensor>(t: T): T {
    const map = this.config.timeMap;
    return map ? (tf.add(map.shift, tf.mul(map.scale, t)) as T) : t;
  }

  /** F(t, x) for x [B, dim]; t is a scalar, or one time per row as [B, 1]. */
  forward(time: tf.Tensor, x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const t = this.layerTime(time);
      const act = ACTIVATIONS[this.config.activation];
      let h = x;
      this.layers.forEach((layer, i) => {
        const z = layer.forward(t, h);
        h = i < this.layers.length - 1 ? (act.apply(z) as tf.Tensor2D) : z;
      });
      return h;
    });
  }

  /**
   * F(t, x) and J·v for tangents v [K, B, dim] (J = ∂F/∂x at each row): returns { f: [B, dim],
   * jv: [K, B, dim] }.
   */
  forwardWithTangents(time: tf.Scalar, x: tf.Tensor2D, v: tf.Tensor3D): { f: tf.Tensor2D; jv: tf.Tensor3D } {
    return tf.tidy(() => {
      const t = this.layerTime(time);
      const act = ACTIVATIONS[this.config.activation];
      const [k, b] = v.shape;
      let h = x;
      let hDot = v.reshape([k * b, v.shape[2]]) as tf.Tensor2D;
      this.layers.forEach((layer, i) => {
        const { y: z, yDot: zDot } = layer.forwardWithTangent(t, h, hDot);
        if (i < this.layers.length - 1) {
          h = act.apply(z) as tf.Tensor2D;
          const slope = act.derivative(z, h);
          hDot = tf.mul(zDot.reshape([k, b, -1]), slope).reshape([k * b, -1]) as tf.Tensor2D;
        } else {
          h = z;
          hDot = zDot;
        }
      });
      return { f: h, jv: hDot.reshape([k, b, -1]) as tf.Tensor3D };
    });
  }

  get hasJointVjp(): boolean {
    return this.config.layer === 'concatsquash';
  }

  /** See {@link jointValueAndVjp}; ConcatSquash layers only (others return undefined: use the tape). */
  jointValueAndVjp(t: tf.Scalar, x: tf.Tensor2D, v: tf.Tensor3D, outputs: JointTerms, cotangents: readonly tf.Tensor[]) {
    if (this.config.layer !== 'concatsquash') return undefined;
    const map = this.config.timeMap;
    if (!map) return jointValueAndVjp(this.layers, ACTIVATIONS[this.config.activation], t, x, v, outputs, cotangents);
    const s = this.layerTime(t);
    const r = jointValueAndVjp(this.layers, ACTIVATIONS[this.config.activation], s, x, v, outputs, cotangents);
    // d/dt = scale · d/ds.
    const gradT = tf.mul(r.gradT, map.scale) as tf.Scalar;
    tf.dispose([s, r.gradT]);
    return { ...r, gradT };
  }

  /**
   * The regression loss mean_b ‖F(t_b, x_b) − target_b‖² for per-row times t [B, 1], and its
   * gradient for every variable, by a hand-derived backward pass (no tape): the flow-matching step.
   * @returns the loss and the gradients keyed by variable name (tf.Variable.name)
   */
  regressionGradients(time: tf.Tensor2D, x: tf.Tensor2D, target: tf.Tensor2D): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
    return tf.tidy(() => {
      const t = this.layerTime(time);
      const act = ACTIVATIONS[this.config.activation];
      const rows = x.shape[0];
      const ones = tf.ones([1, rows]) as tf.Tensor2D;
      const tOnes = tf.concat([tf.transpose(t), ones]) as tf.Tensor2D;
      const caches: tf.Tensor[][] = [];
      const pre: tf.Tensor[] = [];
      const post: tf.Tensor[] = [];
      let h = x;
      this.layers.forEach((layer, i) => {
        const { y, cache } = layer.forwardCached(t, h, ones);
        caches.push(cache);
        if (i < this.layers.length - 1) {
          pre.push(y);
          h = act.apply(y) as tf.Tensor2D;
          post.push(h);
        } else {
          h = y;
        }
      });
      const diff = tf.sub(h, target);
      const loss = tf.div(tf.sum(tf.square(diff)), rows) as tf.Scalar;
      let dy = tf.mul(diff, 2 / rows) as tf.Tensor2D;
      const grads: Record<string, tf.Tensor> = {};
      for (let i = this.layers.length - 1; i >= 0; i--) {
        const { grads: layerGrads, dx } = this.layers[i].backward(caches[i], dy, tOnes, ones, i > 0);
        for (const [name, g] of Object.entries(layerGrads)) grads[this.layers[i].variables[name].name] = g;
        if (i > 0) dy = tf.mul(dx!, act.derivative(pre[i - 1], post[i - 1])) as tf.Tensor2D;
      }
      return { loss, grads };
    });
  }

  dispose(): void {
    for (const [, v] of this.namedVariables()) v.dispose();
  }
}
