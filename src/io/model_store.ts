/**
 * Where saved models live, behind one small interface: the library core (which runs in a browser)
 * names no file system; the Node entry (src/index.node.ts) registers the folder store of
 * io/model_files.ts, and a page's stores (IndexedDB, http) would register themselves the same way.
 */
import { CnfkitError } from '../errors.js';
import type { ExpectedWeights } from './model_checks.js';

/** A saved model: its JSON config and named float32 weights with shapes. */
export interface ModelFiles {
  config: Record<string, unknown>;
  weights: { name: string; shape: number[]; values: Float32Array }[];
}

/** Writes and reads saved models (see io/model_files.ts for the folder store's rules). */
export interface ModelStore {
  write(fn: string, dir: string, model: ModelFiles, options: { overwrite?: boolean }): Promise<void>;
  read(fn: string, dir: string, expect?: (config: Record<string, unknown>) => ExpectedWeights): Promise<ModelFiles>;
}

let registered: ModelStore | undefined;

/** Makes `store` the one `CNF.save` and `CNF.load` use (the Node entry registers the folder store). */
export function setModelStore(store: ModelStore): void {
  registered = store;
}

/** The registered store, or a clear error where there is none (a browser bundle, for now). */
export function modelStore(fn: string): ModelStore {
  if (!registered) {
    throw new CnfkitError(`${fn}: saving and loading model folders needs Node's file system (import cnfkit in Node.js); this environment has no model store`);
  }
  return registered;
}
