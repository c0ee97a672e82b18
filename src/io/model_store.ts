/**
 * Where saved models go and come from, decided in one place: a `tf.io.IOHandler` the caller passes,
 * `http(s)://` (loaded by cnfkit's own checked fetch, saved by tf.io's POST), the other tf.io URL
 * schemes (indexeddb://, localstorage://, downloads://), or a folder. The library core (which runs in
 * a browser) names no file system: the Node entry (src/index.node.ts) registers the folder store of
 * io/model_files.ts.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { CnfkitError, InputError } from '../errors.js';
import { isHttpUrl, loadHttpModel } from './http_model.js';
import { loadPickedFiles, pickedFiles } from './picked_files.js';
import type { ExpectedWeights, ModelFiles, ModelStore } from './model_checks.js';
import { isIOHandler, isModelUrl, loadThroughHandler, routedLoadHandler, routedSaveHandler, saveThroughHandler } from './tfio_store.js';

export type { ModelFiles, ModelStore } from './model_checks.js';

/** Where a model is saved or loaded: a folder path (Node), a URL, or a tf.io handler. */
export type ModelLocation = string | tf.io.IOHandler;

/** How messages name a handler the caller passed. */
const HANDLER = 'the tf.io handler';

let registered: ModelStore | undefined;

/** Makes `store` the folder store `CNF.save` and `CNF.load` use (the Node entry registers it). */
export function setModelStore(store: ModelStore): void {
  registered = store;
}

/** Writes `model` to `location` (see the module comment for the routes). */
export async function writeModel(fn: string, location: ModelLocation, model: ModelFiles, options: { overwrite?: boolean }): Promise<void> {
  if (isIOHandler(location)) return saveThroughHandler(fn, HANDLER, location, model);
  if (isModelUrl(location)) return saveThroughHandler(fn, location, routedSaveHandler(fn, location), model);
  return folderStore(fn, location).write(fn, location, model, options);
}

/**
 * Reads the model at `location`, checked against the weights `expect` says its options make.
 * @param signal - stops an http(s) load (its fetches) when it aborts
 */
export async function readModel(fn: string, location: ModelLocation, expect: (config: Record<string, unknown>) => ExpectedWeights, signal?: AbortSignal): Promise<ModelFiles> {
  if (isIOHandler(location)) {
    const picked = pickedFiles(location);
    return picked ? loadPickedFiles(fn, picked, expect) : loadThroughHandler(fn, HANDLER, location, expect);
  }
  if (isHttpUrl(location)) return loadHttpModel(fn, location, expect, signal);
  if (isModelUrl(location)) return loadThroughHandler(fn, location, routedLoadHandler(fn, location), expect);
  const onServer = registered ? undefined : pageRelativeModelUrl(location);
  if (onServer) return loadHttpModel(fn, onServer, expect, signal);
  return folderStore(fn, location).read(fn, location, expect);
}

/**
 * In a page or worker (no folder store), a relative `…/model.json` is the server's file, as a link
 * or fetch there would take it: its URL against the page's.
 */
function pageRelativeModelUrl(location: string): string | undefined {
  const page = (globalThis as { location?: { href?: unknown } }).location?.href;
  if (typeof page !== 'string' || !/\.json$/i.test(location)) return undefined;
  try {
    const url = new URL(location, page).href;
    return isHttpUrl(url) ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Checks that `value` is a model location: a non-empty path or URL, or a tf.io handler. */
export function checkLocation(fn: string, argument: string, value: unknown): asserts value is ModelLocation {
  if (isIOHandler(value) || (typeof value === 'string' && value.trim() !== '' && !value.includes('\0'))) return;
  throw new InputError(fn, argument, `must be a folder path, a URL (indexeddb://, http(s)://…/model.json, …) or a tf.io handler, but got ${typeof value === 'string' ? JSON.stringify(value) : value === null ? 'null' : typeof value}`);
}

/** A short description of `location` for messages. */
export function describeLocation(location: ModelLocation): string {
  return typeof location === 'string' ? location : HANDLER;
}

/** The registered folder store, or a clear error where there is none (a page, or the browser entry in Node). */
function folderStore(fn: string, location: string): ModelStore {
  if (registered) return registered;
  const inNode = typeof globalThis.process?.versions?.node === 'string';
  throw new CnfkitError(
    inNode
      ? `${fn}: '${location}' is a folder, but this is cnfkit's browser entry (a bundle or the 'browser' condition): import from 'cnfkit/node' for model folders`
      : `${fn}: '${location}' is not a place a page can ${fn === 'CNF.save' ? 'save to' : 'load from'} (folders need Node's file system); in a page save to indexeddb://name or downloads://name, load from there, from your server by the URL of its model.json ('/models/model.json', 'https://…/model.json') or from picked files (tf.io.browserFiles)`,
  );
}
