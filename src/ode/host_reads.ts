/**
 * One stepping logic, read synchronously or asynchronously. The solvers are generators that `yield`
 * a tensor whenever they need its values on the host (the error norm of a step, a finiteness flag)
 * and receive the values back; a sync driver reads them with `dataSync()`, an async one with
 * `await data()`. So `odeint` and `odeintAsync` differ only in the driver, and the async forms run
 * where reads must be asynchronous (WebGPU in Node; any GPU backend without stalling the page).
 */
import * as tf from '@tensorflow/tfjs-core';
import { CnfkitError } from '../errors.js';

/** A computation that asks for host reads of tensors it yields, returning `T`. */
export type Reads<T> = Generator<tf.Tensor, T, tf.TypedArray>;

/** The values of `t` (the driver reads them); `t` is disposed afterwards. */
export function* read(t: tf.Tensor): Reads<tf.TypedArray> {
  try {
    return yield t;
  } finally {
    t.dispose();
  }
}

/** The first value of a scalar tensor (disposed afterwards). */
export function* readNumber(t: tf.Tensor): Reads<number> {
  return (yield* read(t))[0];
}

/** A computation without reads, as a generator (for interfaces whose other implementations read). */
export function* noReads<T>(value: T): Reads<T> {
  return value;
}

/**
 * Runs `steps` reading synchronously. Where the backend cannot read synchronously (WebGPU in Node),
 * throws a CnfkitError that names the async form of `fn`.
 */
export function runSync<T>(fn: string, steps: Reads<T>): T {
  let next = steps.next();
  while (!next.done) {
    let values: tf.TypedArray;
    try {
      values = next.value.dataSync();
    } catch (e) {
      const error = tf.getBackend() === 'webgpu' ? new CnfkitError(`${fn}: the ${tf.getBackend()} backend cannot read values synchronously here (${(e as Error).message}); ${asyncAdvice(fn)}`) : e;
      steps.return(undefined as T);
      throw error;
    }
    next = steps.next(values);
  }
  return next.value;
}

/** Runs `steps` reading asynchronously (`await data()`), on every backend. */
export async function runAsync<T>(steps: Reads<T>): Promise<T> {
  let next = steps.next();
  while (!next.done) {
    let values: tf.TypedArray;
    try {
      values = await next.value.data();
    } catch (e) {
      steps.return(undefined as T);
      throw e;
    }
    next = steps.next(values);
  }
  return next.value;
}

/**
 * Whether the backend in use reads synchronously without stalling: false on WebGPU (in Node
 * `dataSync` fails there; in a page it blocks on the GPU), where training takes its async path.
 */
export function syncReadsAvailable(): boolean {
  return tf.getBackend() !== 'webgpu';
}

/** The async form of each sync function that has one (the message names it). */
const ASYNC_FORMS: Readonly<Record<string, string>> = {
  odeint: 'odeintAsync',
  odeintAdjoint: 'odeintAdjointGrads',
  'CNF.logProb': 'CNF.logProbAsync',
  'CNF.toLatent': 'CNF.toLatentAsync',
  'CNF.fromLatent': 'CNF.fromLatentAsync',
  'CNF.sample': 'CNF.sampleAsync',
  'CNF.sampleWithLogProb': 'CNF.sampleWithLogProbAsync',
};

/** What to do instead of `fn` on a backend that reads asynchronously. */
function asyncAdvice(fn: string): string {
  const form = ASYNC_FORMS[fn];
  return form ? `use ${form} and await it` : `${fn} has no async form yet: call it on a backend that reads synchronously (wasm, cpu)`;
}
