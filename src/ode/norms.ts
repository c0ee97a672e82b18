/**
 * Error norms for step-size control. The error of a step is measured relative to
 * atol + rtol·max(|y0|, |y1|), element by element, and summarised by a root mean square.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostArithmetic, hostScaledSquares, valuesOf } from './host_arithmetic.js';
import { readNumber, type Reads } from './host_reads.js';
import { elementCount, sumOf, type State } from './state.js';

/**
 * RMS of err / (atol + rtol·max(|y0|, |y1|)) over every element of the components selected by `mask`.
 * A mask that leaves components out is the seminorm of Kidger et al. (2021): those components are
 * still integrated but do not steer the step size.
 * @returns a scalar tensor; reading it is the one host sync of an adaptive step
 */
export function scaledRmsNorm(
  err: State,
  y0: State,
  y1: State,
  rtol: number,
  atol: number,
  mask?: readonly boolean[],
): tf.Scalar {
  const selected = err.map((_, c) => c).filter((c) => !mask || mask[c]);
  const count = Math.max(1, elementCount(err, mask));
  if (hostArithmetic()) return tf.scalar(Math.sqrt(hostScaledSquares(selected.map((c) => [err[c], y0[c], y1[c]]), rtol, atol) / count));
  return tf.tidy(() => {
    const sums: tf.Tensor[] = [];
    for (const c of selected) {
      const scale = tf.add(atol, tf.mul(rtol, tf.maximum(tf.abs(y0[c]), tf.abs(y1[c]))));
      sums.push(tf.sum(tf.square(tf.div(err[c], scale))));
    }
    const total = sumOf(sums);
    return tf.sqrt(tf.div(total, count)) as tf.Scalar;
  });
}

/** RMS of y / (atol + rtol·|yRef|) over the selected components, read back as a number. */
export function* scaledRms(y: State, yRef: State, rtol: number, atol: number, mask?: readonly boolean[]): Reads<number> {
  return yield* readNumber(scaledRmsNorm(y, yRef, yRef, rtol, atol, mask));
}

/** Whether every element of every component is finite (one host read; on the host, none). */
export function* allFinite(y: State): Reads<boolean> {
  if (hostArithmetic()) return y.every((c) => c.dtype !== 'float32' || valuesOf(c).every(Number.isFinite));
  const flag = tf.tidy(() => {
    const perComponent = y.map((c) => tf.all(tf.isFinite(c)).cast('float32'));
    return perComponent.length === 1 ? perComponent[0] : tf.min(tf.stack(perComponent));
  });
  return (yield* readNumber(flag)) === 1;
}
