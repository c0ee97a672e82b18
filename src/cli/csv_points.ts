/**
 * Points from a CSV file for the command line: one point per line, the same number of comma-separated
 * numbers on every line, an optional header line of names. Read as a stream, in chunks, so a file of
 * millions of points never sits in memory whole when the caller does not need it to.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Rng } from '../random.js';
import { UsageError } from './args.js';

/** Whether a `--data` value names a CSV file rather than a toy data set. */
export function isCsvPath(value: string): boolean {
  return /\.csv$/i.test(value);
}

/**
 * A chunk of points: `rows` × `dim` values, row-major, and the header when the file has one. Float64,
 * as the text says them: standardised on the host before they become float32 (a Unix time in float32
 * is a multiple of 128 s).
 */
export interface PointChunk {
  values: Float64Array;
  rows: number;
  dim: number;
  header?: string[];
  /** The 0-based index of the chunk's first point among the file's points (for shards and splits). */
  firstIndex: number;
}

/**
 * The points of `path` in chunks of at most `chunkRows`, with every line checked.
 * @param option - the option that named the file, for messages (e.g. `data`)
 * @throws UsageError naming the file and the line when the file is missing or a line is not a point
 */
export async function* csvChunks(path: string, chunkRows: number, option: string): AsyncGenerator<PointChunk> {
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`--${option} ${path} ${existsSync(path) ? 'is not a file' : 'does not exist'} (expected a CSV file of points, or a toy data set's name)`);
  const lines = fileLines(path);
  let header: string[] | undefined;
  let dim = 0;
  let buffer: number[] = [];
  let index = 0;
  let firstIndex = 0;
  let lineNumber = 0;
  let first = true;
  for await (const raw of lines) {
    lineNumber++;
    const line = raw.replace(/^\uFEFF/, '');
    if (!line.trim()) continue;
    const cells = line.split(',');
    // The first non-blank line is a header when a cell is a name (not a number, NaN or Infinity): a
    // header may hold numeric names too (years as columns), so one name is enough.
    const isName = (c: string) => c.trim() !== '' && Number.isNaN(parseCell(c)) && !/^\s*[-+]?(nan|infinity)\s*$/i.test(c);
    if (first && cells.some(isName)) {
      first = false;
      header = cells.map((c) => c.trim());
      dim = cells.length;
      continue;
    }
    first = false;
    const values = cells.map(parseCell);
    if (dim === 0) dim = values.length;
    if (values.length !== dim || !values.every((v) => Number.isFinite(Math.fround(v)))) {
      const wide = values.findIndex((v) => Number.isFinite(v) && !Number.isFinite(Math.fround(v)));
      if (values.length === dim && wide >= 0) throw new UsageError(`--${option} ${path}:${lineNumber}: column ${wide + 1} holds ${cells[wide].trim()}, beyond float32's range (±3.4e38) in which cnfkit computes`);
      if (values.length === dim) {
        const missing = cells.findIndex((c) => c.trim() === '' || /^\s*[-+]?(nan|inf|infinity)\s*$/i.test(c));
        if (missing >= 0) {
          const what = cells[missing].trim() === '' ? 'is empty' : `holds ${cells[missing].trim()}`;
          throw new UsageError(`--${option} ${path}:${lineNumber}: column ${missing + 1} ${what}: missing or non-finite values are not supported (drop or impute the row)`);
        }
      }
      const separator = !line.includes(',') && [';', '\t', '|'].find((c) => line.includes(c));
      const hint = separator
        ? ` (the file looks ${separator === '\t' ? 'tab' : `'${separator}'`}-separated; cnfkit reads comma-separated files)`
        : cells.some((c) => /["']/.test(c))
          ? ' (quoted cells are not read: write plain numbers)'
          : cells[cells.length - 1].trim() === '' ? ' (an empty last cell: a trailing comma?)' : '';
      throw new UsageError(`--${option} ${path}:${lineNumber}: expected ${dim} comma-separated numbers, got '${line.slice(0, 80)}'${hint}`);
    }
    for (const v of values) buffer.push(v);
    index++;
    if (buffer.length === chunkRows * dim) {
      yield { values: Float64Array.from(buffer), rows: chunkRows, dim, header, firstIndex };
      buffer = [];
      firstIndex = index;
    }
  }
  if (buffer.length) yield { values: Float64Array.from(buffer), rows: buffer.length / dim, dim, header, firstIndex };
  if (index === 0) throw new UsageError(`--${option} ${path} holds no points`);
}

/** The lines of `path`; a read error carries the path (a stream's errors name no file). */
async function* fileLines(path: string): AsyncGenerator<string> {
  try {
    yield* createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  } catch (e) {
    const error = e as NodeJS.ErrnoException;
    if (typeof error?.code === 'string' && error.path === undefined) error.path = path;
    throw error;
  }
}

/** A decimal number (as CSV writers write them: no hex, binary or octal; no quotes), else NaN. */
function parseCell(cell: string): number {
  const text = cell.trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return NaN;
  return Number(text);
}

/** All the points of `path` (for training, which samples minibatches from them). */
export async function readCsvPoints(path: string, option: string): Promise<{ values: Float64Array; rows: number; dim: number; header?: string[] }> {
  const parts: PointChunk[] = [];
  for await (const chunk of csvChunks(path, 65_536, option)) parts.push(chunk);
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const values = new Float64Array(rows * parts[0].dim);
  let at = 0;
  for (const p of parts) {
    values.set(p.values, at);
    at += p.values.length;
  }
  return { values, rows, dim: parts[0].dim, header: parts[0].header };
}

/** The most shards a run may be split into. */
export const MAX_SHARDS = 1_000_000;

/** Parses `--shard k/n` (0 ≤ k < n ≤ {@link MAX_SHARDS}). */
export function parseShard(value: unknown): { k: number; n: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(String(value));
  const [k, n] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!m || !(n >= 1) || !(k >= 0 && k < n)) throw new UsageError(`--shard must be k/n with 0 ≤ k < n (e.g. 0/4), but got '${value}'`);
  // merge opens every part: a million is past any array job (Slurm's and Kubernetes' top out lower).
  if (n > MAX_SHARDS) throw new UsageError(`--shard ${value}: at most ${MAX_SHARDS} shards (merge reads every part)`);
  return { k, n };
}

/**
 * The seeded split `cnfkit train` makes of a CSV's `rows` points: a tenth (at most 5000, at least
 * one) held out. `eval` rebuilds it to score a run on its own held-out points.
 */
export function csvSplit(rows: number, seed: number): { heldOut: number[]; train: number[] } {
  const rng = new Rng(`csv:${seed}`);
  const order = Array.from({ length: rows }, (_, i) => i);
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const held = Math.min(5000, Math.max(1, Math.floor(rows / 10)));
  return { heldOut: order.slice(0, held), train: order.slice(held) };
}

/** The number of points in a CSV file and their fingerprint (one pass; the lines are checked). */
export async function summarizeCsvPoints(path: string, option: string): Promise<{ rows: number; fingerprint: string }> {
  let rows = 0;
  const fingerprint = new PointsFingerprint();
  for await (const chunk of csvChunks(path, 65_536, option)) {
    rows += chunk.rows;
    fingerprint.add(chunk.values);
  }
  return { rows, fingerprint: fingerprint.value };
}

/**
 * A fingerprint of points: FNV-1a over their float64 bits, in order. The same rows in another order,
 * or one value changed, give another (so a CSV sorted in place is not taken for the one a run split).
 */
export function pointsFingerprint(values: Float64Array): string {
  const fingerprint = new PointsFingerprint();
  fingerprint.add(values);
  return fingerprint.value;
}

/** {@link pointsFingerprint} taken over chunks as a file streams through. */
export class PointsFingerprint {
  private hash = 0x811c9dc5;

  add(values: Float64Array): void {
    const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    let hash = this.hash;
    for (let i = 0; i < words.length; i++) hash = Math.imul(hash ^ words[i], 0x01000193) >>> 0;
    this.hash = hash;
  }

  get value(): string {
    return hex(this.hash);
  }
}

function hex(hash: number): string {
  return hash.toString(16).padStart(8, '0');
}
