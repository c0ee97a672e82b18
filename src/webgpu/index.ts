/**
 * Opt-in WebGPU: `import 'cnfkit/webgpu'` (once, before `ready({ backend: 'webgpu' })`) registers
 * tfjs's WebGPU backend. It is an entry of its own so that the main one never names the optional
 * package `@tensorflow/tfjs-backend-webgpu` (install it beside cnfkit to use this): a bundle without
 * this import bundles without it. In a page the GPU is `navigator.gpu`; in Node, index.node.ts here
 * brings Dawn from the `webgpu` package.
 * @packageDocumentation
 */
import '@tensorflow/tfjs-backend-webgpu';
