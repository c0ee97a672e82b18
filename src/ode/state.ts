/**
 * The solvers' internal state: a list of tensors advanced together. `odeint` passes one tensor; the
 * adjoint passes [z, a, a_θ, a_t], so the state needs no concatenation.
 */
import * as tf from '@tensorflow/tfjs-core';

/** A list of tensors integrated together as one state. */
export type State = tf.Tensor[];

/** Dynamics over a state, with time as a host (float64) number. */
export type StateDynamics = (t: number, y: State) => State;

/**
 * The sum of `terms` (at least one): tfjs's addN in groups of at most seven inputs. WebGPU devices
 * bind at most 8 storage buffers per shader stage unless asked for more, and tfjs's WebGPU addN binds
 * one per input plus its output, so a longer addN (dopri8's 12 stages) silently fails there.
 */
export function sumOf(terms: readonly tf.Tensor[]): tf.Tensor {
  if (terms.length === 1) return terms[0];
  // A left fold, so the additions happen in the order one addN makes them (same rounding).
  let sum = tf.addN(terms.slice(0, MAX_ADDN_INPUTS) as tf.Tensor[]);
  for (let i = MAX_ADDN_INPUTS; i < terms.length; i += MAX_ADDN_INPUTS - 1) sum = tf.addN([sum, ...terms.slice(i, i + MAX_ADDN_INPUTS - 1)]);
  return sum;
}
const MAX_ADDN_INPUTS = 7;

/** y0 + h Σ w_i k_i, component by component; terms with a zero weight cost nothing. */
export function combine(y0: State, h: number, weights: readonly number[], ks: readonly State[]): State {
  return y0.map((y0c, c) => {
    const terms: tf.Tensor[] = [];
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] !== 0) terms.push(tf.mul(ks[i][c], h * weights[i]));
    }
    if (terms.length === 0) return y0c.clone();
    return tf.add(y0c, sumOf(terms));
  });
}

/** h Σ w_i k_i (no base term), for error estimates. */
export function weightedSum(h: number, weights: readonly number[], ks: readonly State[]): State {
  return ks[0].map((_, c) => {
    const terms: tf.Tensor[] = [];
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] !== 0) terms.push(tf.mul(ks[i][c], h * weights[i]));
    }
    return sumOf(terms);
  });
}

/**
 * A tensor the caller may dispose: `out` itself when it was created after `marker` (the scalar time
 * made just before calling user dynamics), else a clone. Dynamics that return their input or a
 * captured constant are ordinary user code; the solver disposes what f returns and must never free
 * a tensor it does not own. Tensor ids grow monotonically, so the check is one comparison.
 */
export function ownedResult<T extends tf.Tensor>(out: T, marker: tf.Tensor): T {
  return out.id > marker.id || out === marker ? out : (out.clone() as T);
}

/** Disposes every tensor of the given states (undefined entries are skipped). */
export function disposeStates(...states: (State | undefined)[]): void {
  for (const s of states) if (s) tf.dispose(s);
}

/** Total number of elements over the components selected by `mask` (all when omitted). */
export function elementCount(y: State, mask?: readonly boolean[]): number {
  return y.reduce((n, c, i) => (mask && !mask[i] ? n : n + c.size), 0);
}
