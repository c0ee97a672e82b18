/**
 * The solvers' internal state: a list of tensors advanced together. `odeint` passes one tensor; the
 * adjoint passes [z, a, a_θ, a_t], so the state needs no concatenation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostArithmetic, hostLinearCombination } from './host_arithmetic.js';

/** A list of tensors integrated together as one state. */
export type State = tf.Tensor[];

/**
 * Dynamics over a state, with time as a host (float64) number. `unread[c]` true says f never reads
 * component c (the adjoint's parameter adjoints, a CNF's log-density): a Runge–Kutta step then
 * forms only that component's final value, not its value at every stage.
 */
export type StateDynamics = ((t: number, y: State) => State) & { readonly unread?: readonly boolean[] };

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

/**
 * y0 + h Σ w_i k_i, component by component; terms with a zero weight cost nothing. Components with
 * `skip[c]` true are y0's own tensor, not a copy (the caller must not dispose them twice).
 */
export function combine(y0: State, h: number, weights: readonly number[], ks: readonly State[], skip?: readonly boolean[]): State {
  return y0.map((y0c, c) => (skip?.[c] ? y0c : combineComponent(y0, h, weights, ks, c)));
}

/** Component c of {@link combine}. */
export function combineComponent(y0: State, h: number, weights: readonly number[], ks: readonly State[], c: number): tf.Tensor {
  return linearCombination(y0[c], h, weights, ks.map((k) => k[c])) ?? y0[c].clone();
}

/** h Σ w_i k_i (no base term), for error estimates, of the components `c` where `only[c]` (all when omitted). */
export function weightedSum(h: number, weights: readonly number[], ks: readonly State[], only?: readonly boolean[]): State {
  return ks[0].flatMap((k0, c) => (only && !only[c] ? [] : [linearCombination(undefined, h, weights, ks.map((k) => k[c])) ?? tf.zerosLike(k0)]));
}

/** base + h Σ w_i terms_i over the nonzero weights (undefined when every weight is zero). */
function linearCombination(base: tf.Tensor | undefined, h: number, weights: readonly number[], terms: readonly tf.Tensor[]): tf.Tensor | undefined {
  const used = weights.flatMap((w, i) => (w !== 0 ? [i] : []));
  if (used.length === 0) return undefined;
  if (hostArithmetic()) return hostLinearCombination(base, used.map((i) => h * weights[i]), used.map((i) => terms[i]));
  const sum = sumOf(used.map((i) => tf.mul(terms[i], h * weights[i])));
  return base ? tf.add(base, sum) : sum;
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
