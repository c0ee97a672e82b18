/**
 * `navigator.gpu` in Node from Dawn (the npm package `webgpu`): its WebGPU globals (GPUBufferUsage
 * and friends, which tfjs's WebGPU backend reads) and a GPU object. A page has both already.
 */
import { create, globals } from 'webgpu';

const g = globalThis as { navigator?: { gpu?: unknown } };
if (!g.navigator?.gpu) {
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: create([]) }, configurable: true });
}
