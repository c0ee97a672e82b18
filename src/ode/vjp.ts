/**
 * First-order reverse mode that is safe to call from inside another gradient's backward pass.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * ∂y/∂x for each x, zeros for unused inputs, first order only. It may run inside another gradient's
 * backward pass (the adjoint's gradFunc does): tfjs keeps one active tape per engine, and a tape
 * started and cleared there would wipe the outer pass's tape, so the outer tape is set aside.
 */
export function firstOrderGradients(y: () => tf.Tensor, xs: readonly tf.Tensor[]): { grads: tf.Tensor[] } {
  const compute = () => {
    const { value, grads } = tf.engine().gradients(y, xs as tf.Tensor[], undefined, true);
    value.dispose();
    return { grads: grads.map((g, i) => g ?? tf.zerosLike(xs[i])) };
  };
  // Inside a kernel (a customGrad's forward pass: the adjoint's forward solve, whose implicit steps
  // need a Newton Jacobian) tfjs records nothing, and every gradient came back null: a tape of its own.
  const state = tf.engine().state;
  return state.gradientDepth === 0 || state.kernelDepth > 0 ? outsideTape(compute) : compute();
}

/**
 * Runs `run` with no gradient tape recording: a side computation that the caller's gradient must not
 * see (its ops would otherwise join the caller's tape, and stay saved on it if that pass is aborted).
 */
export function outsideTape<T>(run: () => T): T {
  const state = tf.engine().state;
  const outer = { tape: state.activeTape, depth: state.gradientDepth, kernelDepth: state.kernelDepth };
  state.activeTape = null as unknown as typeof state.activeTape;
  state.gradientDepth = 0;
  state.kernelDepth = 0;
  try {
    return run();
  } finally {
    state.activeTape = outer.tape;
    state.gradientDepth = outer.depth;
    state.kernelDepth = outer.kernelDepth;
  }
}
