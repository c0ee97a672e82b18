/**
 * A cnfkit model as tf.io model artifacts, the one layout every store uses: the cnfkit config (its
 * options, its own manifest and checksums) in `modelTopology.cnfkit`, the weights as float32
 * `weightSpecs` and one `weightData` buffer. A folder's `model.json` and a server's are the same
 * artifacts in tf.io's JSON form (`weightsManifest` groups naming the weight files), so tf.io's
 * tooling (`tf.io.loadWeights`, its handlers) reads the weights of any cnfkit model.
 *
 * Reading is split in two so that a store checks everything but the weight bytes before it reads,
 * fetches or allocates them: {@link checkModelHeader}, then {@link modelFromBytes}.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { CnfkitError } from '../errors.js';
import { FORMAT, VERSION, checkAgainstOptions, checkManifest, decodeWeights, describeValue, encodeModel, parseConfig, type ExpectedWeights, type ManifestEntry, type ModelFiles } from './model_checks.js';

/** The name of a model folder's JSON file, as tf.io's file handlers write it. */
export const MODEL_JSON = 'model.json';

/** A model's artifacts for a tf.io save handler. */
export function toArtifacts(model: ModelFiles): tf.io.ModelArtifacts & { weightSpecs: tf.io.WeightsManifestEntry[]; weightData: ArrayBuffer } {
  const { bytes, config } = encodeModel(model);
  const weightSpecs = (config.weights as ManifestEntry[]).map(({ name, shape }) => ({ name, shape, dtype: 'float32' as const }));
  return { format: FORMAT, generatedBy: 'cnfkit', convertedBy: null, modelTopology: { cnfkit: config }, weightSpecs, weightData: bytes.slice().buffer };
}

/** The `model.json` object of `artifacts` whose weights are stored in the one file `weightsPath`. */
export function modelJson(artifacts: ReturnType<typeof toArtifacts>, weightsPath: string): tf.io.ModelJSON {
  const { modelTopology, format, generatedBy, convertedBy, weightSpecs } = artifacts;
  return { format, generatedBy, convertedBy, modelTopology: modelTopology as object, weightsManifest: [{ paths: [weightsPath], weights: weightSpecs }] };
}

/** A parsed `model.json`: the topology, and the weight files with the specs of the weights in each. */
export interface ModelJsonParts {
  topology: unknown;
  groups: { paths: string[]; specs: unknown[] }[];
}

/** Parses `model.json` text into its topology and weight groups; the rest is checked by {@link checkModelHeader}. */
export function parseModelJson(text: string, fail: (problem: string) => Error): ModelJsonParts {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw fail(`is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw fail('does not hold a JSON object');
  const { modelTopology, weightsManifest } = json as Record<string, unknown>;
  if (!Array.isArray(weightsManifest)) throw fail("has no 'weightsManifest' array");
  const groups = weightsManifest.map((group: unknown, i) => {
    const { paths, weights } = (group ?? {}) as Record<string, unknown>;
    if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string' && p !== '')) {
      throw fail(`weightsManifest[${i}].paths must be a non-empty array of file names`);
    }
    if (!Array.isArray(weights)) throw fail(`weightsManifest[${i}].weights must be an array`);
    return { paths: paths as string[], specs: weights };
  });
  return { topology: modelTopology, groups };
}

/** What a store needs to read a model's weights once its header passed: its config, manifest and byte count. */
export interface ModelHeader {
  config: Record<string, unknown> & { checksum?: unknown };
  manifest: ManifestEntry[];
  bytes: number;
}

/**
 * Checks everything but the weight bytes, allocating nothing: the cnfkit config in `topology` (its
 * format and checksum), its manifest, that tf.io's `weightSpecs` list the same float32 weights (a
 * config.json of cnfkit 0.2 and earlier has none: pass `undefined`), and that the options make
 * exactly these weights (`expect`).
 * @returns the header, whose `bytes` is the size the weight data must have
 * @throws the error `fail` makes, naming the problem
 */
export function checkModelHeader(topology: unknown, weightSpecs: unknown, expect: ((config: Record<string, unknown>) => ExpectedWeights) | undefined, fail: (problem: string) => Error): ModelHeader {
  try {
    const cnfkit = topology !== null && typeof topology === 'object' ? (topology as { cnfkit?: unknown }).cnfkit : undefined;
    if (cnfkit === undefined) throw fail('is not a cnfkit model (no cnfkit config in its modelTopology)');
    const config = parseConfig(JSON.stringify(cnfkit), FORMAT, VERSION, fail);
    const manifest = checkManifest(config.weights, fail);
    if (weightSpecs !== undefined) checkSpecs(weightSpecs, manifest, fail);
    if (expect) checkAgainstOptions(manifest, expect(config), fail);
    return { config, manifest, bytes: 4 * manifest.reduce((n, w) => n + w.length, 0) };
  } catch (e) {
    // Whatever a hostile file breaks (a cyclic object, odd values) is this file's problem.
    if (e instanceof CnfkitError) throw e;
    throw fail(`is malformed (${(e as Error)?.message ?? 'unreadable'})`);
  }
}

/** tf.io's weight specs must be the config's manifest, all float32 (what tf.io tools read). */
function checkSpecs(specs: unknown, manifest: readonly ManifestEntry[], fail: (problem: string) => Error): void {
  if (!Array.isArray(specs)) throw fail('has no weight specs (tf.io weightSpecs / weightsManifest weights)');
  if (specs.length !== manifest.length) throw fail(`lists ${specs.length} weights in its tf.io weights manifest, but ${manifest.length} in its cnfkit config`);
  specs.forEach((spec: unknown, i) => {
    const { name, shape, dtype } = (spec ?? {}) as Record<string, unknown>;
    const want = manifest[i];
    if (name !== want.name || !Array.isArray(shape) || shape.join() !== want.shape.join() || dtype !== 'float32') {
      throw fail(`tf.io weight spec ${i} is ${describeValue({ name, shape, dtype })}, but the cnfkit config lists '${want.name}' [${want.shape}] float32 there`);
    }
  });
}

/** The model from its checked header and its weight bytes (their size, checksum, finiteness checked). */
export function modelFromBytes(header: ModelHeader, bytes: Uint8Array, fail: (problem: string) => Error): ModelFiles {
  return decodeWeights(header.config, header.manifest, bytes, (_file, problem) => fail(problem));
}
