/**
 * Saved models at URLs through tf.io's handlers: `indexeddb://name` and `localstorage://name` in a
 * page, `downloads://name` to hand the user the files, `http(s)://…` to load (and to POST, as tf.io
 * does). The model travels as tf.io model artifacts (the cnfkit config in `modelTopology`, the
 * weights as float32 `weightSpecs` and `weightData`), so tf.io's own tooling can read and move it;
 * loading runs the same checks as a folder (io/model_checks.ts) before anything is allocated.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelFileError } from '../errors.js';
import { FORMAT, VERSION, checkAgainstOptions, checkManifest, decodeWeights, encodeModel, parseConfig, type ExpectedWeights, type ModelFiles, type ModelStore } from './model_checks.js';


/** Whether `url` names a tf.io location (a scheme other than file://), not a folder. */
export function isModelUrl(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://');
}

export const tfioStore: ModelStore = {
  async write(fn, url, model: ModelFiles) {
    const handler = tf.io.getSaveHandlers(url)[0];
    if (!handler?.save) throw new ModelFileError(fn, url, `has no tf.io save handler here (indexeddb:// and localstorage:// need a page, downloads:// a page too)`);
    const { bytes, config } = encodeModel(model);
    const specs = (config.weights as { name: string; shape: number[] }[]).map(({ name, shape }) => ({ name, shape, dtype: 'float32' as const }));
    const result = await handler.save({ format: FORMAT, generatedBy: 'cnfkit', modelTopology: { cnfkit: config }, weightSpecs: specs, weightData: bytes.slice().buffer });
    const errors = (result as { errors?: unknown[] }).errors;
    if (errors?.length) throw new ModelFileError(fn, url, `could not be written: ${String(errors[0])}`);
  },

  async read(fn, url, expect?: (config: Record<string, unknown>) => ExpectedWeights) {
    const fail = (problem: string) => new ModelFileError(fn, url, problem);
    const handler = tf.io.getLoadHandlers(url)[0];
    if (!handler?.load) throw fail('has no tf.io load handler here (indexeddb:// and localstorage:// need a page; http(s):// needs fetch)');
    let artifacts: tf.io.ModelArtifacts;
    try {
      artifacts = await handler.load();
    } catch (e) {
      throw fail(`cannot be read (${(e as Error).message})`);
    }
    try {
      const topology = (artifacts as { modelTopology?: unknown } | null)?.modelTopology as { cnfkit?: unknown } | undefined;
      if (topology === null || typeof topology !== 'object' || !topology.cnfkit) throw fail('is not a cnfkit model (no cnfkit config in its modelTopology)');
      const config = parseConfig(JSON.stringify(topology.cnfkit), FORMAT, VERSION, fail);
      const manifest = checkManifest(config.weights, fail);
      if (expect) checkAgainstOptions(manifest, expect(config), fail);
      // The weight data's kind and size before anything is joined or copied.
      const data = artifacts.weightData;
      const parts = data === undefined ? [] : Array.isArray(data) ? data : [data];
      if (!parts.every((p) => p instanceof ArrayBuffer)) throw fail('weights: weightData is not an ArrayBuffer (or a list of them)');
      const bytes = parts.reduce((n, p) => n + (p as ArrayBuffer).byteLength, 0);
      const total = manifest.reduce((n, w) => n + w.length, 0);
      if (bytes !== total * 4) throw fail(`weights: hold ${bytes} bytes, but the config lists ${total * 4}`);
      const buffer = parts.length === 1 ? (parts[0] as ArrayBuffer) : tf.io.concatenateArrayBuffers(parts as ArrayBuffer[]);
      return decodeWeights(config, manifest, new Uint8Array(buffer), (_file, problem) => fail(`weights: ${problem}`));
    } catch (e) {
      // Whatever a hostile artifact breaks (a cyclic topology, odd values) is this file's problem.
      throw e instanceof ModelFileError ? e : fail(`is malformed (${(e as Error)?.message ?? 'unreadable'})`);
    }
  },
};
