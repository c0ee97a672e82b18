// Every test file runs on the backend cnfkit would pick (CNFKIT_BACKEND, else wasm).
import { beforeAll } from 'vitest';
// The Node entry: what a Node import of 'cnfkit' gets (model folders on disk included).
import { ready } from '../src/index.node.js';

beforeAll(async () => {
  await ready({ verbose: false });
});
