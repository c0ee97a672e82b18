/**
 * Programs for kernel threads: a pass written against KernelExports runs unchanged, once, on a
 * recorder that keeps each call instead of running it; a worker then replays the calls on its own
 * instance (native/kernel_threads.ts). Only what the pass does with return values differs: the
 * recorder returns 0 and the worker stores the real value in its result slot.
 */
import type { KernelCall } from './kernel_threads.js';
import type { KernelExports } from './kernel_exports.js';

/**
 * The calls `pass` makes. The return values of the calls that have one go to consecutive slots
 * from `firstSlot`, in order; pass NaN for the time and the worker reads the pool's `time` there.
 */
export function recordKernels(pass: (k: KernelExports) => unknown, firstSlot: number): KernelCall[] {
  const calls: KernelCall[] = [];
  let slot = firstSlot;
  const recorder = new Proxy({} as KernelExports, {
    get: (_target, name) => (...args: (number | boolean)[]) => {
      calls.push([name as keyof KernelExports, args.map(Number), RETURNS.has(name as keyof KernelExports) ? slot++ : -1]);
      return 0;
    },
  });
  pass(recorder);
  return calls;
}

/** The kernels whose return value a pass uses. */
const RETURNS = new Set<keyof KernelExports>(['squaredErrorGrad', 'squashVectorGrads', 'adamUpdate']);

/**
 * `rows` split into at most `threads` contiguous shards [from, count] of nearly equal size, none
 * under `minRows` (so small batches stay on fewer threads).
 */
export function splitRows(rows: number, threads: number, minRows: number): [number, number][] {
  const parts = Math.max(1, Math.min(threads, Math.floor(rows / minRows)));
  const shards: [number, number][] = [];
  for (let i = 0, from = 0; i < parts; i++) {
    const count = Math.floor(rows / parts) + (i < rows % parts ? 1 : 0);
    shards.push([from, count]);
    from += count;
  }
  return shards;
}
