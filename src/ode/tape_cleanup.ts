/**
 * tfjs keeps the tensors each recorded op saves for its gradient until backprop runs, and backprop
 * never runs for a forward pass that threw (a solve whose step size underflowed, say): every such
 * failure under a gradient tape leaked them. {@link freeingTapeOnThrow} frees what was kept while its
 * work ran, when that work throws; {@link freeAbortedTape} frees the tape's for a backward pass that
 * throws.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs `work`; if it throws, disposes the tensors tfjs saved for gradients meanwhile, then rethrows. Only under a
 * recording tape (or with `startsTape`, for work that records one itself: tf.variableGrads), where
 * tfjs keeps tensors for gradients; elsewhere a kept tensor is somebody's deliberate `tf.keep`.
 */
export function freeingTapeOnThrow<T>(work: () => T, startsTape = false): T {
  if (!startsTape && !tf.engine().isTapeOn()) return work();
  // Engine.clone is private in tfjs's types; the engine calls it (and keep) through `this`.
  const engine = tf.engine() as unknown as { keep<K extends tf.Tensor>(t: K): K; clone<C extends tf.Tensor>(t: C): C };
  const { keep, clone } = engine;
  // tfjs saves a tensor for a gradient as keep(clone(t)): only such copies are freed, never a
  // tensor somebody kept on purpose (tf.keep in the dynamics).
  const copies = new WeakSet<tf.Tensor>();
  const saved: tf.Tensor[] = [];
  engine.clone = <C extends tf.Tensor>(t: C): C => {
    const copy = clone.call(engine, t) as C;
    copies.add(copy);
    return copy;
  };
  engine.keep = <K extends tf.Tensor>(t: K): K => {
    if (copies.has(t)) saved.push(t);
    return keep.call(engine, t) as K;
  };
  try {
    return work();
  } catch (e) {
    tf.dispose(saved.filter((t) => !t.isDisposed));
    throw e;
  } finally {
    engine.keep = keep;
    engine.clone = clone;
  }
}

/**
 * Frees what every op on tfjs's active gradient tape saved, as tfjs does after a backward pass that
 * succeeds. For a gradient function that throws (a backward solve that fails): tfjs then frees
 * nothing, and the saved copies of every op the tape recorded (cnfkit's, and the caller's) leaked,
 * 3-4 tensors per failed odeintAdjoint gradient. Not inside a higher-order gradient, whose outer
 * tape still needs them. Reads tfjs's engine state (private in its types, stable since tfjs 1).
 */
export function freeAbortedTape(): void {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number; activeTape: { saved?: tf.Tensor[] }[] | null } }).state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) tf.dispose(node.saved ?? []);
}
