/**
 * Saved models through tf.io handlers: the URL schemes tf.io routes (`indexeddb://name` and
 * `localstorage://name` in a page, `downloads://name` to hand the user the files, `http(s)://` to
 * POST), and any `tf.io.IOHandler` a caller passes (`tf.io.browserFiles` for files a user picked,
 * `tf.io.withSaveHandler` to receive the artifacts). The model travels as tf.io model artifacts
 * (io/model_artifacts.ts); loading checks the header, then the weight data's kind and size, before
 * anything is joined, copied or allocated.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModelFileError } from '../errors.js';
import { checkModelHeader, modelFromBytes, toArtifacts } from './model_artifacts.js';
import type { ExpectedWeights, ModelFiles } from './model_checks.js';

/** Whether `url` names a tf.io location (a scheme other than file://), not a folder. */
export function isModelUrl(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://');
}

/** Whether `value` is a tf.io handler (an object with `save` or `load`), not a location string. */
export function isIOHandler(value: unknown): value is tf.io.IOHandler {
  return value !== null && typeof value === 'object' && (typeof (value as tf.io.IOHandler).save === 'function' || typeof (value as tf.io.IOHandler).load === 'function');
}

/** tf.io's save handler for `url` (through its routers). */
export function routedSaveHandler(fn: string, url: string): tf.io.IOHandler {
  const handler = tf.io.getSaveHandlers(url)[0];
  if (!handler?.save) throw new ModelFileError(fn, url, `has no tf.io save handler here (indexeddb://, localstorage:// and downloads:// need a page)`);
  return handler;
}

/** tf.io's load handler for `url` (through its routers). */
export function routedLoadHandler(fn: string, url: string): tf.io.IOHandler {
  const handler = tf.io.getLoadHandlers(url)[0];
  if (!handler?.load) throw new ModelFileError(fn, url, 'has no tf.io load handler here (indexeddb:// and localstorage:// need a page)');
  return handler;
}

/**
 * Saves `model` through a tf.io handler.
 * @param where - the location for messages (the URL, or a description of the handler)
 */
export async function saveThroughHandler(fn: string, where: string, handler: tf.io.IOHandler, model: ModelFiles): Promise<void> {
  if (typeof handler.save !== 'function') throw new ModelFileError(fn, where, 'has no save method (it is a load-only tf.io handler)');
  let result: tf.io.SaveResult;
  try {
    result = await handler.save(toArtifacts(model));
  } catch (e) {
    throw new ModelFileError(fn, where, `could not be written (${(e as Error)?.message ?? String(e)})`);
  }
  const errors = (result as { errors?: unknown[] } | undefined)?.errors;
  if (errors?.length) throw new ModelFileError(fn, where, `could not be written: ${String(errors[0])}`);
}

/**
 * Loads a model through a tf.io handler, trusting nothing it returns: the header (config, checksum,
 * weight specs, the weights the options make), then the weight data's kind and size, then the bytes.
 * @param expect - the weights the config's options make, or why they cannot be made
 */
export async function loadThroughHandler(fn: string, where: string, handler: tf.io.IOHandler, expect?: (config: Record<string, unknown>) => ExpectedWeights): Promise<ModelFiles> {
  const fail = (problem: string) => new ModelFileError(fn, where, problem);
  if (typeof handler.load !== 'function') throw fail('has no load method (it is a save-only tf.io handler)');
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await handler.load();
  } catch (e) {
    throw fail(`cannot be read (${(e as Error)?.message ?? String(e)})`);
  }
  try {
    const { modelTopology, weightSpecs, weightData } = (artifacts ?? {}) as tf.io.ModelArtifacts;
    const header = checkModelHeader(modelTopology, weightSpecs, expect, fail);
    const parts = weightData === undefined ? [] : Array.isArray(weightData) ? weightData : [weightData];
    if (!parts.every((p) => p instanceof ArrayBuffer)) throw fail('weights: weightData is not an ArrayBuffer (or a list of them)');
    const bytes = parts.reduce((n, p) => n + (p as ArrayBuffer).byteLength, 0);
    if (bytes !== header.bytes) throw fail(`weights: hold ${bytes} bytes, but the config lists ${header.bytes}`);
    const buffer = parts.length === 1 ? (parts[0] as ArrayBuffer) : tf.io.concatenateArrayBuffers(parts as ArrayBuffer[]);
    return modelFromBytes(header, new Uint8Array(buffer), (problem) => fail(`weights: ${problem}`));
  } catch (e) {
    throw e instanceof ModelFileError ? e : fail(`is malformed (${(e as Error)?.message ?? 'unreadable'})`);
  }
}
