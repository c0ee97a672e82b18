// Runs in headless Chromium (test/browser_wasm_missing.test.ts): a page whose site does not serve
// tfjs's wasm files where ready() is told they are. cnfkit must fall back and say which file was missing.
import { backendInfo, ready } from '../../src/index.browser.js';

const wasmPaths = new URLSearchParams(location.search).get('wasmPaths') ?? undefined;
ready({ wasmPaths }).then(
  (info) => Object.assign(window, { cnfkitResult: { backend: info.name, reason: backendInfo().reason } }),
  (e: Error) => Object.assign(window, { cnfkitResult: { error: `${e.name}: ${e.message}` } }),
);
