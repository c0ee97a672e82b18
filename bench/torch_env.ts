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
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Whether this run keeps glibc's defaults for PyTorch (`--torch-default-malloc`). */
export const torchDefaultMalloc = process.argv.includes('--torch-default-malloc');

/**
 * glibc's settings that keep freed memory in the process (bytes). Both thresholds, never the trim
 * alone: setting one switches off glibc's sliding mmap threshold, and with only the trim threshold
 * set every tensor over 128 KiB was mapped afresh (31 ms a step, against 7.7 with the defaults and
 * 2.9-3.0 with both). 32 MiB is the largest mmap threshold glibc takes.
 */
const KEEP_MEMORY = { MALLOC_TRIM_THRESHOLD_: String(2 ** 30), MALLOC_MMAP_THRESHOLD_: String(2 ** 25), MALLOC_TOP_PAD_: String(2 ** 27) };

/**
 * The environment for a PyTorch reference on `threads` threads: OMP_NUM_THREADS, which OpenBLAS (the
 * BLAS of Debian's torch, where installed) obeys too; unset when omitted, for a driver that sets its
 * threads itself (bench/reference/torch_threads.py).
 */
export function torchEnv(threads?: number, defaultMalloc = torchDefaultMalloc): NodeJS.ProcessEnv {
  const { OMP_NUM_THREADS: _omp, MALLOC_TRIM_THRESHOLD_: _t, MALLOC_MMAP_THRESHOLD_: _m, MALLOC_TOP_PAD_: _p, ...env } = process.env;
  return { ...env, ...(threads === undefined ? {} : { OMP_NUM_THREADS: String(threads) }), ...(defaultMalloc ? {} : KEEP_MEMORY) };
}

/** A line for a benchmark's header on how PyTorch's allocator was set. */
export function torchAllocatorLine(defaultMalloc = torchDefaultMalloc): string {
  return defaultMalloc
    ? "PyTorch with glibc's default allocator settings (--torch-default-malloc): its steps pay page faults that tuned runs do not"
    : "PyTorch with glibc's allocator keeping freed memory (MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_; bench/torch_env.ts): its faster, steadier setting";
}

/**
 * Runs a driver of ../shared/reference (PyTorch on FFJORD's sources: FFJORD_SRC, TORCHDIFFEQ_SRC)
 * with `args` and `--out_dir` a temporary folder, on `threads` threads (pinned to `core` when given),
 * and returns the `<tag>.json` it writes; undefined, saying why, where it cannot run here.
 * @param what - the reference's name and the flag that asked for it, for messages
 * @param driver - its path under ../shared/reference
 */
export function runReferenceDriver<T>(what: { name: string; flag: string }, driver: string, args: string[], tag: string, threads: number, core?: number): T | undefined {
  const path = new URL(`../../shared/reference/${driver}`, import.meta.url).pathname;
  if (!process.env.FFJORD_SRC || !process.env.TORCHDIFFEQ_SRC || !existsSync('/usr/bin/python3') || !existsSync(path)) {
    console.log(`${what.name} not run: ${what.flag} needs FFJORD_SRC, TORCHDIFFEQ_SRC, /usr/bin/python3 and shared/reference/${dirname(driver)}`);
    return undefined;
  }
  const out = mkdtempSync(join(tmpdir(), 'cnfkit-reference-'));
  try {
    const command = [...(core === undefined ? [] : ['taskset', '-c', String(core)]), '/usr/bin/python3', path, ...args, '--tag', tag, '--out_dir', out, '--plot', '0'];
    console.log(`running ${what.name} first: ${command.join(' ')}\n${torchAllocatorLine()}`);
    execFileSync(command[0], command.slice(1), { env: torchEnv(threads), stdio: ['ignore', 'ignore', 'inherit'], timeout: 7_200_000 });
    return JSON.parse(readFileSync(join(out, `${tag}.json`), 'utf8')) as T;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
