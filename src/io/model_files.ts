/**
 * Model folders on disk: `model.json` (tf.io's model JSON: the cnfkit config in its modelTopology, a
 * weights manifest) and `weights.bin` (raw little-endian float32), the files tfjs-node's `file://`
 * handler writes, so tf.io tooling reads the weights. Folders of cnfkit 0.2 and earlier
 * (`config.json` + `weights.bin`) still load. Node only (loaded with a dynamic import, so the library
 * still runs in a browser when these are not called).
 *
 * Saving never deletes a file it did not write, and moves only its own. A new folder is written
 * whole beside its place and renamed into it, so it appears complete or not at all. In an existing
 * folder (one holding a cnfkit model or nothing, or anything with `overwrite`) the two files are
 * written under temporary names and renamed over `weights.bin`, then `model.json`: each file is
 * replaced atomically, and the weights' checksum in model.json catches a pair torn by a crash
 * between the two renames (a cnfkit 0.2 `config.json` there is removed last: it was cnfkit's). The
 * folder itself is never renamed: a shell or process inside it keeps its working directory, and
 * nothing added to it meanwhile is moved.
 */
import { InputError, ModelFileError } from '../errors.js';

import { FORMAT, MAX_CONFIG_BYTES, VERSION, parseConfig, type ExpectedWeights, type ModelFiles, type ModelStore } from './model_checks.js';
import { MODEL_JSON, checkModelHeader, modelFromBytes, modelJson, parseModelJson, toArtifacts } from './model_artifacts.js';
import { createParents, fileError, inspectFolder, type FolderTarget } from './folders.js';

/** The folder store: what the Node entry registers for CNF.save and CNF.load. */
export const folderStore: ModelStore = { write: writeModelFiles, read: readModelFiles };

const WEIGHTS = 'weights.bin';
/** The JSON file of cnfkit 0.2 and earlier (the config with its own manifest). */
const LEGACY_CONFIG = 'config.json';
/** The files a model folder may hold: saving replaces these and nothing else. */
export const MODEL_FILES = [MODEL_JSON, WEIGHTS, LEGACY_CONFIG];


/**
 * Writes `model` to the folder `dir` (see the module comment for what is replaced and how).
 * `overwrite` writes into a folder that holds other files, replacing only model.json and weights.bin.
 * @param fn - the public function, for messages (e.g. `CNF.save`)
 * @param dir - a folder path or a `file://` URL
 * @throws InputError when `dir` is not a path; ModelFileError when it cannot be written or holds
 *   other files (without `overwrite`), before anything is written
 */
export async function writeModelFiles(fn: string, dir: string, model: ModelFiles, options: { overwrite?: boolean } = {}): Promise<void> {
  const target = await inspectFolder(fn, 'dir', await folderPath(fn, dir));
  const own = target.exists ? await holdsOnlyModel(target) : true;
  if (!own && !options.overwrite) {
    const foreign = target.entries.filter((e) => !MODEL_FILES.includes(e));
    const listed = foreign.length ? foreign.slice(0, 3).map((e) => `'${e}'`).join(', ') + (foreign.length > 3 ? `, and ${foreign.length - 3} more` : '') : `a ${MODEL_JSON} or ${LEGACY_CONFIG} that is not a cnfkit model`;
    throw new ModelFileError(
      fn,
      target.path,
      `holds files cnfkit did not write (${listed}); nothing was changed. Save to a new or empty folder, ` +
        `or pass { overwrite: true } to replace only ${MODEL_JSON} and ${WEIGHTS} there (other files are kept)`,
    );
  }
  const artifacts = toArtifacts(model);
  const bytes = new Uint8Array(artifacts.weightData);
  const json = JSON.stringify(modelJson(artifacts, WEIGHTS), null, 2) + '\n';
  try {
    if (!target.exists && (await createWhole(fn, target, bytes, json))) return;
    await replaceFilesInPlace(target.path, bytes, json);
  } catch (e) {
    throw e instanceof ModelFileError ? e : fileError(fn, target.path, e);
  }
}

/**
 * Reads a model folder written by {@link writeModelFiles} (or a cnfkit 0.2 one), trusting nothing in
 * it: the JSON's size and checksum, then the weights it declares against those `expect` computes
 * from its options (names, shapes, order, total size, under a cap), and weights.bin's size, all
 * before weights.bin is read or anything is allocated; then the weights' checksum and that every
 * weight is finite.
 * @param dir - a folder path or a `file://` URL
 * @param expect - the weights the config's options make, or why they cannot be made
 * @throws ModelFileError naming the folder or file, the field and what was expected
 */
export async function readModelFiles(fn: string, dir: string, expect?: (config: Record<string, unknown>) => ExpectedWeights): Promise<ModelFiles> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const folder = path.resolve(await folderPath(fn, dir));
  const fail = (file: string, problem: string) => new ModelFileError(fn, file === '' ? folder : path.join(folder, file), problem);
  const stat = await fs.stat(folder).catch(() => undefined);
  if (!stat) throw fail('', 'does not exist');
  if (!stat.isDirectory()) throw fail('', `is a file, not a model folder (expected ${MODEL_JSON} and ${WEIGHTS} inside)`);
  const legacy = !(await fs.stat(path.join(folder, MODEL_JSON)).catch(() => undefined)) && (await fs.stat(path.join(folder, LEGACY_CONFIG)).catch(() => undefined)) !== undefined;
  const jsonFile = legacy ? LEGACY_CONFIG : MODEL_JSON;
  const failJson = (problem: string) => fail(jsonFile, problem);
  const text = new TextDecoder().decode(await readRegularFile(path.join(folder, jsonFile), { max: MAX_CONFIG_BYTES }, failJson, 'is this a cnfkit model folder?'));
  let header;
  if (legacy) {
    header = checkModelHeader({ cnfkit: parseConfig(text, FORMAT, VERSION, failJson) }, undefined, expect, failJson);
  } else {
    const { topology, groups } = parseModelJson(text, failJson);
    if (groups.length !== 1 || groups[0].paths.length !== 1 || ![WEIGHTS, `./${WEIGHTS}`].includes(groups[0].paths[0])) {
      throw failJson(`must list one weight file, ${WEIGHTS}, in its weightsManifest (a model folder holds ${MODEL_JSON} and ${WEIGHTS}), but lists ${JSON.stringify(groups.map((g) => g.paths)).slice(0, 120)}`);
    }
    header = checkModelHeader(topology, groups[0].specs, expect, failJson);
  }
  const bytes = await readRegularFile(path.join(folder, WEIGHTS), { exact: header.bytes }, (problem) => fail(WEIGHTS, problem.replace('the expected', `${jsonFile} lists`)));
  return modelFromBytes(header, bytes, (problem) => fail(WEIGHTS, problem.replace('the config', jsonFile)));
}

/** A folder path from a path or a `file://` URL. */
async function folderPath(fn: string, dir: string): Promise<string> {
  if (typeof dir !== 'string' || !dir.startsWith('file://')) return dir;
  const { fileURLToPath } = await import('node:url');
  try {
    return fileURLToPath(dir);
  } catch (e) {
    throw new InputError(fn, fn === 'CNF.load' ? 'source' : 'target', `is a file:// URL that names no local path (${(e as Error).message})`);
  }
}

/** Whether an existing folder is empty or holds a cnfkit model (of this or an earlier version) and nothing else. */
async function holdsOnlyModel(target: FolderTarget): Promise<boolean> {
  if (target.entries.some((e) => !MODEL_FILES.includes(e))) return false;
  const jsons = target.entries.filter((e) => e !== WEIGHTS);
  if (jsons.length === 0) return target.entries.length === 0;
  for (const json of jsons) if (!(await isCnfkitJson(target.path, json))) return false;
  return true;
}

/** Whether `file` in `folder` is a cnfkit model's JSON (model.json, or a cnfkit 0.2 config.json). */
async function isCnfkitJson(folder: string, file: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  try {
    const json = JSON.parse(await fs.readFile(path.join(folder, file), 'utf8'));
    return (file === MODEL_JSON ? json?.modelTopology?.cnfkit?.format : json?.format) === FORMAT;
  } catch {
    return false;
  }
}

/**
 * Writes a new model folder as a temporary sibling and renames it into place. Returns false, having
 * changed nothing, when the parent does not allow a sibling (then the files are written in place).
 */
async function createWhole(fn: string, target: FolderTarget, bytes: Uint8Array, json: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  await createParents(fn, target.path);
  const tmp = await makeSibling(path.dirname(target.path), path.basename(target.path), 'tmp');
  if (!tmp) return false;
  try {
    await writeFileDurably(path.join(tmp, WEIGHTS), bytes);
    await writeFileDurably(path.join(tmp, MODEL_JSON), json);
    await fs.rename(tmp, target.path);
    return true;
  } catch (e) {
    await removeOwnFolder(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Replaces model.json and weights.bin inside the folder, each by rename, the weights first; then
 * removes a cnfkit 0.2 config.json there (cnfkit wrote it; left, it would describe other weights).
 */
async function replaceFilesInPlace(folder: string, bytes: Uint8Array, json: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  await fs.mkdir(folder).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  const stamp = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const tmpWeights = path.join(folder, `.${WEIGHTS}.${stamp}.tmp`);
  const tmpJson = path.join(folder, `.${MODEL_JSON}.${stamp}.tmp`);
  try {
    await writeFileDurably(tmpWeights, bytes);
    await writeFileDurably(tmpJson, json);
    await fs.rename(tmpWeights, path.join(folder, WEIGHTS));
    await fs.rename(tmpJson, path.join(folder, MODEL_JSON));
  } finally {
    await fs.rm(tmpWeights, { force: true });
    await fs.rm(tmpJson, { force: true });
  }
  if (await isCnfkitJson(folder, LEGACY_CONFIG)) await fs.rm(path.join(folder, LEGACY_CONFIG), { force: true });
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

/** Removes a temporary folder cnfkit made: its two model files, then the folder if nothing else is in it. */
async function removeOwnFolder(folder: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  await fs.rm(path.join(folder, WEIGHTS), { force: true });
  await fs.rm(path.join(folder, MODEL_JSON), { force: true });
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

/**
 * A regular file's bytes through one handle (fstat then read, so the file cannot change in between):
 * refused when it is not a regular file (a FIFO would hang, /dev/zero would never end), larger than
 * `max`, or not exactly `exact` bytes, before reading.
 */
async function readRegularFile(file: string, size: { max?: number; exact?: number }, fail: (problem: string) => Error, hint = ''): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  let handle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw fail(`cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})${hint ? `: ${hint}` : ''}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw fail('is not a regular file');
    if (size.max !== undefined && stat.size > size.max) throw fail(`is ${stat.size} bytes, more than it can be (${size.max})`);
    if (size.exact !== undefined && stat.size !== size.exact) throw fail(`holds ${stat.size} bytes, but the expected ${size.exact}`);
    const bytes = new Uint8Array(stat.size);
    let at = 0;
    while (at < bytes.length) {
      const { bytesRead } = await handle.read(bytes, at, bytes.length - at, at);
      if (bytesRead === 0) throw fail(`ended after ${at} of ${bytes.length} bytes (it changed while being read)`);
      at += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}
