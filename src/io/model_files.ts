/**
 * Model folders on disk: `config.json` and `weights.bin` (raw little-endian float32), written
 * atomically: both go to a fresh temporary folder that is renamed into place, so a crash never
 * leaves a half-written model. Node only (loaded with a dynamic import, so the library still runs
 * in a browser when these are not called).
 */

/** A saved model: its JSON config and named float32 weights with shapes. */
export interface ModelFiles {
  config: Record<string, unknown>;
  weights: { name: string; shape: number[]; values: Float32Array }[];
}

const FORMAT = 'cnfkit-model';
const VERSION = 1;

/** Writes `model` to the folder `dir`, replacing any model there only once the new one is complete. */
export async function writeModelFiles(dir: string, model: ModelFiles): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const parent = path.dirname(path.resolve(dir));
  await fs.mkdir(parent, { recursive: true });
  const tmp = await fs.mkdtemp(path.join(parent, `.${path.basename(dir)}.tmp-`));
  try {
    let offset = 0;
    const manifest = model.weights.map(({ name, shape, values }) => {
      const entry = { name, shape, offset, length: values.length };
      offset += values.length;
      return entry;
    });
    const all = new Float32Array(offset);
    model.weights.forEach(({ values }, i) => all.set(values, manifest[i].offset));
    await fs.writeFile(path.join(tmp, 'weights.bin'), new Uint8Array(all.buffer));
    const config = { format: FORMAT, version: VERSION, ...model.config, weights: manifest };
    await fs.writeFile(path.join(tmp, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    // Swap: the old folder (if any) moves aside, the new one moves in, the old one goes.
    const old = `${tmp}.old`;
    const hadOld = await fs.rename(dir, old).then(() => true, () => false);
    await fs.rename(tmp, dir);
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Reads a model folder written by {@link writeModelFiles}.
 * @throws Error naming the folder and the problem when files are missing, corrupt or mismatched
 */
export async function readModelFiles(dir: string): Promise<ModelFiles> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let config: Record<string, unknown> & { weights?: { name: string; shape: number[]; offset: number; length: number }[] };
  try {
    config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8'));
  } catch (e) {
    throw new Error(`${dir}: cannot read config.json (${(e as Error).message})`);
  }
  if (config.format !== FORMAT || config.version !== VERSION || !Array.isArray(config.weights)) {
    throw new Error(`${dir}: config.json is not a cnfkit model (format ${String(config.format)}, version ${String(config.version)})`);
  }
  const bytes = await fs.readFile(path.join(dir, 'weights.bin')).catch((e: Error) => {
    throw new Error(`${dir}: cannot read weights.bin (${e.message})`);
  });
  const total = config.weights.reduce((n, w) => n + w.length, 0);
  if (bytes.byteLength !== total * 4) {
    throw new Error(`${dir}: weights.bin holds ${bytes.byteLength} bytes, but config.json lists ${total * 4}`);
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const { weights, format: _f, version: _v, ...rest } = config;
  return { config: rest, weights: weights.map((w) => ({ name: w.name, shape: w.shape, values: all.slice(w.offset, w.offset + w.length) })) };
}
