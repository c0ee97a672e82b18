/**
 * Where saved models live, behind one small interface: the library core (which runs in a browser)
 * names no file system; the Node entry (src/index.node.ts) registers the folder store of
 * io/model_files.ts, and a page's stores (IndexedDB, http) would register themselves the same way.
 */
import { CnfkitError } from '../errors.js';
import type { ModelStore } from './model_checks.js';
import { isModelUrl, tfioStore } from './tfio_store.js';

export type { ModelFiles, ModelStore } from './model_checks.js';

let registered: ModelStore | undefined;

/** Makes `store` the one `CNF.save` and `CNF.load` use (the Node entry registers the folder store). */
export function setModelStore(store: ModelStore): void {
  registered = store;
}

/**
 * The store for `location`: tf.io's handlers for a URL (indexeddb://, localstorage://, downloads://,
 * http(s)://), else the registered folder store, or a clear error where there is none (a page).
 */
export function modelStore(fn: string, location: string): ModelStore {
  if (isModelUrl(location)) return tfioStore;
  if (!registered) {
    const inNode = typeof globalThis.process?.versions?.node === 'string';
    throw new CnfkitError(
      inNode
        ? `${fn}: '${location}' is a folder, but this is cnfkit's browser entry (a bundle or the 'browser' condition): import from 'cnfkit/node' for model folders`
        : `${fn}: '${location}' is a folder, and folders need Node's file system; in a page save to indexeddb://name or downloads://name, load from there or from http(s)://`,
    );
  }
  return registered;
}
