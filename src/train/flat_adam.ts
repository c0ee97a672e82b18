/**
 * Adam over all of a model's variables at once. tfjs's Adam runs about ten small kernels per
 * variable per step (about 250 for FFJORD's 21 tensors, ~5 ms on wasm at ~20 µs each); here the
 * gradients are concatenated into one vector, the update is ~12 kernels on it, and the result is
 * split back. The update is PyTorch's: weight decay as L2 added to the gradient, ε = 1e-8.
 */
import { InputError } from '../errors.js';
import type { AdamState } from '../native/flow_matching_step.js';
import * as tf from '@tensorflow/tfjs-core';
import { read, readNumber, type Reads } from '../ode/host_reads.js';

/** Adam's state as host arrays (the same on every path, so checkpoints move between them). */
export type FlatAdamState = AdamState;

export class FlatAdam {
  private m: tf.Tensor1D;
  private v: tf.Tensor1D;
  private step = 0;
  private readonly sizes: number[];

  constructor(
    private readonly variables: readonly tf.Variable[],
    private readonly learningRate: number,
    private readonly weightDecay = 0,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    this.sizes = variables.map((v) => v.size);
    const total = this.sizes.reduce((a, b) => a + b, 0);
    this.m = tf.zeros([total]);
    this.v = tf.zeros([total]);
  }

  /**
   * One update from gradients keyed by variable name; variables without a gradient (e.g. T under
   * flow matching) are left as they are, and their moments too.
   * @returns false, changing nothing, when the update would make a weight NaN or Inf (its one host
   *   read is yielded: see ode/host_reads.ts)
   */
  *apply(grads: Readonly<Record<string, tf.Tensor>>): Reads<boolean> {
    const t = this.step + 1;
    const present = this.variables.map((v) => grads[v.name] !== undefined);
    const [m, v, next, finite] = tf.tidy(() => {
      const flat = (parts: tf.Tensor[]) => tf.concat(parts.map((p) => p.reshape([-1]))) as tf.Tensor1D;
      let g = flat(this.variables.map((v, i) => (present[i] ? grads[v.name] : tf.zeros([this.sizes[i]]))));
      const p = flat(this.variables.map((v) => v));
      if (this.weightDecay > 0) g = tf.add(g, tf.mul(this.weightDecay, p));
      const mask = present.every(Boolean) ? undefined : flat(this.variables.map((_, i) => tf.fill([this.sizes[i]], present[i] ? 1 : 0)));
      let m = tf.add(tf.mul(this.beta1, this.m), tf.mul(1 - this.beta1, g)) as tf.Tensor1D;
      let v = tf.add(tf.mul(this.beta2, this.v), tf.mul(1 - this.beta2, tf.square(g))) as tf.Tensor1D;
      if (mask) {
        m = tf.add(tf.mul(mask, m), tf.mul(tf.sub(1, mask), this.m)) as tf.Tensor1D;
        v = tf.add(tf.mul(mask, v), tf.mul(tf.sub(1, mask), this.v)) as tf.Tensor1D;
      }
      const stepSize = this.learningRate / (1 - this.beta1 ** t);
      const denominator = tf.add(tf.sqrt(tf.div(v, 1 - this.beta2 ** t)), this.epsilon);
      let delta = tf.mul(tf.div(m, denominator), -stepSize);
      if (mask) delta = tf.mul(delta, mask);
      const next = tf.add(p, delta);
      return [m, v, next, tf.all(tf.isFinite(next))];
    }) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor];
    let ok = false;
    try {
      ok = (yield* readNumber(finite)) === 1;
    } finally {
      if (!ok) tf.dispose([m, v, next]);
    }
    if (!ok) return false;
    this.step = t;
    tf.dispose([this.m, this.v]);
    this.m = m;
    this.v = v;
    const parts = tf.split(next, this.sizes);
    this.variables.forEach((variable, i) => {
      if (!present[i]) return;
      const value = parts[i].reshape(variable.shape);
      variable.assign(value);
      value.dispose();
    });
    tf.dispose([next, ...parts]);
    return true;
  }

  /** The state, for checkpoints (two host reads, yielded). */
  *state(): Reads<FlatAdamState> {
    const m = (yield* read(this.m.clone())) as Float32Array;
    const v = (yield* read(this.v.clone())) as Float32Array;
    return { step: this.step, m, v };
  }

  /** Continues from a saved state (of the same variables, in the same order). */
  restore(state: FlatAdamState): void {
    if (state.m.length !== this.m.size || state.v.length !== this.v.size) {
      throw new InputError('FlatAdam.restore', 'state', `holds ${state.m.length} values, but the model has ${this.m.size}`);
    }
    tf.dispose([this.m, this.v]);
    this.m = tf.tensor1d(state.m);
    this.v = tf.tensor1d(state.v);
    this.step = state.step;
  }

  dispose(): void {
    tf.dispose([this.m, this.v]);
  }
}
