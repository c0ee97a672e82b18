/**
 * Large batches in chunks. A solve over B rows holds every stage's activations of B rows at once
 * (tfjs: about 24 bytes per row for each network width and each tangent carried, measured with
 * tf.profile: 11.8 kB per row for the exact trace of the 2-64-64-64-2 network; three times that
 * under a gradient tape), so 10⁶ rows would take tens of GB. The flow's methods split larger batches
 * into chunks that fit `memoryLimit` and solve them one after another; each chunk takes its own
 * adaptive steps, so results agree with one big solve to the solver's tolerance.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors.js';
import { tapeRecording } from '../nn/compute_path.js';
import type { Reads } from '../ode/host_reads.js';
import type { ResolvedCnfOptions } from './cnf_options.js';

/** Bytes per row per width and tangent, measured on the tfjs path (see the module comment). */
const BYTES_PER_WIDTH = 24;
/** Widths assumed for custom dynamics, whose network cnfkit cannot see. */
const CUSTOM_WIDTH_PER_DIM = 64;

/**
 * The most rows one solve of the flow may take under its `memoryLimit`.
 * @param tangents - tangent vectors carried beside x: dim (exact trace), 1 (Hutchinson), 0 (flow map)
 */
export function chunkRows(options: ResolvedCnfOptions, tangents: number): number {
  const widths = options.dynamics ? CUSTOM_WIDTH_PER_DIM * options.dim : options.dim + options.hiddenDims.reduce((a, b) => a + b, 0);
  const perRow = BYTES_PER_WIDTH * widths * (tangents + 1) * (tapeRecording() ? 3 : 1);
  // Refused only for the built-in networks, whose cost per row was measured; custom dynamics' is a
  // guess (64 widths per dimension), so one row of theirs is tried.
  if (perRow > options.memoryLimit && !options.dynamics) {
    const hint = tangents > 1 ? "; the exact trace carries one tangent per dimension, Hutchinson's (trace: 'hutchinson') one in all" : '';
    throw new InputError('CNF', 'options.memoryLimit', `is ${options.memoryLimit} bytes, but one point of this ${options.dim}-dimensional flow needs about ${perRow} (${tangents} tangents beside x)${hint}; raise it where the machine has the memory`);
  }
  return Math.max(1, Math.floor(options.memoryLimit / perRow));
}

/** Row counts of consecutive chunks of at most `size` rows covering `rows`. */
export function chunkSizes(rows: number, size: number): number[] {
  const count = Math.ceil(rows / size);
  // Equal chunks (within one row), rather than full ones and a sliver.
  return Array.from({ length: count }, (_, i) => Math.floor((rows * (i + 1)) / count) - Math.floor((rows * i) / count));
}

/** `x` split into row chunks (views the caller disposes), or `[x]` when it fits one. */
export function splitRows(x: tf.Tensor2D, size: number): tf.Tensor2D[] {
  return x.shape[0] <= size ? [x] : (tf.split(x, chunkSizes(x.shape[0], size)) as tf.Tensor2D[]);
}

/**
 * Solves `x` chunk by chunk under `size` rows (one solve when it fits) and joins each named result
 * along the rows; the reads of `solve` are yielded. Frees the chunks and the parts it joined.
 */
export function* solveInChunks<R extends object>(x: tf.Tensor2D, size: number, solve: (chunk: tf.Tensor2D) => Reads<R>): Reads<R> {
  const chunks = splitRows(x, size);
  if (chunks.length === 1) return yield* solve(x);
  const parts: Record<string, tf.Tensor | undefined>[] = [];
  try {
    for (const chunk of chunks) parts.push((yield* solve(chunk)) as Record<string, tf.Tensor | undefined>);
    const joined = Object.keys(parts[0]).filter((key) => parts[0][key] !== undefined).map((key) => [key, tf.concat(parts.map((p) => p[key]!))]);
    return Object.fromEntries(joined) as R;
  } finally {
    tf.dispose([...chunks, ...parts.flatMap((p) => Object.values(p).filter((t): t is tf.Tensor => t !== undefined))]);
  }
}

/** `steps`' result under a name, for {@link solveInChunks}. */
export function* named<K extends string, T extends tf.Tensor>(key: K, steps: Reads<T>): Reads<Record<K, T>> {
  return { [key]: yield* steps } as Record<K, T>;
}
