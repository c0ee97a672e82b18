/**
 * Host values into a variable: a fresh tensor assigned, never the variable's memory written in
 * place, because tfjs's wasm matMul caches a packed copy of its weight operand per tensor id.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Sets `v` to `values` (row-major, v's shape). */
export function assignValues(v: tf.Variable, values: Float32Array): void {
  const value = tf.tensor(values, v.shape, 'float32');
  v.assign(value);
  value.dispose();
}
