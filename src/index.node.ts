/**
 * cnfkit in Node.js: the whole public API of index.ts, plus what needs Node (model folders on disk
 * for CNF.save and CNF.load). package.json's `exports` sends a Node import of 'cnfkit' here and a
 * bundler building for a browser to index.browser.ts, which names no Node module.
 * @packageDocumentation
 */
// tfjs-core's Node build (CommonJS) carries neither the gradients nor the chained tensor methods;
// tfjs's Node build registers both (and the cpu backend) on that same tfjs-core instance. In a
// browser bundle index.browser.ts registers them from tfjs-core's ES modules instead, without the
// rest of tfjs.
import '@tensorflow/tfjs';
import { registerBackendLoader } from './backend.js';
import { folderStore } from './io/model_files.js';
import { setModelStore } from './io/model_store.js';
import { setThreadHost } from './native/kernel_threads.js';
import { nodeThreadHost } from './node_threads.js';

setModelStore(folderStore);
setThreadHost(nodeThreadHost);
// ready({ backend: 'webgpu' }) in Node loads Dawn and tfjs's WebGPU backend when asked (optional peers).
registerBackendLoader('webgpu', () => import('./webgpu/index.node.js'));

export * from './index.js';
