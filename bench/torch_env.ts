/**
 * The environment the PyTorch references (bench/reference/, FFJORD) run in. glibc's allocator, left
 * to its defaults, hands freed memory back to the kernel: tensors over 128 KiB are mapped afresh
 * and the heap's top is trimmed after each step, and every step pays the page faults again. On the
 * dev VM (2026-12-04, 1000 steps timed one by one, an ad-hoc script) PyTorch's flow-matching step at
 * batch 1024 took 2.4 ms or ~6 ms at random (median 6.6 ms, fastest 2.4 ms), and FFJORD's
 * exact-trace evaluation of 5000 points at NFE 26 1.2 s instead of 0.3 s; with the settings below
 * the step took 2.3-2.7 ms every time. So the references run with them, as a user tuning
 * PyTorch would (or with jemalloc or tcmalloc); `--torch-default-malloc` runs them as installed.
 */

/** Whether this run keeps glibc's defaults for PyTorch (`--torch-default-malloc`). */
export const torchDefaultMalloc = process.argv.includes('--torch-default-malloc');

/** glibc's settings that keep freed memory in the process (values in bytes). */
const KEEP_MEMORY = { MALLOC_TRIM_THRESHOLD_: String(2 ** 30), MALLOC_MMAP_THRESHOLD_: String(2 ** 30), MALLOC_TOP_PAD_: String(2 ** 27) };

/** The environment for a PyTorch reference on `threads` threads (OMP_NUM_THREADS unset when omitted). */
export function torchEnv(threads?: number | string, defaultMalloc = torchDefaultMalloc): NodeJS.ProcessEnv {
  const { OMP_NUM_THREADS: _omp, MALLOC_TRIM_THRESHOLD_: _t, MALLOC_MMAP_THRESHOLD_: _m, MALLOC_TOP_PAD_: _p, ...env } = process.env;
  return { ...env, ...(threads === undefined ? {} : { OMP_NUM_THREADS: String(threads) }), ...(defaultMalloc ? {} : KEEP_MEMORY) };
}

/** A line for a benchmark's header on how PyTorch's allocator was set. */
export function torchAllocatorLine(defaultMalloc = torchDefaultMalloc): string {
  return defaultMalloc
    ? "PyTorch with glibc's default allocator settings (--torch-default-malloc): its steps pay page faults that tuned runs do not"
    : "PyTorch with glibc's allocator keeping freed memory (MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_; bench/torch_env.ts): its faster, steadier setting";
}
