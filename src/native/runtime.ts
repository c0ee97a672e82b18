/**
 * cnfkit's own WebAssembly kernels (native/kernels.ts, AssemblyScript with SIMD) for the built-in
 * ConcatSquash network: fused layer passes and products that reduce over the batch without a
 * transpose. They run beside tfjs, on host memory, so they are used only where tfjs's tensors live
 * on the host too (the wasm and cpu backends). Each user gets its own instance and memory.
 */
import { KernelError } from '../errors.js';
import type { KernelExports } from './kernel_exports.js';
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_WASM_BASE64 } from './kernels_wasm.js';
import { KernelThreads, threadsSupported } from './kernel_threads.js';
import { withSharedMemory } from './shared_memory_module.js';

let compiled: WebAssembly.Module | undefined;
let failure: string | undefined;
let enabled = true;
/** The kernels on shared memory and the threads that run them, when more than one thread is asked for. */
let threaded: { module: WebAssembly.Module; pool: KernelThreads } | undefined;
let threadsNote = '1 thread';
/** Whether the loaded kernels are the relaxed-SIMD build (fused multiply-adds in the products). */
let relaxed = false;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The kernels' bytes: the relaxed-SIMD build where the engine validates it, else the plain one. */
function kernelBytes(): Uint8Array<ArrayBuffer> {
  return decode(relaxed ? KERNELS_RELAXED_WASM_BASE64 : KERNELS_WASM_BASE64);
}

/**
 * Compiles the kernels once (called by `ready()`); on failure cnfkit keeps to tfjs's kernels. Engines
 * with relaxed SIMD (Node 22+, current browsers; Node 20 behind --experimental-wasm-relaxed-simd)
 * get the build whose products use fused multiply-adds, unless `fma` is false.
 */
export async function loadWasmKernels(fma = true): Promise<void> {
  const wanted = fma && WebAssembly.validate(decode(KERNELS_RELAXED_WASM_BASE64));
  if ((compiled && wanted === relaxed) || failure) return;
  relaxed = wanted;
  threaded?.pool.stop();
  threaded = undefined;
  threadsNote = '1 thread';
  try {
    compiled = await WebAssembly.compile(kernelBytes());
  } catch (e) {
    failure = (e as Error).message;
  }
}

/** Whether the kernels' products use fused multiply-adds (the relaxed-SIMD build is loaded). */
export function kernelsUseFma(): boolean {
  return compiled !== undefined && relaxed;
}

/**
 * Runs the kernels on `count` threads from now on (1: the caller's thread only). Workspaces opened
 * before keep their threads; those opened after use the new count.
 * @returns a line on what runs (e.g. `4 threads`, or `1 thread (why)`)
 */
export async function setKernelThreads(count: number): Promise<string> {
  if (threaded && threaded.pool.count === count) return threadsNote;
  threaded?.pool.stop();
  threaded = undefined;
  threadsNote = '1 thread';
  if (count <= 1 || !compiled) return threadsNote;
  const support = threadsSupported();
  if (!support.ok) return (threadsNote = `1 thread (${support.why})`);
  try {
    const module = await WebAssembly.compile(withSharedMemory(kernelBytes()));
    threaded = { module, pool: await KernelThreads.start(count) };
    threadsNote = `${count} threads`;
  } catch (e) {
    threadsNote = `1 thread (threads failed to start: ${(e as Error).message})`;
  }
  return threadsNote;
}

/** The running thread pool, if any (tests read its `runs`). */
export function kernelThreadPool(): KernelThreads | undefined {
  return threaded?.pool;
}

/** The number of threads a workspace opened now with `{ threads: true }` runs on. */
export function plannedKernelThreads(): number {
  return threaded?.pool.count ?? 1;
}

/** How many threads the kernels run on, with the reason when it is one. */
export function kernelThreadsStatus(): string {
  return threadsNote;
}

/** Whether the kernels are compiled and switched on. */
export function wasmKernelsAvailable(): boolean {
  return enabled && compiled !== undefined;
}

/** Why the kernels are not available, if they are not. */
export function wasmKernelsStatus(): string {
  if (!enabled) return 'switched off';
  return compiled ? 'in use' : (failure ?? 'not loaded (call ready() first)');
}

/** Switches the kernels on or off (off: everything runs on tfjs kernels, e.g. to compare). */
export function setWasmKernels(on: boolean): void {
  enabled = on;
}

/**
 * A memory laid out once: `reserve` hands out 16-byte-aligned byte offsets, `open` sizes the memory
 * and instantiates the kernels on it. Views made after `open` stay valid (the memory never grows
 * again).
 */
export class KernelWorkspace {
  private end = 1024; // the first kilobyte stays free (the module's own static area)
  private memory?: WebAssembly.Memory;
  kernels!: KernelExports;
  /** The threads this workspace runs on, with its id among them (absent: one thread). */
  threads?: { pool: KernelThreads; id: number };

  /** Reserves `floats` float32 values; returns their byte offset. */
  reserve(floats: number): number {
    const at = this.end;
    this.end += Math.ceil((floats * 4) / 16) * 16;
    return at;
  }

  /** Reserves a region per name, each `floats` long; returns their byte offsets by name. */
  reserveAll<K extends string>(sizes: Record<K, number>): Record<K, number> {
    const out = {} as Record<K, number>;
    for (const key of Object.keys(sizes) as K[]) out[key] = this.reserve(sizes[key]);
    return out;
  }

  /**
   * Creates the memory and the instance; call once, after every `reserve`. With `threads` (and
   * threads started by `ready`), the memory is shared and every thread holds an instance on it.
   */
  open(options: { threads?: boolean } = {}): this {
    if (!compiled) throw new KernelError('the wasm kernels are not loaded: call ready() first');
    const pages = Math.ceil(this.end / 65536);
    const shared = options.threads && threaded ? threaded : undefined;
    this.memory = shared ? new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }) : new WebAssembly.Memory({ initial: pages });
    const instance = new WebAssembly.Instance(shared ? shared.module : compiled, { env: { memory: this.memory } });
    this.kernels = instance.exports as unknown as KernelExports;
    if (shared) this.threads = { pool: shared.pool, id: shared.pool.attach(shared.module, this.memory) };
    this.wantsThreads = options.threads === true;
    return this;
  }

  private wantsThreads = false;

  /**
   * Whether `ready` has changed the threads since this workspace was opened (its pool stopped, or
   * threads started since): a cached workspace is then reopened, a running one keeps to one thread.
   */
  get stale(): boolean {
    return this.wantsThreads && this.threads?.pool !== threaded?.pool;
  }

  /** The number of threads this workspace runs on. */
  get threadCount(): number {
    return this.threads?.pool.count ?? 1;
  }

  /** Lets the threads forget this workspace (its memory is freed with the last reference). */
  close(): void {
    if (this.threads) this.threads.pool.detach(this.threads.id);
    this.threads = undefined;
  }

  /** The memory's buffer, for views of other element types (valid after `open`, which sizes it once). */
  get buffer(): ArrayBuffer {
    return this.memory!.buffer;
  }

  /** A Float32Array view of `floats` values at byte offset `at`. */
  view(at: number, floats: number): Float32Array {
    return new Float32Array(this.memory!.buffer, at, floats);
  }
}

