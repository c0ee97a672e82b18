/**
 * Adam over all of a model's variables at once. tfjs's Adam runs about ten small kernels per
 * variable per step (about 250 for FFJORD's 21 tensors, ~5 ms on wasm at ~20 µs each); here the
 * gradients are concatenated into one vector, the update is ~12 kernels on it, and the result is
 * split back. Where tensors live in host memory (wasm, cpu) the same float32 arithmetic runs on the
 * host instead: those ~90 kernels (mostly reshapes) were a tenth of a maximum-likelihood iteration
 * at batch 100. The update is PyTorch's: weight decay as L2 added to the gradient, ε = 1e-8.
 */
import { InputError } from '../errors.js';
import type { AdamState } from '../native/flow_matching_step.js';
import * as tf from '@tensorflow/tfjs-core';
import { hostArithmetic, valuesOf } from '../ode/host_arithmetic.js';
import { read, readNumber, type Reads } from '../ode/host_reads.js';

/** The moments: tensors on the tfjs path, host arrays on the host path (converted when the path changes). */
type Moment = tf.Tensor1D | Float32Array;

/** Adam's state as host arrays (the same on every path, so checkpoints move between them). */
export type FlatAdamState = AdamState;

export class FlatAdam {
  private m: Moment;
  private v: Moment;
  private step = 0;
  /** The flat weights and moments before the last update, for {@link undo}. */
  private previous?: { step: number; m: Moment; v: Moment; p: Moment };
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
    this.m = new Float32Array(total);
    this.v = new Float32Array(total);
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
    if (hostArithmetic()) return this.applyOnHost(grads, present, t);
    this.m = asTensor(this.m);
    this.v = asTensor(this.v);
    const moments = [this.m, this.v];
    const [m, v, next, finite, p] = tf.tidy(() => {
      const flat = (parts: tf.Tensor[]) => tf.concat(parts.map((p) => p.reshape([-1]))) as tf.Tensor1D;
      let g = flat(this.variables.map((v, i) => (present[i] ? grads[v.name] : tf.zeros([this.sizes[i]]))));
      const p = flat(this.variables.map((v) => v));
      if (this.weightDecay > 0) g = tf.add(g, tf.mul(this.weightDecay, p));
      const mask = present.every(Boolean) ? undefined : flat(this.variables.map((_, i) => tf.fill([this.sizes[i]], present[i] ? 1 : 0)));
      const [m0, v0] = moments;
      let m = tf.add(tf.mul(this.beta1, m0), tf.mul(1 - this.beta1, g)) as tf.Tensor1D;
      let v = tf.add(tf.mul(this.beta2, v0), tf.mul(1 - this.beta2, tf.square(g))) as tf.Tensor1D;
      if (mask) {
        m = tf.add(tf.mul(mask, m), tf.mul(tf.sub(1, mask), m0)) as tf.Tensor1D;
        v = tf.add(tf.mul(mask, v), tf.mul(tf.sub(1, mask), v0)) as tf.Tensor1D;
      }
      const stepSize = this.learningRate / (1 - this.beta1 ** t);
      const denominator = tf.add(tf.sqrt(tf.div(v, 1 - this.beta2 ** t)), this.epsilon);
      let delta = tf.mul(tf.div(m, denominator), -stepSize);
      if (mask) delta = tf.mul(delta, mask);
      const next = tf.add(p, delta);
      return [m, v, next, tf.all(tf.isFinite(next)), p];
    }) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor, tf.Tensor1D];
    let ok = false;
    try {
      ok = (yield* readNumber(finite)) === 1;
    } finally {
      if (!ok) tf.dispose([m, v, next, p]);
    }
    if (!ok) return false;
    this.remember({ step: this.step, m: moments[0], v: moments[1], p });
    this.step = t;
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

  /**
   * The update on the host, in float32 as the tfjs path computes it (each operation rounded, its
   * scalars rounded from float64 as tfjs rounds them): the same weights to the last bit.
   */
  private applyOnHost(grads: Readonly<Record<string, tf.Tensor>>, present: boolean[], t: number): boolean {
    const f = Math.fround;
    const [b1, c1, b2, c2] = [f(this.beta1), f(1 - this.beta1), f(this.beta2), f(1 - this.beta2)];
    const [bias2, epsilon, decay] = [f(1 - this.beta2 ** t), f(this.epsilon), f(this.weightDecay)];
    const step = f(-this.learningRate / (1 - this.beta1 ** t));
    const m0 = (this.m = asArray(this.m));
    const v0 = (this.v = asArray(this.v));
    const m = m0.slice();
    const v = v0.slice();
    const before = new Float32Array(m0.length);
    const next: Float32Array[] = [];
    let at = 0;
    for (const [i, variable] of this.variables.entries()) {
      const size = this.sizes[i];
      const p = valuesOf(variable);
      before.set(p, at);
      if (!present[i]) {
        at += size;
        next.push(new Float32Array(0));
        continue;
      }
      const g = valuesOf(grads[variable.name]);
      const out = new Float32Array(size);
      for (let j = 0; j < size; j++, at++) {
        const gj = decay > 0 ? f(g[j] + f(decay * p[j])) : g[j];
        m[at] = f(f(b1 * m0[at]) + f(c1 * gj));
        v[at] = f(f(b2 * v0[at]) + f(c2 * f(gj * gj)));
        out[j] = f(p[j] + f(f(m[at] / f(f(Math.sqrt(f(v[at] / bias2))) + epsilon)) * step));
        if (!Number.isFinite(out[j])) return false;
      }
      next.push(out);
    }
    this.remember({ step: this.step, m: m0, v: v0, p: before });
    this.step = t;
    this.m = m;
    this.v = v;
    this.variables.forEach((variable, i) => {
      if (!present[i]) return;
      const value = tf.tensor(next[i], variable.shape, 'float32');
      variable.assign(value);
      value.dispose();
    });
    return true;
  }

  /** Keeps the state before an update (dropping the one before that). */
  private remember(previous: NonNullable<FlatAdam['previous']>): void {
    this.forget();
    this.previous = previous;
  }

  private forget(): void {
    if (this.previous) for (const held of [this.previous.m, this.previous.v, this.previous.p]) if (!(held instanceof Float32Array)) held.dispose();
    this.previous = undefined;
  }

  /**
   * Takes the last update back: the weights and moments as they were before it (training that the
   * update made unsolvable stops with the last good weights). Once only; false when there is none.
   */
  undo(): boolean {
    const previous = this.previous;
    if (!previous) return false;
    this.previous = undefined;
    this.dispose();
    ({ step: this.step, m: this.m, v: this.v } = previous);
    const flat = previous.p;
    const parts = flat instanceof Float32Array ? [] : tf.split(flat, this.sizes);
    let at = 0;
    this.variables.forEach((variable, i) => {
      const value = flat instanceof Float32Array ? tf.tensor(flat.subarray(at, (at += variable.size)), variable.shape, 'float32') : parts[i].reshape(variable.shape);
      variable.assign(value);
      value.dispose();
    });
    tf.dispose([...parts, ...(flat instanceof Float32Array ? [] : [flat])]);
    return true;
  }

  /** The state, for checkpoints (two host reads, yielded, on the tfjs path). */
  *state(): Reads<FlatAdamState> {
    const m = this.m instanceof Float32Array ? this.m.slice() : ((yield* read(this.m.clone())) as Float32Array);
    const v = this.v instanceof Float32Array ? this.v.slice() : ((yield* read(this.v.clone())) as Float32Array);
    return { step: this.step, m, v };
  }

  /** Continues from a saved state (of the same variables, in the same order). */
  restore(state: FlatAdamState): void {
    const total = this.sizes.reduce((a, b) => a + b, 0);
    if (state.m.length !== total || state.v.length !== total) {
      throw new InputError('FlatAdam.restore', 'state', `holds ${state.m.length} values, but the model has ${total}`);
    }
    this.dispose();
    this.m = Float32Array.from(state.m);
    this.v = Float32Array.from(state.v);
    this.step = state.step;
  }

  dispose(): void {
    for (const moment of [this.m, this.v]) if (!(moment instanceof Float32Array)) moment.dispose();
    this.forget();
  }
}

/** A moment as a tensor (made from the host array when the last update ran on the host). */
function asTensor(moment: Moment): tf.Tensor1D {
  return moment instanceof Float32Array ? tf.tensor1d(moment) : moment;
}

/** A moment as a host array (read, and the tensor disposed, when the last update ran on tfjs). */
function asArray(moment: Moment): Float32Array {
  if (moment instanceof Float32Array) return moment;
  const values = Float32Array.from(moment.dataSync());
  moment.dispose();
  return values;
}
