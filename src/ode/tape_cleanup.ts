/**
 * tfjs keeps the tensors each recorded op saves for its gradient until backprop runs, and backprop
 * never runs for a forward pass that threw (a solve whose step size underflowed, say): every such
 * failure under a gradient tape leaked them. {@link freeingTapeOnThrow} frees what was kept while its
 * work ran, when that work throws.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs `work`; if it throws, disposes the tensors tfjs kept meanwhile, then rethrows. Only under a
 * recording tape (or with `startsTape`, for work that records one itself: tf.variableGrads), where
 * tfjs keeps tensors for gradients; elsewhere a kept tensor is somebody's deliberate `tf.keep`.
 */
export function freeingTapeOnThrow<T>(work: () => T, startsTape = false): T {
  if (!startsTape && !tf.engine().isTapeOn()) return work();
  const engine = tf.engine();
  const keep = engine.keep;
  const kept: tf.Tensor[] = [];
  engine.keep = <K extends tf.Tensor>(t: K): K => {
    kept.push(t);
    return keep.call(engine, t) as K;
  };
  try {
    return work();
  } catch (e) {
    tf.dispose(kept.filter((t) => !t.isDisposed));
    throw e;
  } finally {
    engine.keep = keep;
  }
}
