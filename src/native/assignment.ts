/**
 * The assignment problem of OT-CFM's coupling on cnfkit's wasm kernels: the algorithm of
 * src/flows/ot_coupling.ts compiled (native/kernels.ts), ~1.7x faster than the JavaScript. Pure host
 * arithmetic, so it serves whatever the tfjs backend.
 */
import { KernelWorkspace, wasmKernelsAvailable } from './runtime.js';

/** One workspace, grown to the largest problem seen (8n² + 48n bytes). */
let workspace: { capacity: number; ws: KernelWorkspace; cost: number; f64s: number; i32s: number } | undefined;

/**
 * The minimum-cost assignment for the n×n cost matrix (row-major), or undefined when the kernels
 * are off or a cost is NaN or infinite (the caller then runs the JavaScript version, which says so).
 * @returns assignment[i] = the column matched to row i
 */
export function wasmAssignment(cost: Float64Array, n: number): Int32Array | undefined {
  if (!wasmKernelsAvailable() || n < 1) return undefined;
  if (!workspace || workspace.capacity < n) {
    const ws = new KernelWorkspace();
    // Reservations count float32 slots: a float64 takes two.
    const at = ws.reserveAll({ cost: 2 * n * n, f64s: 2 * 3 * n, i32s: 6 * n });
    ws.open();
    workspace = { capacity: n, ws, ...at };
  }
  const { ws, cost: costAt, f64s, i32s } = workspace;
  new Float64Array(ws.buffer, costAt, n * n).set(cost);
  ws.kernels.assignment(costAt, n, f64s, i32s);
  const col4row = new Int32Array(ws.buffer, i32s, n).slice();
  return col4row.every((j) => j >= 0) ? col4row : undefined;
}
