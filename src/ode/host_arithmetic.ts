/**
 * The solver's own arithmetic (stage sums, error norms) computed on the host, in float64 with one
 * rounding to float32 per element, where tensors live in host memory anyway (the wasm and cpu
 * backends). There each tfjs kernel costs ~10-20 µs of engine overhead, and a dopri5 step's stage
 * sums and norm are ~45 kernels per state component: at small batches that overhead was a third
 * of a maximum-likelihood iteration, more than the arithmetic itself. Under a recording gradient tape
 * (odeint differentiated by backpropagation) the tfjs ops stay, because only they are recorded.
 */
import * as tf from '@tensorflow/tfjs-core';

let enabled = true;

/** Turns host arithmetic off (tfjs ops everywhere) or back on: for tests and benchmarks comparing both. */
export function setHostArithmetic(on: boolean): void {
  enabled = on;
}

/** Whether the solver's arithmetic runs on the host now (see the file's comment). */
export function hostArithmetic(): boolean {
  if (!enabled) return false;
  const backend = tf.getBackend();
  return (backend === 'wasm' || backend === 'cpu') && !tf.engine().isTapeOn();
}

/**
 * The values of tensors read, and of tensors this file made, by tensor: a stage is read by every
 * later stage sum of its step, and tensors never change, so each is read from the backend once
 * (variables do change: they are read every time).
 */
const hostValues = new WeakMap<tf.Tensor, Float32Array>();

/**
 * The float32 values of `t`, read once (the caller must not change them): for dynamics on host
 * memory, whose inputs are mostly this file's stage sums, whose values are known without a read.
 */
export function valuesOf(t: tf.Tensor): Float32Array {
  let values = hostValues.get(t);
  if (!values) {
    const data = t.dataSync();
    values = data instanceof Float32Array ? data : Float32Array.from(data);
    if (!(t instanceof tf.Variable)) hostValues.set(t, values);
  }
  return values;
}

/**
 * A float32 tensor of `values`, which the caller must not change afterwards: its values are then
 * known to {@link valuesOf} without a read.
 */
export function tensorOf(values: Float32Array, shape: number[]): tf.Tensor {
  const t = tf.tensor(values, shape, 'float32');
  hostValues.set(t, values);
  return t;
}

/** The scalar tensor of a solver's time: its value known to {@link valuesOf} on the host path (no read back). */
export function timeScalar(t: number): tf.Scalar {
  return (hostArithmetic() ? tensorOf(Float32Array.of(t), []) : tf.scalar(t)) as tf.Scalar;
}

/**
 * base + Σ coefficients_i · terms_i, element by element (base optional), summed in float64.
 * @returns a new tensor of the terms' shape
 */
export function hostLinearCombination(base: tf.Tensor | undefined, coefficients: readonly number[], terms: readonly tf.Tensor[]): tf.Tensor {
  const sum = scratch(terms[0].size);
  if (base) sum.set(valuesOf(base));
  else sum.fill(0);
  // Up to four terms per pass over the elements: a stage sum reads each element once or twice.
  for (let i = 0; i < terms.length; i += 4) {
    const group = terms.slice(i, i + 4).map(valuesOf);
    const c = coefficients.slice(i, i + 4);
    accumulate(sum, c, group);
  }
  return tensorOf(new Float32Array(sum), terms[0].shape);
}

/**
 * A float64 accumulator of n elements, reused from call to call (the sums are synchronous) up to
 * 2^16 elements (512 KiB kept); larger states get their own.
 */
function scratch(n: number): Float64Array {
  if (n > 2 ** 16) return new Float64Array(n);
  if (accumulator.length < n) accumulator = new Float64Array(n);
  return accumulator.subarray(0, n);
}
let accumulator = new Float64Array(0);

/** sum += Σ c_j · terms_j for one to four terms. */
function accumulate(sum: Float64Array, c: readonly number[], terms: readonly Float32Array[]): void {
  const n = sum.length;
  const [a, b, d, e] = terms;
  const [ca, cb, cd, ce] = c;
  if (terms.length === 4) for (let k = 0; k < n; k++) sum[k] += ca * a[k] + cb * b[k] + cd * d[k] + ce * e[k];
  else if (terms.length === 3) for (let k = 0; k < n; k++) sum[k] += ca * a[k] + cb * b[k] + cd * d[k];
  else if (terms.length === 2) for (let k = 0; k < n; k++) sum[k] += ca * a[k] + cb * b[k];
  else for (let k = 0; k < n; k++) sum[k] += ca * a[k];
}

/**
 * Σ (err / (atol + rtol·max(|y0|, |y1|)))² over every element of each (err, y0, y1) triple, and
 * the number of elements, in float64.
 */
export function hostScaledSquares(triples: readonly [tf.Tensor, tf.Tensor, tf.Tensor][], rtol: number, atol: number): number {
  let total = 0;
  for (const [errC, y0C, y1C] of triples) {
    const err = valuesOf(errC);
    const a = valuesOf(y0C);
    const b = valuesOf(y1C);
    for (let e = 0; e < err.length; e++) {
      const r = err[e] / (atol + rtol * Math.max(Math.abs(a[e]), Math.abs(b[e])));
      total += r * r;
    }
  }
  return total;
}
