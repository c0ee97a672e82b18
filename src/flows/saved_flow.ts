/**
 * What a saved flow's config must make, computed from its options alone (nothing allocated): the
 * names and shapes of its weights, under a cap on their number. CNF.load and the CLI's checkpoints
 * hand it to the model-file reader, which compares it with the file's manifest before reading weights.
 */
import { InputError } from '../errors.js';
import type { ExpectedWeights } from '../io/model_checks.js';
import { parameterShapes } from '../nn/dynamics_net.js';
import { resolveCnfOptions, type CnfOptions } from './cnf_options.js';

/** The default cap on a loaded flow's parameters (4 × 10⁸ bytes of float32); `maxParameters` raises it. */
export const DEFAULT_MAX_PARAMETERS = 1e8;

/**
 * The weights a saved config of `kind` ('CNF' or 'checkpoint', which adds Adam's state) must hold.
 * @param maxParameters - refuse options that make more parameters than this
 */
export function savedFlowWeights(config: Record<string, unknown>, kind: 'CNF' | 'checkpoint', maxParameters: number): ExpectedWeights {
  if (config.kind !== kind) return { problem: `holds a ${JSON.stringify(config.kind)}, not a ${kind}` };
  if (config.options === null || typeof config.options !== 'object' || Array.isArray(config.options)) return { problem: "has no 'options' object" };
  let options;
  try {
    options = resolveCnfOptions(config.options as CnfOptions);
  } catch (e) {
    if (e instanceof InputError) return { problem: `has options that make no flow: ${e.message}` };
    throw e;
  }
  if (options.dynamics !== undefined) return { problem: 'names custom dynamics, which cannot be saved' };
  const net = parameterShapes({ dim: options.dim, hiddenDims: options.hiddenDims, activation: options.activation, layer: options.layer });
  const weights = Array.from({ length: options.blocks }, (_, b) => [
    ...net.map((w) => ({ name: `block${b}.${w.name}`, shape: w.shape })),
    ...(options.trainT ? [{ name: `block${b}.sqrtT`, shape: [] as number[] }] : []),
  ]).flat();
  const count = weights.reduce((n, w) => n + w.shape.reduce((a, d) => a * d, 1), 0);
  if (count > maxParameters) {
    return { problem: `has options that make ${count.toExponential(2)} parameters, more than maxParameters = ${maxParameters} (a hostile or mistaken file; raise the cap with { maxParameters } if the model is real)` };
  }
  if (kind === 'checkpoint') weights.push({ name: 'optimizer.0', shape: [1] }, { name: 'optimizer.1', shape: [count] }, { name: 'optimizer.2', shape: [count] });
  return { weights };
}
