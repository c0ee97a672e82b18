/**
 * Loading from files a user picked in a page (`tf.io.browserFiles([jsonFile, ...weightFiles])`),
 * read by cnfkit rather than by the handler's own load(): that one hangs for ever on a picked file
 * that is not JSON (its JSON.parse throws inside a FileReader callback) and reads every file whole
 * before anything is checked. Here model.json's size is checked before it is read, the header in
 * full before any weight file is read, and the weight files' sizes before their bytes; messages name
 * the picked file.
 */
import { ModelFileError } from '../errors.js';
import { checkModelHeader, modelFromBytes, parseModelJson } from './model_artifacts.js';
import { MAX_CONFIG_BYTES, type ExpectedWeights, type ModelFiles } from './model_checks.js';

/** A picked file: a Blob with the name the user's file had. */
type PickedFile = Blob & { name?: string };

/** The files of a `tf.io.browserFiles` handler: model.json first, then the weight files. */
export interface PickedFiles {
  jsonFile: PickedFile;
  weightsFiles: PickedFile[];
}

/** Whether `handler` is tf.io.browserFiles's (it holds the picked files as `jsonFile` and `weightsFiles`). */
export function pickedFiles(handler: object): PickedFiles | undefined {
  if (typeof Blob === 'undefined') return undefined;
  const { jsonFile, weightsFiles } = handler as Partial<PickedFiles>;
  if (!(jsonFile instanceof Blob) || !Array.isArray(weightsFiles) || !weightsFiles.every((f) => f instanceof Blob)) return undefined;
  return { jsonFile, weightsFiles };
}

/** How messages name a picked file. */
function describe(file: PickedFile): string {
  return `picked file '${file.name ?? 'unnamed'}'`;
}

/**
 * Reads and checks the model in `files`.
 * @param expect - the weights the config's options make, or why they cannot be made
 * @throws ModelFileError naming the picked file and the problem
 */
export async function loadPickedFiles(fn: string, files: PickedFiles, expect?: (config: Record<string, unknown>) => ExpectedWeights): Promise<ModelFiles> {
  const { jsonFile, weightsFiles } = files;
  const json = describe(jsonFile);
  const fail = (where: string, problem: string) => new ModelFileError(fn, where, problem);
  const order = 'tf.io.browserFiles takes model.json first, then the weight files';
  if (jsonFile.size > MAX_CONFIG_BYTES) throw fail(json, `is ${jsonFile.size} bytes, more than a model.json can be (${MAX_CONFIG_BYTES} bytes); ${order}`);
  const text = await readPicked(jsonFile, (file) => file.text(), fail);
  const parts = parseModelJson(text, (problem) => fail(json, `${problem}; ${order}`));
  const header = checkModelHeader(parts.topology, parts.groups.flatMap((g) => g.specs), expect, (problem) => fail(json, problem));
  const chosen = matchWeightFiles(parts.groups.flatMap((g) => g.paths), weightsFiles, (problem) => fail(json, problem));
  const size = chosen.reduce((n, f) => n + f.size, 0);
  const names = chosen.map(describe).join(', ');
  if (size !== header.bytes) throw fail(names, `${chosen.length === 1 ? 'holds' : 'hold'} ${size} bytes, but ${json} lists ${header.bytes}`);
  const bytes = new Uint8Array(header.bytes);
  let at = 0;
  for (const file of chosen) {
    const part = new Uint8Array(await readPicked(file, (f) => f.arrayBuffer(), fail));
    if (part.length !== file.size || at + part.length > bytes.length) throw fail(describe(file), 'changed while it was read');
    bytes.set(part, at);
    at += part.length;
  }
  return modelFromBytes(header, bytes, (problem) => fail(chosen.length === 1 ? describe(chosen[0]) : json, problem.replace('the config', json)));
}

/**
 * The picked file for each weight path model.json names, in its order: by file name, as tf.io
 * matches them; or, when model.json names one file and one was picked, that one whatever its name
 * (a browser saves a second download as 'weights (1).bin'; its size and checksum are checked anyway).
 */
function matchWeightFiles(paths: string[], picked: PickedFile[], fail: (problem: string) => Error): PickedFile[] {
  const list = picked.map((f) => `'${f.name ?? 'unnamed'}'`).join(', ') || 'none';
  if (paths.length === 1 && picked.length === 1) return picked;
  return paths.map((path) => {
    const name = path.split('/').pop();
    const matches = picked.filter((f) => f.name === name);
    if (matches.length !== 1) throw fail(`names the weight file '${name}', but ${matches.length === 0 ? 'it was not' : 'more than one file of that name was'} picked (picked beside model.json: ${list})`);
    return matches[0];
  });
}

/** `read(file)`, with a failure (a file removed or unreadable since it was picked) named. */
async function readPicked<T>(file: PickedFile, read: (file: PickedFile) => Promise<T>, fail: (where: string, problem: string) => Error): Promise<T> {
  try {
    return await read(file);
  } catch (e) {
    throw fail(describe(file), `cannot be read (${(e as Error)?.message ?? String(e)})`);
  }
}
