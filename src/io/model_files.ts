/**
 * Model folders on disk: `config.json` and `weights.bin` (raw little-endian float32). Node only (loaded
 * with a dynamic import, so the library still runs in a browser when these are not called).
 *
 * Saving never deletes a file it did not write. A new folder, or one that holds only a cnfkit model
 * (or nothing), is replaced atomically: the new model is written to a temporary sibling folder that
 * is swapped in by rename, so a reader or a crash sees the old model or the new one, never a mix.
 * A folder holding anything else is refused unless the caller asks to overwrite; then only
 * `config.json` and `weights.bin` are replaced there, each by rename, and the weights' checksum in
 * `config.json` catches a pair torn by a crash between the two.
 */
import { ModelFileError } from '../errors.js';
import { crc32 } from './crc32.js';
import { createParents, fileError, inspectFolder, type FolderTarget } from './folders.js';

/** A saved model: its JSON config and named float32 weights with shapes. */
export interface ModelFiles {
  config: Record<string, unknown>;
  weights: { name: string; shape: number[]; values: Float32Array }[];
}

const FORMAT = 'cnfkit-model';
const VERSION = 1;
const CONFIG = 'config.json';
const WEIGHTS = 'weights.bin';

/** One entry of the weights manifest in config.json. */
interface ManifestEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

/**
 * Writes `model` to the folder `dir` (see the module comment for what is replaced and how).
 * `overwrite` writes into a folder that holds other files, replacing only config.json and weights.bin.
 * @param fn - the public function, for messages (e.g. `CNF.save`)
 * @throws InputError when `dir` is not a path; ModelFileError when it cannot be written or holds
 *   other files (without `overwrite`), before anything is written
 */
export async function writeModelFiles(fn: string, dir: string, model: ModelFiles, options: { overwrite?: boolean } = {}): Promise<void> {
  const target = await inspectFolder(fn, 'dir', dir);
  const own = target.exists ? await holdsOnlyModel(target) : true;
  if (!own && !options.overwrite) {
    const foreign = target.entries.filter((e) => e !== CONFIG && e !== WEIGHTS);
    const listed = foreign.length ? foreign.slice(0, 3).map((e) => `'${e}'`).join(', ') + (foreign.length > 3 ? `, and ${foreign.length - 3} more` : '') : `a ${CONFIG} that is not a cnfkit model`;
    throw new ModelFileError(
      fn,
      target.path,
      `holds files cnfkit did not write (${listed}); nothing was changed. Save to a new or empty folder, ` +
        `or pass { overwrite: true } to replace only ${CONFIG} and ${WEIGHTS} there (other files are kept)`,
    );
  }
  const { bytes, config } = encode(model);
  try {
    if (own && (await swapInFolder(fn, target, bytes, config))) return;
    await replaceFilesInPlace(target.path, bytes, config);
  } catch (e) {
    throw e instanceof ModelFileError ? e : fileError(fn, target.path, e);
  }
}

/**
 * Reads a model folder written by {@link writeModelFiles}, checking the manifest against the data
 * (names, shapes, offsets, lengths), the checksum and that every weight is finite.
 * @throws ModelFileError naming the folder, the file and the problem
 */
export async function readModelFiles(fn: string, dir: string): Promise<ModelFiles> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const folder = path.resolve(dir);
  const fail = (file: string, problem: string) => new ModelFileError(fn, file === '' ? folder : path.join(folder, file), problem);
  const stat = await fs.stat(folder).catch(() => undefined);
  if (!stat) throw fail('', 'does not exist');
  if (!stat.isDirectory()) throw fail('', `is a file, not a model folder (expected ${CONFIG} and ${WEIGHTS} inside)`);
  let text: string;
  try {
    text = await fs.readFile(path.join(folder, CONFIG), 'utf8');
  } catch (e) {
    throw fail(CONFIG, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): is this a cnfkit model folder?`);
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw fail(CONFIG, `is not valid JSON (${(e as Error).message})`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw fail(CONFIG, 'does not hold a JSON object');
  if (config.format !== FORMAT || config.version !== VERSION) {
    throw fail(CONFIG, `is not a cnfkit model (format ${JSON.stringify(config.format)}, version ${JSON.stringify(config.version)}; expected "${FORMAT}", ${VERSION})`);
  }
  const manifest = checkManifest(config.weights, (problem) => fail(CONFIG, problem));
  const bytes = await fs.readFile(path.join(folder, WEIGHTS)).catch((e: NodeJS.ErrnoException) => {
    throw fail(WEIGHTS, `cannot be read (${e.code ?? e.message})`);
  });
  const total = manifest.reduce((n, w) => n + w.length, 0);
  if (bytes.byteLength !== total * 4) throw fail(WEIGHTS, `holds ${bytes.byteLength} bytes, but ${CONFIG} lists ${total * 4}`);
  if (config.checksum !== undefined && config.checksum !== crc32(bytes)) {
    throw fail(WEIGHTS, `does not match the checksum in ${CONFIG} (crc32 ${crc32(bytes)}, expected ${String(config.checksum)}): the file is corrupt, or a save was interrupted`);
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const weights = manifest.map((w) => ({ name: w.name, shape: w.shape, values: all.slice(w.offset, w.offset + w.length) }));
  for (const w of weights) {
    const bad = w.values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw fail(WEIGHTS, `holds a non-finite value (${w.values[bad]}) in weight '${w.name}' at element ${bad}: the model is corrupt or was saved after training diverged`);
  }
  const { weights: _w, format: _f, version: _v, checksum: _c, ...rest } = config;
  return { config: rest, weights };
}

/** The weights as one byte array, and config.json's object with its manifest and checksum. */
function encode(model: ModelFiles): { bytes: Uint8Array; config: Record<string, unknown> } {
  let offset = 0;
  const manifest: ManifestEntry[] = model.weights.map(({ name, shape, values }) => {
    const entry = { name, shape: [...shape], offset, length: values.length };
    offset += values.length;
    return entry;
  });
  const all = new Float32Array(offset);
  model.weights.forEach(({ values }, i) => all.set(values, manifest[i].offset));
  const bytes = new Uint8Array(all.buffer);
  return { bytes, config: { format: FORMAT, version: VERSION, ...model.config, checksum: crc32(bytes), weights: manifest } };
}

/** Whether an existing folder is empty or holds a cnfkit model and nothing else. */
async function holdsOnlyModel(target: FolderTarget): Promise<boolean> {
  if (target.entries.some((e) => e !== CONFIG && e !== WEIGHTS)) return false;
  if (!target.entries.includes(CONFIG)) return target.entries.length === 0;
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  try {
    const config = JSON.parse(await fs.readFile(path.join(target.path, CONFIG), 'utf8'));
    return config?.format === FORMAT;
  } catch {
    return false;
  }
}

/**
 * Writes the model into a temporary sibling folder and renames it into place (moving an old model
 * folder aside first, then removing its two files). Returns false, having changed nothing, when the
 * parent folder does not allow it (then the files are replaced in place).
 */
async function swapInFolder(fn: string, target: FolderTarget, bytes: Uint8Array, config: Record<string, unknown>): Promise<boolean> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const parent = path.dirname(target.path);
  await createParents(fn, target.path);
  const tmp = await makeSibling(parent, path.basename(target.path), 'tmp');
  if (!tmp) return false;
  try {
    await writeFileDurably(path.join(tmp, WEIGHTS), bytes);
    await writeFileDurably(path.join(tmp, CONFIG), JSON.stringify(config, null, 2) + '\n');
    if (target.mode !== undefined) await fs.chmod(tmp, target.mode);
    if (!target.exists) {
      await fs.rename(tmp, target.path);
      return true;
    }
    const old = `${tmp}.old`;
    if (!(await fs.rename(target.path, old).then(() => true, () => false))) {
      await removeOwnFolder(tmp);
      return false;
    }
    await fs.rename(tmp, target.path);
    await removeOwnFolder(old);
    return true;
  } catch (e) {
    await removeOwnFolder(tmp).catch(() => {});
    throw e;
  }
}

/** Replaces config.json and weights.bin inside the folder, each by rename, the weights first. */
async function replaceFilesInPlace(folder: string, bytes: Uint8Array, config: Record<string, unknown>): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const stamp = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const tmpWeights = path.join(folder, `.${WEIGHTS}.${stamp}.tmp`);
  const tmpConfig = path.join(folder, `.${CONFIG}.${stamp}.tmp`);
  try {
    await writeFileDurably(tmpWeights, bytes);
    await writeFileDurably(tmpConfig, JSON.stringify(config, null, 2) + '\n');
    await fs.rename(tmpWeights, path.join(folder, WEIGHTS));
    await fs.rename(tmpConfig, path.join(folder, CONFIG));
  } finally {
    await fs.rm(tmpWeights, { force: true });
    await fs.rm(tmpConfig, { force: true });
  }
}

/** Makes a new, empty sibling folder `.<base>.cnfkit-<kind>-<random>` (umask permissions), or undefined when the parent refuses. */
async function makeSibling(parent: string, base: string, kind: string): Promise<string | undefined> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  for (let attempt = 0; attempt < 5; attempt++) {
    const name = path.join(parent, `.${base}.cnfkit-${kind}-${Math.random().toString(36).slice(2, 10)}`);
    const made = await fs.mkdir(name).then(() => true, (e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? false : undefined));
    if (made) return name;
    if (made === undefined) return undefined;
  }
  return undefined;
}

/** Removes a folder cnfkit made: its two model files, then the folder if nothing else is in it. */
async function removeOwnFolder(folder: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  await fs.rm(path.join(folder, WEIGHTS), { force: true });
  await fs.rm(path.join(folder, CONFIG), { force: true });
  // Anything else that appeared meanwhile is somebody else's: then the folder stays.
  await fs.rmdir(folder).catch(() => {});
}

/** Writes a file and flushes it to the device, so a rename after it never exposes an empty file. */
async function writeFileDurably(file: string, data: Uint8Array | string): Promise<void> {
  const fs = await import('node:fs/promises');
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Checks the manifest's entries: names, shapes, and offsets that tile the weights without gaps. */
function checkManifest(value: unknown, fail: (problem: string) => Error): ManifestEntry[] {
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
    if (length !== size) throw fail(`${where}.length ('${name}') is ${String(length)}, but its shape [${shape}] holds ${size} values`);
    if (offset !== next) throw fail(`${where}.offset ('${name}') is ${String(offset)}, but the weights before it end at ${next}`);
    next += size;
    return { name, shape: shape as number[], offset: offset as number, length: size };
  });
}
