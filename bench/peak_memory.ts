/**
 * Peak tensor memory of a synchronous computation. tf.profile records every kernel and overflows
 * the stack on long solves, so this watches the engine's byte counter instead: every allocation and
 * disposal writes it, and a property setter sees each write.
 */
import * as tf from '@tensorflow/tfjs';

/** Runs `fn` and returns its result with the peak of live tensor bytes above the level at the start. */
export function withPeakBytes<T>(fn: () => T): { result: T; peakBytes: number } {
  const state = tf.engine().state as unknown as { numBytes: number };
  const start = state.numBytes;
  let value = start;
  let peak = start;
  Object.defineProperty(state, 'numBytes', {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (v: number) => {
      value = v;
      if (v > peak) peak = v;
    },
  });
  try {
    return { result: fn(), peakBytes: peak - start };
  } finally {
    delete (state as { numBytes?: number }).numBytes;
    state.numBytes = value;
  }
}
