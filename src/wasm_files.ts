/**
 * Why tfjs's wasm backend did not start in a page: it fetches one of its three `.wasm` files at run
 * time (threaded SIMD, SIMD or plain, by what the browser supports) from `wasmPaths` or beside the
 * script, and a bundled site that does not serve it gets only a minified Emscripten error. This names
 * the URL that was tried, what the server said, and how to serve the files.
 */
import * as tf from '@tensorflow/tfjs-core';

/** tfjs's wasm backend files, in the order it prefers them. */
export const TFJS_WASM_FILES = ['tfjs-backend-wasm-threaded-simd.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm.wasm'] as const;

const HOW_TO_SERVE =
  `copy ${[...TFJS_WASM_FILES].reverse().join(', ')} from node_modules/@tensorflow/tfjs-backend-wasm/dist/ ` +
  "to a folder your site serves (as application/wasm) and pass its URL: ready({ wasmPaths: '/that-folder/' })";

/**
 * One line on why the wasm backend failed to start in a page, or undefined outside a page (in Node
 * the files come from the installed package).
 * @param wasmPaths - what `ready` was given (a URL prefix, or a map from file name to URL)
 */
export async function diagnoseWasmFailure(wasmPaths: string | Record<string, string> | undefined): Promise<string | undefined> {
  const page = (globalThis as { location?: { href?: string } }).location?.href;
  if (typeof fetch !== 'function' || typeof page !== 'string' || typeof globalThis.process?.versions?.node === 'string') return undefined;
  const [simd, threads] = await Promise.all([tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')]).catch(() => [false, false]);
  const file = simd && threads ? TFJS_WASM_FILES[0] : simd ? TFJS_WASM_FILES[1] : TFJS_WASM_FILES[2];
  const relative = typeof wasmPaths === 'string' ? wasmPaths + file : wasmPaths?.[file];
  if (wasmPaths !== undefined && relative === undefined) return `tfjs's wasm backend needs ${file} (this browser's choice), but the wasmPaths map given to ready() has no entry for it; ${HOW_TO_SERVE}`;
  const url = new URL(relative ?? file, page).href;
  const where = relative === undefined ? `${url} (no wasmPaths given to ready(), so tfjs looked beside the page)` : url;
  let response: Response;
  try {
    response = await fetch(url, { method: 'GET', cache: 'no-store' });
  } catch (e) {
    return `tfjs's wasm backend could not fetch ${where} (${(e as Error)?.message ?? e}); ${HOW_TO_SERVE}`;
  }
  await response.body?.cancel().catch(() => {});
  if (!response.ok) return `tfjs's wasm backend could not load ${where}: HTTP ${response.status} ${response.statusText}`.trimEnd() + `; ${HOW_TO_SERVE}`;
  const type = response.headers.get('content-type') ?? 'no content type';
  if (!type.includes('application/wasm')) return `tfjs's wasm backend got ${where} served as ${type}, not application/wasm (is it the wasm file, or the site's fallback page?); ${HOW_TO_SERVE}`;
  return `tfjs's wasm backend found ${url} but failed to start (tfjs's warning above says why)`;
}
