/**
 * The command line reads points as float64 text and standardises them on the host, so it runs a
 * standardised flow's network on u = (x − mean)/std itself: through a twin of the flow without the
 * standardisation (the same weights), adding −Σ log std to its log-densities and mapping its samples
 * back to x in float64. The flow with the standardisation stays the one saved: a model folder means
 * the same to the library (`CNF.load(dir).logProb(x)`) and to the command line.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CNF } from '../flows/cnf.js';
import { coarseDimension, toFlowSpaceHost } from '../flows/standardize.js';

/** A flow of the same network and weights without `flow`'s standardisation (`flow` itself when it has none). */
export function flowSpaceTwin(flow: CNF): CNF {
  const { standardize, ...options } = flow.options;
  if (!standardize) return flow;
  const twin = new CNF(options);
  copyWeights(flow, twin);
  return twin;
}

/** Sets `to`'s variables to `from`'s (two flows of one network). */
export function copyWeights(from: CNF, to: CNF): void {
  if (from === to) return;
  const source = from.namedVariables();
  to.namedVariables().forEach(([name, v], i) => {
    if (source[i][0] !== name) throw new Error(`copyWeights: ${name} is not ${source[i][0]}`);
    v.assign(source[i][1]);
  });
}

/** Disposes a flow and its twin (once, when they are one). */
export function disposeWithTwin(flow: CNF, twin: CNF): void {
  flow.dispose();
  if (twin !== flow) twin.dispose();
}

/**
 * What pictures of 2-D points draw: the flow on the points in their units; or, where float32 cannot
 * hold the points' offsets at their spread (Unix times: a few distinct values per picture), its
 * network on the points standardised in float64, said in `note` for the title.
 */
export function picturePoints(flow: CNF, network: CNF, values: Float64Array): { flow: CNF; data: tf.Tensor2D; note: string } {
  const s = flow.options.standardize;
  const rows = values.length / 2;
  if (s && network !== flow && coarseDimension(s) >= 0) {
    return { flow: network, data: tf.tensor2d(toFlowSpaceHost(values, s), [rows, 2]), note: ' (standardised: float32 cannot hold these offsets)' };
  }
  return { flow, data: tf.tensor2d(Float32Array.from(values), [rows, 2]), note: '' };
}
