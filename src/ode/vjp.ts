/**
 * First-order reverse mode that is safe to call from inside another gradient's backward pass.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * ∂y/∂x for each x, zeros for unused inputs, first order only. It may run inside another gradient's
 * backward pass (the adjoint's gradFunc does): tfjs keeps one active tape per engine, and a tape
 * started and cleared there would wipe the outer pass's tape, so the outer tape is set aside.
 */
export function firstOrderGradients(y: () => tf.Tensor, xs: readonly tf.Tensor[]): { grads: tf.Tensor[] } {
  const state = tf.engine().state;
  const outerTape = state.gradientDepth === 0 ? state.activeTape : undefined;
  if (outerTape) state.activeTape = null as unknown as typeof state.activeTape;
  try {
    const { value, grads } = tf.engine().gradients(y, xs as tf.Tensor[], undefined, true);
    value.dispose();
    return { grads: grads.map((g, i) => g ?? tf.zerosLike(xs[i])) };
  } finally {
    if (outerTape) state.activeTape = outerTape;
  }
}

