/**
 * What `params` may be: the tf.Variables the dynamics use, or where they live. A tfjs-layers model
 * or layer keeps its weights as LayerVariables (each wraps one tf.Variable, read by `read()`), so
 * users can pass `model`, `model.trainableWeights`, or a list mixing these with plain variables,
 * without collecting variables by hand. Checked here by shape, not by class: cnfkit's API imports
 * tfjs-core only, and the layers package may be another copy than the one a page or script loaded.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors.js';

/** A weight of a tfjs-layers model (`LayerVariable`): it holds one tf.Variable. */
export interface LayerWeight {
  /** The weight's value: a tf.Variable, though tfjs-layers types it as a tensor. */
  read(): tf.Tensor;
  /** tfjs-layers' own flag; only its presence is used here, to recognise a layers weight. */
  readonly trainable: boolean;
}

/** Anything with trainable weights: a `tf.LayersModel`, a `tf.Sequential`, a single layer. */
export interface WeightsOwner {
  /** The weights that training updates, in the model's order. */
  readonly trainableWeights: LayerWeight[];
}

/** One entry of `params`: a variable, a layers weight, or a model/layer whose trainable weights count. */
export type ParamSource = tf.Variable | LayerWeight | WeightsOwner;

/** The `params` of the adjoint API: one source, or a list of them. */
export type Params = ParamSource | readonly ParamSource[];

const EXPECTED = 'tf.Variables, a tfjs-layers model or layer (its trainable weights), its trainableWeights, or a list of these ([] if none)';

function isLayerWeight(p: unknown): p is LayerWeight {
  return typeof p === 'object' && p !== null && typeof (p as LayerWeight).read === 'function' && 'trainable' in p;
}

function isWeightsOwner(p: unknown): p is WeightsOwner {
  return typeof p === 'object' && p !== null && Array.isArray((p as WeightsOwner).trainableWeights);
}

function describe(p: unknown): string {
  if (p instanceof tf.Tensor) return 'a plain tensor (wrap it in tf.variable)';
  if (p === null) return 'null';
  return Array.isArray(p) ? 'a nested array' : typeof p;
}

/**
 * The distinct tf.Variables of `params`, in order of first appearance (a weight shared by two layers
 * counts once).
 * @param fn - the public function, for messages
 * @param argument - the argument's name, for messages
 * @throws InputError naming the first entry that is none of the accepted kinds
 */
export function resolveParams(fn: string, argument: string, params: unknown): tf.Variable[] {
  if (params === undefined || params === null || (typeof params !== 'object' && typeof params !== 'function')) {
    throw new InputError(fn, argument, `must be ${EXPECTED}, but got ${params === null ? 'null' : typeof params}`);
  }
  const entries: unknown[] = Array.isArray(params) ? params : [params];
  const found: tf.Variable[] = [];
  const add = (v: tf.Variable) => {
    if (!found.includes(v)) found.push(v);
  };
  entries.forEach((p, i) => {
    const at = Array.isArray(params) ? `${argument}[${i}]` : argument;
    if (p instanceof tf.Variable) add(p);
    else if (isLayerWeight(p)) add(readWeight(fn, at, p));
    else if (isWeightsOwner(p)) p.trainableWeights.forEach((w, j) => add(readWeight(fn, `${at}.trainableWeights[${j}]`, w)));
    else throw new InputError(fn, at, `must be ${EXPECTED}, but it is ${describe(p)}`);
  });
  return found;
}

function readWeight(fn: string, at: string, w: unknown): tf.Variable {
  if (!isLayerWeight(w)) throw new InputError(fn, at, `must be a layers weight with read(), but it is ${describe(w)}`);
  let v: unknown;
  try {
    v = w.read();
  } catch (e) {
    throw new InputError(fn, at, `could not be read (${(e as Error).message}); was its model disposed?`);
  }
  if (!(v instanceof tf.Variable)) {
    throw new InputError(fn, at, 'must read() a tf.Variable of the tfjs-core cnfkit uses; is the layers package from another copy of tfjs?');
  }
  return v;
}
