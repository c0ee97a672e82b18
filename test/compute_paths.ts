/**
 * Running a test case on one compute path and proving that it ran there: kernel-vs-tfjs comparisons
 * that silently compared tfjs with tfjs (the kernels failed to load) would pass without this.
 */
import { expect } from 'vitest';
import { setWasmKernels } from '../src/native/runtime.js';
import { pathUsage, type ComputePath } from '../src/nn/compute_path.js';

/** Every compute path a test can force on this machine's host backends. */
export const HOST_PATHS: readonly ComputePath[] = ['wasm-kernels', 'tfjs'];

/**
 * Runs `run` with the kernels on ('wasm-kernels') or off ('tfjs') and asserts that the path `ran`
 * (by default the one asked for; tfjs for a network the kernels do not implement) ran at least once,
 * and, when it is tfjs, that the kernels never did.
 */
export async function onPath<T>(path: ComputePath, run: () => T | Promise<T>, ran: ComputePath = path): Promise<T> {
  setWasmKernels(path === 'wasm-kernels');
  const before = { ...pathUsage };
  try {
    const result = await run();
    expect(pathUsage[ran], `the ${ran} path ran`).toBeGreaterThan(before[ran]);
    if (ran === 'tfjs') expect(pathUsage['wasm-kernels'], 'the kernels did not run').toBe(before['wasm-kernels']);
    return result;
  } finally {
    setWasmKernels(true);
  }
}

/** `run` on the kernels, then on tfjs: [kernels' result, tfjs's result], each path proven. */
export async function onBothPaths<T>(run: () => T | Promise<T>): Promise<[T, T]> {
  return [await onPath('wasm-kernels', run), await onPath('tfjs', run)];
}
