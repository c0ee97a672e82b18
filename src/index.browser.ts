/**
 * cnfkit in a browser bundle (package.json's `exports` default and `browser` field): the whole
 * public API of index.ts on the tfjs parts it uses, tfjs-core with its gradients and chained tensor
 * methods, and the wasm and cpu backends, from their ES modules, so that a bundler shares them with
 * the page's own tfjs imports (one engine) and leaves out what cnfkit does not use (webgl, layers,
 * converter, data: import those yourself when you want them).
 * @packageDocumentation
 */
// tfjs-core itself first: its flags (DEBUG, …) must be registered before the gradient files run,
// and webpack evaluates side-effect imports in the order written here (esbuild happened not to care).
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

export * from './index.js';
