/**
 * What a saved flow's config must make, computed from its options alone (nothing allocated): the
 * names and shapes of its weights, under a cap on their number. CNF.load and the CLI's checkpoints
 * hand it to the model-file reader, which compares it with the file's manifest before reading weights.
 */
import { InputError } from '../errors.js';
import type { ExpectedWeights } from '../io/model_checks.js';
import { parameterShapes } from '../nn/dynamics_net.js';
import { resolveCnfOptions, savedCnfOptions, type CnfOptions } from './cnf_options.js';

/** More weight tensors than any real flow has (a thousand blocks of a hundred layers). */
const MAX_WEIGHT_ENTRIES = 100_000;

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
    options = resolveCnfOptions(savedCnfOptions(config.options as CnfOptions));
  } catch (e) {
    // Hostile values (an object whose toString is not a function, say) can break the message itself.
    return { problem: `has options that make no flow: ${e instanceof InputError ? e.message : 'a value of the wrong type'}` };
  }
  if (options.dynamics !== undefined) return { problem: 'names custom dynamics, which cannot be saved' };
  // The size first, from the layer widths alone: nothing is built for a file that asks too much.
  const sizes = [options.dim, ...options.hiddenDims, options.dim];
  let perBlock = options.trainT ? 1 : 0;
  for (let i = 1; i < sizes.length; i++) perBlock += sizes[i - 1] * sizes[i] + (options.layer === 'concat' ? 2 : 4) * sizes[i];
  const count = perBlock * options.blocks;
  if (count > maxParameters) {
    return { problem: `has options that make ${count.toExponential(2)} parameters, more than maxParameters = ${maxParameters} (a hostile or mistaken file; raise the cap with { maxParameters } if the model is real)` };
  }
  const layerEntries = (sizes.length - 1) * (options.layer === 'concat' ? 3 : 5);
  if (options.blocks * (layerEntries + (options.trainT ? 1 : 0)) > MAX_WEIGHT_ENTRIES) {
    return { problem: `has options that make more than ${MAX_WEIGHT_ENTRIES} weight tensors (blocks ${options.blocks}, ${sizes.length - 1} layers each)` };
  }
  const net = parameterShapes({ dim: options.dim, hiddenDims: options.hiddenDims, activation: options.activation, layer: options.layer });
  const weights = Array.from({ length: options.blocks }, (_, b) => [
    ...net.map((w) => ({ name: `block${b}.${w.name}`, shape: w.shape })),
    ...(options.trainT ? [{ name: `block${b}.sqrtT`, shape: [] as number[] }] : []),
  ]).flat();
  if (kind === 'checkpoint') weights.push({ name: 'optimizer.0', shape: [1] }, { name: 'optimizer.1', shape: [count] }, { name: 'optimizer.2', shape: [count] });
  return { weights };
}
