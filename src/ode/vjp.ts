/**
 * One first-order vector–Jacobian product: the value of f and dyᵀ ∂f/∂x for every x at once.
 * Inputs that f does not use get zero gradients instead of the error tf.grads throws.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Evaluates y = f() on a gradient tape and returns y with dyᵀ ∂y/∂x for each x in `xs`.
 * First order only: never differentiate through it (tfjs's second derivatives through tanh,
 * sigmoid and exp are silently wrong).
 *
 * It may run inside another gradient's backward pass (the adjoint's gradFunc does): tfjs keeps one
 * active tape per engine, and a tape started and cleared there would wipe the outer pass's tape, so
 * the outer tape is set aside for the duration.
 */
export function valueAndVjp(f: () => tf.Tensor, xs: readonly tf.Tensor[], dy: tf.Tensor): { value: tf.Tensor; grads: tf.Tensor[] } {
  const state = tf.engine().state;
  const outerTape = state.gradientDepth === 0 ? state.activeTape : undefined;
  if (outerTape) state.activeTape = null as unknown as typeof state.activeTape;
  try {
    const { value, grads } = tf.engine().gradients(f, xs as tf.Tensor[], dy, true);
    return { value, grads: grads.map((g, i) => g ?? tf.zerosLike(xs[i])) };
  } finally {
    if (outerTape) state.activeTape = outerTape;
  }
}
