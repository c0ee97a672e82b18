/**
 * cnfkit's own WebAssembly kernels (native/kernels.ts, AssemblyScript with SIMD) for the built-in
 * ConcatSquash network: fused layer passes and products that reduce over the batch without a
 * transpose. They run beside tfjs, on host memory, so they are used only where tfjs's tensors live
 * on the host too (the wasm and cpu backends). Each user gets its own instance and memory.
 */
import { KernelError } from '../errors.js';
import { KERNELS_WASM_BASE64 } from './kernels_wasm.js';

/** The kernels' exports; every pointer is a byte offset into the instance's memory. */
export interface KernelExports {
  sigmoidArray(src: number, dst: number, n: number): void;
  tanhArray(src: number, dst: number, n: number): void;
  activationArray(src: number, dst: number, n: number, act: number): void;
  mmNN(a: number, b: number, c: number, m: number, k: number, n: number, accumulate: boolean): void;
  mmNT(a: number, bt: number, c: number, m: number, k: number, n: number): void;
  mmTN(a: number, d: number, c: number, m: number, k: number, n: number, accumulate: boolean): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  squashForwardRows(z: number, g: number, out: number, pre: number, t: number, b: number, gw: number, gb: number, bw: number, m: number, n: number, act: number): void;
  squashBackwardRows(dy: number, lin: number, g: number, t: number, dlin: number, db: number, dgw: number, dgb: number, dbw: number, m: number, n: number): void;
  activationBackward(dx: number, h: number, pre: number, n: number, act: number): void;
  squaredErrorGrad(f: number, target: number, dy: number, m: number, n: number): number;
  squashGate(t: number, gw: number, gb: number, bw: number, g: number, tb: number, n: number): void;
  squashForwardStacked(z: number, out: number, g: number, b: number, tb: number, rows: number, tangents: number, n: number, act: number): void;
  squashBackwardStacked(dZ: number, z: number, g: number, dg: number, dzSum: number, rows: number, tangents: number, n: number): void;
  squashVectorGrads(t: number, dg: number, dzSum: number, g: number, gw: number, bw: number, db: number, dgw: number, dgb: number, dbw: number, n: number): number;
  activationBackwardStacked(dS: number, out: number, z: number, g: number, tb: number, rows: number, tangents: number, n: number, act: number): void;
  assignment(cost: number, n: number, f64s: number, i32s: number): void;
  adamUpdate(p: number, g: number, mo: number, v: number, scratch: number, n: number, stepSize: number, beta1: number, beta2: number, epsilon: number, weightDecay: number, bias2: number): number;
}

let compiled: WebAssembly.Module | undefined;
let failure: string | undefined;
let enabled = true;

/** Compiles the kernels once (called by `ready()`); on failure cnfkit keeps to tfjs's kernels. */
export async function loadWasmKernels(): Promise<void> {
  if (compiled || failure) return;
  try {
    const binary = atob(KERNELS_WASM_BASE64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    compiled = await WebAssembly.compile(bytes);
  } catch (e) {
    failure = (e as Error).message;
  }
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

  /** Creates the memory and the instance; call once, after every `reserve`. */
  open(): this {
    if (!compiled) throw new KernelError('the wasm kernels are not loaded: call ready() first');
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(this.end / 65536) });
    const instance = new WebAssembly.Instance(compiled, { env: { memory: this.memory } });
    this.kernels = instance.exports as unknown as KernelExports;
    return this;
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

