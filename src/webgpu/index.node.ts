/**
 * Opt-in WebGPU in Node: Dawn (the npm package `webgpu`, prebuilt; it needs a Vulkan driver) as
 * `navigator.gpu`, then tfjs's WebGPU backend, which registers itself only where `navigator.gpu`
 * exists when it is evaluated: hence the order of these imports. `ready({ backend: 'webgpu' })` in
 * Node loads this by itself; importing it is also fine.
 * @packageDocumentation
 */
import './dawn.node.js';
import '@tensorflow/tfjs-backend-webgpu';
