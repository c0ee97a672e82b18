/**
 * The model format (encoding, and the checks a model passes before cnfkit allocates anything for it;
 * every store and the CLI's checkpoints use them): the config parsed and its checksum verified, the weights manifest well
 * formed, and the manifest equal to the weights the config's options make, under a size cap.
 */
import { crc32 } from './crc32.js';

/** A saved model: its JSON config and named float32 weights with shapes. */
export interface ModelFiles {
  config: Record<string, unknown>;
  weights: { name: string; shape: number[]; values: Float32Array }[];
}

/** Writes and reads saved models (see io/model_files.ts for the folder store's rules). */
export interface ModelStore {
  write(fn: string, dir: string, model: ModelFiles, options: { overwrite?: boolean }): Promise<void>;
  read(fn: string, dir: string, expect?: (config: Record<string, unknown>) => ExpectedWeights): Promise<ModelFiles>;
}

/** The format tag and version every saved model carries. */
export const FORMAT = 'cnfkit-model';
export const VERSION = 1;

/** config.json is small (options, a manifest; a checkpoint adds its history): larger is not a model. */
export const MAX_CONFIG_BYTES = 64 * 2 ** 20;

/** One entry of the weights manifest in config.json. */
export interface ManifestEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

/** The weights a config's options make, in order, or why they cannot be made. */
export type ExpectedWeights = { weights: { name: string; shape: readonly number[] }[] } | { problem: string };

/** Parses config.json and checks its format and, when present, its checksum. */
export function parseConfig(text: string, format: string, version: number, fail: (problem: string) => Error): Record<string, unknown> & { checksum?: unknown; weights?: unknown } {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw fail(`is not valid JSON (${(e as Error).message})`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw fail('does not hold a JSON object');
  const c = config as Record<string, unknown>;
  if (c.format !== format || c.version !== version) {
    throw fail(`is not a cnfkit model (format ${JSON.stringify(c.format)}, version ${JSON.stringify(c.version)}; expected "${format}", ${version})`);
  }
  let expected: number;
  try {
    expected = configChecksum(c);
  } catch (e) {
    throw fail(`is malformed (${(e as Error).message})`);
  }
  if (c.configChecksum !== undefined && c.configChecksum !== expected) {
    throw fail(`does not match its own checksum (configChecksum): it was edited or is corrupt; save the model again from cnfkit`);
  }
  return c;
}

/**
 * CRC-32 of the config without its own checksum, in a canonical form (keys sorted, no spaces), so
 * that any edit to the options or the manifest is caught, and re-indenting is not.
 */
export function configChecksum(config: Record<string, unknown>): number {
  const { configChecksum: _omit, ...rest } = config;
  return crc32(new TextEncoder().encode(canonicalJson(rest)));
}

function canonicalJson(value: unknown, depth = 0): string {
  // A config is a few levels deep; a deeper one is refused before it can exhaust the stack.
  if (depth > MAX_CONFIG_DEPTH) throw new RangeError(`nested deeper than ${MAX_CONFIG_DEPTH} levels`);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k], depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const MAX_CONFIG_DEPTH = 32;

/** A value for an error message that cannot itself throw (hostile objects break String()). */
export function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 80) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/** The manifest equals the weights the options make: the same names, shapes and order. */
export function checkAgainstOptions(manifest: readonly ManifestEntry[], expected: ExpectedWeights, fail: (problem: string) => Error): void {
  if ('problem' in expected) throw fail(expected.problem);
  const want = expected.weights;
  if (want.length !== manifest.length) throw fail(`lists ${manifest.length} weights, but its options make ${want.length}`);
  want.forEach((w, i) => {
    const got = manifest[i];
    if (got.name !== w.name || got.shape.join() !== w.shape.join()) {
      throw fail(`weights[${i}] is '${got.name}' [${got.shape}], but its options make '${w.name}' [${w.shape}] there`);
    }
  });
}

/** Checks the manifest's entries: names, shapes, and offsets that tile the weights without gaps. */
export function checkManifest(value: unknown, fail: (problem: string) => Error): ManifestEntry[] {
  if (!Array.isArray(value)) throw fail(`has no weights manifest (a 'weights' array)`);
  const names = new Set<string>();
  let next = 0;
  return value.map((entry, i) => {
    const where = `weights[${i}]`;
    if (entry === null || typeof entry !== 'object') throw fail(`${where} is not an object`);
    const { name, shape, offset, length } = entry as Record<string, unknown>;
    if (typeof name !== 'string' || name === '') throw fail(`${where}.name must be a non-empty string`);
    if (names.has(name)) throw fail(`${where}.name '${name}' appears twice`);
    names.add(name);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw fail(`${where}.shape ('${name}') must be an array of non-negative integers`);
    const size = shape.reduce((a: number, b: number) => a * b, 1);
    if (length !== size) throw fail(`${where}.length ('${name}') is ${describeValue(length)}, but its shape [${shape}] holds ${size} values`);
    if (offset !== next) throw fail(`${where}.offset ('${name}') is ${describeValue(offset)}, but the weights before it end at ${next}`);
    next += size;
    return { name, shape: shape as number[], offset: offset as number, length: size };
  });
}

/**
 * The weights of a checked config from their bytes: the size the manifest lists, the checksum, every
 * value finite. `fail(file, problem)` names the config's or the weights' file.
 */
export function decodeWeights(
  config: Record<string, unknown> & { checksum?: unknown },
  manifest: readonly ManifestEntry[],
  bytes: Uint8Array,
  fail: (file: 'config' | 'weights', problem: string) => Error,
): ModelFiles {
  const total = manifest.reduce((n, w) => n + w.length, 0);
  if (bytes.byteLength !== total * 4) throw fail('weights', `holds ${bytes.byteLength} bytes, but the config lists ${total * 4}`);
  if (config.checksum !== undefined && config.checksum !== crc32(bytes)) {
    throw fail('weights', `does not match the checksum in the config (crc32 ${crc32(bytes)}, expected ${describeValue(config.checksum)}): the file is corrupt, or a save was interrupted`);
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const weights = manifest.map((w) => ({ name: w.name, shape: w.shape, values: all.slice(w.offset, w.offset + w.length) }));
  for (const w of weights) {
    const bad = w.values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw fail('weights', `holds a non-finite value (${w.values[bad]}) in weight '${w.name}' at element ${bad}: the model is corrupt or was saved after training diverged`);
  }
  const { weights: _w, format: _f, version: _v, checksum: _c, configChecksum: _cc, ...rest } = config;
  return { config: rest, weights };
}

/** The weights as one byte array, and config.json's object with its manifest and checksum. */
export function encodeModel(model: ModelFiles): { bytes: Uint8Array; config: Record<string, unknown> } {
  let offset = 0;
  const manifest: ManifestEntry[] = model.weights.map(({ name, shape, values }) => {
    const entry = { name, shape: [...shape], offset, length: values.length };
    offset += values.length;
    return entry;
  });
  const all = new Float32Array(offset);
  model.weights.forEach(({ values }, i) => all.set(values, manifest[i].offset));
  const bytes = new Uint8Array(all.buffer);
  const config: Record<string, unknown> = { format: FORMAT, version: VERSION, ...model.config, checksum: crc32(bytes), weights: manifest };
  return { bytes, config: { ...config, configChecksum: configChecksum(config) } };
}
