/**
 * cnfkit in Node.js: the whole public API of index.ts, plus what needs Node (model folders on disk
 * for CNF.save and CNF.load). package.json's `exports` sends a Node import of 'cnfkit' here and a
 * bundler building for a browser to index.ts, which names no Node module.
 * @packageDocumentation
 */
import { folderStore } from './io/model_files.js';
import { setModelStore } from './io/model_store.js';

setModelStore(folderStore);

export * from './index.js';
