// Every test file runs on the backend cnfkit would pick (CNFKIT_BACKEND, else wasm).
import { beforeAll } from 'vitest';
import { ready } from '../src/index.js';

beforeAll(async () => {
  await ready({ verbose: false });
});
