/**
 * Choosing and reporting the tfjs backend. The default, `wasm` (SIMD), installs from the npm registry
 * everywhere; the pure-JS `cpu` backend is its fallback. Native and GPU backends are optional peer
 * dependencies, loaded at run time by a guarded dynamic import: when one is asked for and cannot be
 * loaded, cnfkit says why and falls back instead of failing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { CnfkitError } from './errors.js';
import { kernelThreadsStatus, kernelsUseFma, loadWasmKernels, setKernelThreads, setWasmKernels, wasmKernelsStatus } from './native/runtime.js';
import { availableCores } from './native/kernel_threads.js';
import { diagnoseWasmFailure } from './wasm_files.js';
import { registerConv2DBackpropFilter } from './nn/conv2d_backprop_filter.js';
import { registerConv2DBackpropInput } from './nn/conv2d_backprop_input.js';
import { registerUnsortedSegmentSum } from './nn/unsorted_segment_sum.js';

// tfjs's wasm backend cannot take conv2d's filter gradient by itself (no kernel registered), and
// takes its input gradient six times slower than a convolution: both become convolutions. Nor can it
// take gather's gradient (UnsortedSegmentSum): a product with a one-hot matrix.
registerConv2DBackpropFilter('wasm');
registerConv2DBackpropInput('wasm');
registerUnsortedSegmentSum('wasm');

/** A backend to ask for. `auto` is wasm, falling back to cpu. */
export type BackendChoice = 'auto' | 'wasm' | 'cpu' | 'tensorflow' | 'tensorflow-gpu' | 'webgpu';

/**
 * Every value {@link ready} accepts for `backend` (and the env variable `CNFKIT_BACKEND`).
 * @example
 * ```ts
 * console.log(BACKEND_CHOICES.join(' | '));   // auto | wasm | cpu | tensorflow | tensorflow-gpu | webgpu
 * ```
 */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu', 'webgpu'];

/** Which backend runs, and how it was chosen. */
export interface BackendInfo {
  /** The tfjs backend in use (`tf.getBackend()`), e.g. `wasm`. */
  name: string;
  /** What was asked for. */
  requested: BackendChoice;
  /** Where the request came from. */
  source: 'option' | 'env CNFKIT_BACKEND' | 'default';
  /** One line on why this backend runs (e.g. the fallback and its cause). */
  reason: string;
  /** wasm only: whether SIMD is in use. */
  simd?: boolean;
  /**
   * wasm only: whether tfjs's own wasm kernels run on more than one thread (its threaded build, in a
   * cross-origin-isolated page, with more than one thread; never in Node). cnfkit's kernels have their
   * own threads: {@link BackendInfo.kernelThreads}.
   */
  threads?: boolean;
  /**
   * cnfkit's own WebAssembly kernels for the built-in ConcatSquash/tanh network (flow-matching
   * steps, the exact-trace evaluations and their VJPs), used on the host backends (wasm, cpu):
   * `'in use'`, or why not.
   */
  kernels: string;
  /** The threads cnfkit's kernels run on: e.g. `'2 threads'`, or `'1 thread'` with the reason. */
  kernelThreads: string;
  /** Whether cnfkit's kernels use fused multiply-adds (relaxed SIMD; see `ReadyOptions.fusedMultiplyAdd`). */
  kernelFma: boolean;
}

/** Options of {@link ready}. */
export interface ReadyOptions {
  /**
   * The backend to use. Overrides the env variable `CNFKIT_BACKEND`.
   * @defaultValue `process.env.CNFKIT_BACKEND`, else `'auto'`
   */
  backend?: BackendChoice;
  /**
   * Use cnfkit's own WebAssembly kernels where they apply (false: tfjs's kernels everywhere, e.g. to
   * compare). Overrides the env variable `CNFKIT_WASM_KERNELS` (`0` turns them off).
   * @defaultValue `true`
   */
  wasmKernels?: boolean;
  /**
   * Where a page serves tfjs's wasm backend files (`tfjs-backend-wasm.wasm`, `-simd.wasm`,
   * `-threaded-simd.wasm` from `@tensorflow/tfjs-backend-wasm/dist`): the folder's URL (a `/` is
   * added where it is missing: tfjs appends the file name to it as it is), or a map from file name
   * to URL. A bundled page needs it; without the files the wasm backend fails and cnfkit falls back
   * to the ~20x slower cpu backend, saying so. Node finds them by itself.
   */
  wasmPaths?: string | Record<string, string>;
  /**
   * Let cnfkit's kernels use relaxed SIMD's fused multiply-add in their products where the engine
   * has it (Node 22+, current browsers; Node 20 with `--experimental-wasm-relaxed-simd`): one
   * rounding instead of two, fewer instructions. false keeps the plain SIMD build everywhere.
   * Overrides the env variable `CNFKIT_FMA` (`0` turns it off).
   * @defaultValue `true`
   */
  fusedMultiplyAdd?: boolean;
  /**
   * Threads for cnfkit's kernels: batches split by rows over this many threads (worker threads in
   * Node; Web Workers in a cross-origin-isolated page, when cnfkit itself runs in a Worker). 1 keeps
   * everything on the calling thread. Overrides the env variable `CNFKIT_THREADS`.
   * @defaultValue every core (`os.availableParallelism()`, `navigator.hardwareConcurrency`)
   */
  threads?: number;
  /**
   * Print fallbacks to the console.
   * @defaultValue `true`
   */
  verbose?: boolean;
}

/** The optional packages behind each native/GPU choice. */
const OPTIONAL_PACKAGES: Partial<Record<BackendChoice, { pkg: string; backend: string; hint: string }>> = {
  tensorflow: { pkg: '@tensorflow/tfjs-node', backend: 'tensorflow', hint: 'npm install @tensorflow/tfjs-node@4.22.0 (its install script downloads libtensorflow)' },
  'tensorflow-gpu': {
    pkg: '@tensorflow/tfjs-node-gpu',
    backend: 'tensorflow',
    hint: 'npm install @tensorflow/tfjs-node-gpu@4.22.0 (needs CUDA 11.2 and cuDNN 8.1; its install script downloads libtensorflow 2.9.1)',
  },
};

/** What to do about a WebGPU problem, by platform: the packages, or the GPU. */
const IN_NODE = typeof globalThis.process?.versions?.node === 'string';
const WEBGPU_HINTS = IN_NODE
  ? { packages: 'npm install @tensorflow/tfjs-backend-webgpu@4.22.0 webgpu@0.6.2', adapter: "Dawn needs a Vulkan driver: Debian's libvulkan1 with Mesa 25's mesa-vulkan-drivers, or the GPU vendor's" }
  : { packages: "import 'cnfkit/webgpu' once before ready(), with @tensorflow/tfjs-backend-webgpu installed", adapter: 'this browser offers no WebGPU adapter (chrome://gpu says why)' };

/**
 * Loaders of opt-in backends that the platform's entry provides (index.node.ts: WebGPU on Dawn). A
 * bundle has none: there the user imports 'cnfkit/webgpu', so that no bundler meets the optional
 * package unless asked.
 */
const backendLoaders = new Map<string, () => Promise<unknown>>();

/** Registers how `ready` loads an opt-in backend on this platform (for the entry points, not users). */
export function registerBackendLoader(backend: string, load: () => Promise<unknown>): void {
  backendLoaders.set(backend, load);
}

let current: BackendInfo | undefined;

/**
 * Use before any backend is initialised: tfjs would start the best backend's set-up in the middle of
 * a synchronous call; for wasm (asynchronous) it throws its own message, and the Emscripten runtime it
 * starts prints a screen of its minified source. tfjs asks its engine for the best backend at that
 * moment (private methods, tfjs 4.22); when that backend cannot start synchronously, cnfkit throws one
 * line instead, before any set-up begins. A backend the user set (tf.setBackend, tf.ready) or a
 * synchronous one (tfjs-node) is not affected.
 */
function guardUninitialisedUse(): void {
  type Best = { name: string; asyncInit: boolean };
  const engine = tf.engine() as unknown as { initializeBackendsAndReturnBest?: () => Best; getSortedBackends?: () => string[] };
  const pick = engine.initializeBackendsAndReturnBest;
  const sorted = engine.getSortedBackends;
  if (typeof pick !== 'function' || typeof sorted !== 'function') return;
  const notReady = () =>
    new CnfkitError("cnfkit: no tfjs backend is initialised yet; call `await ready()` (import { ready } from 'cnfkit') once before using cnfkit or tf");
  engine.initializeBackendsAndReturnBest = function (this: unknown): Best {
    if (ASYNC_BACKENDS.has(sorted.call(this)[0])) throw notReady();
    const best = pick.call(this);
    if (best.asyncInit) throw notReady();
    return best;
  };
}
/** Backends whose set-up is asynchronous: they need `await ready()` (or tf.ready) before use. */
const ASYNC_BACKENDS = new Set(['wasm', 'webgpu']);
guardUninitialisedUse();

/**
 * Selects the backend and waits until it is initialised. Call (and await) once before using cnfkit;
 * later calls with the same choice return at once.
 *
 * @param options - which backend; see {@link ReadyOptions}
 * @returns what runs, as {@link backendInfo} reports it
 * @throws CnfkitError when `backend` (or `CNFKIT_BACKEND`) names no known backend
 * @example
 * ```ts
 * const info = await ready();          // wasm unless CNFKIT_BACKEND says otherwise
 * console.log(info.name, info.reason);
 * ```
 */
export async function ready(options: ReadyOptions = {}): Promise<BackendInfo> {
  checkReadyOptions(options);
  const envChoice = typeof process !== 'undefined' ? process.env?.CNFKIT_BACKEND : undefined;
  const requested = (options.backend ?? (envChoice || 'auto')) as BackendChoice;
  const source: BackendInfo['source'] = options.backend ? 'option' : envChoice ? 'env CNFKIT_BACKEND' : 'default';
  if (!BACKEND_CHOICES.includes(requested)) {
    throw new CnfkitError(
      `ready: backend ${JSON.stringify(requested)} (from ${source}) is not one of ${BACKEND_CHOICES.join(', ')}`,
    );
  }
  const envKernels = typeof process !== 'undefined' ? process.env?.CNFKIT_WASM_KERNELS : undefined;
  setWasmKernels(options.wasmKernels ?? envKernels !== '0');
  const envFma = typeof process !== 'undefined' ? process.env?.CNFKIT_FMA : undefined;
  await loadWasmKernels(options.fusedMultiplyAdd ?? envFma !== '0');
  const envThreads = typeof process !== 'undefined' ? process.env?.CNFKIT_THREADS : undefined;
  const threads = options.threads ?? (envThreads ? Number(envThreads) : availableCores());
  if (!(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
    throw new CnfkitError(`ready: threads must be an integer in 1…256, but got ${options.threads !== undefined ? JSON.stringify(options.threads) : `CNFKIT_THREADS=${envThreads}`}`);
  }
  await setKernelThreads(threads);
  if (current && current.requested === requested && tf.getBackend() === current.name) return { ...current, kernels: kernelsLine(), kernelThreads: kernelThreadsStatus(), kernelFma: kernelsUseFma() };
  const verbose = options.verbose ?? true;

  let reason = requested === 'auto' ? 'default: wasm (SIMD) backend' : `requested ${requested}`;
  if (requested === 'webgpu') {
    const failure = await loadWebGpu();
    if (failure === undefined && (await trySetBackend('webgpu'))) return record({ requested, source, reason });
    reason = `webgpu unavailable (${failure ?? 'the backend failed to initialise'}); fell back to wasm`;
    if (verbose) console.warn(`cnfkit: ${reason}`);
  }
  const optional = OPTIONAL_PACKAGES[requested];
  if (optional) {
    const failure = await loadOptional(optional.pkg);
    if (failure === undefined && (await trySetBackend(optional.backend))) {
      return record({ requested, source, reason: `${reason} (${optional.pkg})` });
    }
    reason = `${requested} unavailable (${failure ?? 'backend failed to initialise'}; ${optional.hint}); fell back to wasm`;
    if (verbose) console.warn(`cnfkit: ${reason}`);
  }
  const wasmPaths = typeof options.wasmPaths === 'string' && options.wasmPaths !== '' && !options.wasmPaths.endsWith('/') ? `${options.wasmPaths}/` : options.wasmPaths;
  if (wasmPaths !== undefined) setWasmPaths(wasmPaths as string);
  if (requested !== 'cpu' && (await trySetBackend('wasm'))) return record({ requested, source, reason });
  if (requested !== 'cpu') {
    const cause = (await diagnoseWasmFailure(wasmPaths)) ?? 'wasm failed to initialise';
    reason = `${reason}; ${cause}; fell back to the pure-JS cpu backend (about 20x slower)`;
    if (verbose) console.warn(`cnfkit: ${reason}`);
  }
  if (!(await trySetBackend('cpu'))) throw new CnfkitError('ready: no tfjs backend could be initialised (not even cpu)');
  return record({ requested, source, reason });
}

/**
 * Which tfjs backend runs and why.
 * @returns the info recorded by the last {@link ready}, or the bare tfjs backend name when `ready`
 *   was not called
 * @example
 * ```ts
 * await ready();
 * const { name, reason } = backendInfo();   // 'wasm', 'default: wasm (SIMD) backend'
 * ```
 */
export function backendInfo(): BackendInfo {
  if (current && tf.getBackend() === current.name) return { ...current, kernels: kernelsLine(), kernelThreads: kernelThreadsStatus(), kernelFma: kernelsUseFma() };
  return { name: tf.getBackend() ?? 'none', requested: 'auto', source: 'default', reason: 'chosen by tfjs (cnfkit.ready() not called)', kernels: kernelsLine(), kernelThreads: kernelThreadsStatus(), kernelFma: kernelsUseFma() };
}

/** The kernels' status for {@link BackendInfo.kernels}. */
function kernelsLine(): string {
  const status = wasmKernelsStatus();
  if (status !== 'in use') return status;
  return tf.getBackend() === 'wasm' || tf.getBackend() === 'cpu' ? status : `not used on the ${tf.getBackend()} backend (tensors off the host)`;
}

function record(info: Omit<BackendInfo, 'name' | 'kernels' | 'kernelThreads' | 'kernelFma'>): BackendInfo {
  const name = tf.getBackend();
  current = { name, ...info, kernels: kernelsLine(), kernelThreads: kernelThreadsStatus(), kernelFma: kernelsUseFma() };
  if (name === 'wasm') {
    current.simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    // The threaded build being loaded is not enough: tfjs may still run it on one thread.
    current.threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') && getThreadsCount() > 1;
  }
  return { ...current };
}

async function trySetBackend(name: string): Promise<boolean> {
  const restoreHandlers = snapshotProcessHandlers();
  try {
    if (!tf.findBackendFactory(name)) return false;
    const ok = await tf.setBackend(name);
    if (ok) await tf.ready();
    return ok;
  } catch {
    return false;
  } finally {
    restoreHandlers();
  }
}

/**
 * The wasm backend's Emscripten runtime installs process handlers that rethrow every uncaught error
 * from inside its minified source, so Node prints a screen of wasm glue instead of the error. This
 * removes handlers added while a backend initialises, restoring Node's own reporting.
 */
function snapshotProcessHandlers(): () => void {
  if (typeof process === 'undefined' || typeof process.listeners !== 'function') return () => {};
  const exceptions = new Set(process.listeners('uncaughtException'));
  const rejections = new Set(process.listeners('unhandledRejection'));
  return () => {
    for (const l of process.listeners('uncaughtException')) if (!exceptions.has(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!rejections.has(l)) process.removeListener('unhandledRejection', l);
  };
}

/** Imports an optional package; returns why it failed, or undefined on success. */
async function loadOptional(pkg: string): Promise<string | undefined> {
  try {
    await import(/* @vite-ignore */ /* webpackIgnore: true */ pkg);
    return undefined;
  } catch (e) {
    return describeImportFailure(pkg, e);
  }
}

/**
 * Makes tfjs's WebGPU backend available: registered already (the user imported 'cnfkit/webgpu'), or
 * loaded by the platform's loader (Node). Returns why not, or undefined when there is a GPU adapter.
 */
async function loadWebGpu(): Promise<string | undefined> {
  if (!tf.findBackendFactory('webgpu')) {
    const load = backendLoaders.get('webgpu');
    if (!load) return `tfjs's WebGPU backend is not registered: ${WEBGPU_HINTS.packages}`;
    try {
      await load();
    } catch (e) {
      return `${describeImportFailure('@tensorflow/tfjs-backend-webgpu or webgpu (Dawn)', e)}: ${WEBGPU_HINTS.packages}`;
    }
    if (!tf.findBackendFactory('webgpu')) return `no navigator.gpu here: ${WEBGPU_HINTS.adapter}`;
  }
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  return adapter ? undefined : `no WebGPU adapter (navigator.gpu.requestAdapter() found none): ${WEBGPU_HINTS.adapter}`;
}

function describeImportFailure(pkg: string, e: unknown): string {
  const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return /Cannot find (package|module)|Could not resolve|ERR_MODULE_NOT_FOUND/.test(message) ? `${pkg} is not installed` : `${pkg} failed to load: ${message}`;
}

function checkReadyOptions(options: ReadyOptions): void {
  if (options === null || typeof options !== 'object') throw new CnfkitError(`ready: 'options' must be an object, but got ${options === null ? 'null' : typeof options}`);
  const known = ['backend', 'wasmKernels', 'verbose', 'wasmPaths', 'threads', 'fusedMultiplyAdd'];
  const paths = options.wasmPaths;
  if (paths !== undefined && typeof paths !== 'string' && (paths === null || typeof paths !== 'object' || !Object.values(paths).every((v) => typeof v === 'string'))) {
    throw new CnfkitError(`ready: 'options.wasmPaths' must be a URL prefix or a map from file name to URL, but got ${JSON.stringify(paths)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new CnfkitError(`ready: 'options.${key}' is not an option; known options are ${known.join(', ')}`);
  }
  for (const key of ['wasmKernels', 'verbose', 'fusedMultiplyAdd'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      throw new CnfkitError(`ready: 'options.${key}' must be a boolean, but got ${JSON.stringify(options[key])}`);
    }
  }
}
