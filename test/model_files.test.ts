// Saving and loading model folders: never lose a file, say what is wrong with a target before writing,
// refuse a corrupt model naming the file and the weight (issue 12).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNF, ModelFileError, InputError, tf } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'cnfkit-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let flow: CNF;
beforeAll(() => {
  flow = new CNF({ dim: 2, hiddenDims: [4], seed: 7 });
});
afterAll(() => flow.dispose());

/** Every file under `dir` with its bytes, to show that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    out[path] = entry.isDirectory() ? '<dir>' : readFileSync(path).toString('base64');
  }
  return out;
}

/** What `promise` rejected with. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

async function sameLogProb(a: CNF, b: CNF): Promise<void> {
  const x = tf.tensor2d([[0.3, -1], [1.5, 0.2]]);
  const [pa, pb] = [a.logProb(x), b.logProb(x)];
  expect(Array.from(pa.dataSync())).toEqual(Array.from(pb.dataSync()));
  tf.dispose([x, pa, pb]);
}

describe('CNF.save never deletes a file it did not write', () => {
  it('refuses a folder holding other files and leaves every byte of it as it was', async () => {
    const dir = join(tmp, 'mixed');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'my notes');
    writeFileSync(join(dir, 'sub', 'data.csv'), '1,2\n');
    const before = snapshot(dir);
    const error = await rejection(flow.save(dir));
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(/holds files cnfkit did not write \('notes.txt', 'sub'\); nothing was changed.*overwrite: true/);
    expect(snapshot(dir)).toEqual(before);
  });

  it.each(['config.json', 'model.json'])('refuses a folder whose %s is not a cnfkit model (another tool\'s file)', async (name) => {
    const dir = join(tmp, `foreign-${name}`);
    mkdirSync(dir);
    writeFileSync(join(dir, name), '{"theme": "dark"}');
    const error = await rejection(flow.save(dir));
    expect(error.message).toMatch(/a model.json or config.json that is not a cnfkit model/);
    expect(readFileSync(join(dir, name), 'utf8')).toBe('{"theme": "dark"}');
  });

  it('with overwrite: true replaces only model.json and weights.bin, keeps the rest, and loads', async () => {
    const dir = join(tmp, 'overwrite');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    writeFileSync(join(dir, 'sub', 'a.txt'), 'and me');
    await flow.save(dir, { overwrite: true });
    await flow.save(dir, { overwrite: true });
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'notes.txt', 'sub', 'weights.bin']);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
    expect(readFileSync(join(dir, 'sub', 'a.txt'), 'utf8')).toBe('and me');
    const loaded = await CNF.load(dir);
    await sameLogProb(loaded, flow);
    loaded.dispose();
  });

  it('replaces a previous model whole: the new weights, no temporary folder left beside it, the folder mode kept', async () => {
    const parent = join(tmp, 'replace');
    const dir = join(parent, 'model');
    const other = new CNF({ dim: 2, hiddenDims: [4], seed: 99 });
    await other.save(dir);
    chmodSync(dir, 0o750);
    await flow.save(dir);
    other.dispose();
    expect(readdirSync(parent)).toEqual(['model']);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    expect(statSync(dir).mode & 0o777).toBe(0o750);
    const loaded = await CNF.load(dir);
    await sameLogProb(loaded, flow);
    loaded.dispose();
  });

  it('never renames the folder itself: a process working inside it keeps its directory', async () => {
    const dir = join(tmp, 'cwd-model');
    await flow.save(dir);
    const inode = statSync(dir).ino;
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await flow.save('.');
      writeFileSync('still-here.txt', 'x'); // ENOENT if the working directory had been swapped away
    } finally {
      process.chdir(cwd);
    }
    expect(statSync(dir).ino).toBe(inode);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'still-here.txt', 'weights.bin']);
  });

  it('saves through a symbolic link without replacing the link', async () => {
    const real = join(tmp, 'real-model');
    const link = join(tmp, 'latest');
    await flow.save(real);
    symlinkSync(real, link);
    await flow.save(link);
    expect(statSync(link, { throwIfNoEntry: true }).isDirectory()).toBe(true);
    expect(readdirSync(tmp)).toContain('latest');
    expect(execFileSync('readlink', [link]).toString().trim()).toBe(real);
  });

  it('creates new folders (and their parents) with the permissions of the user\'s umask, not 0700', async () => {
    const dir = join(tmp, 'fresh', 'deeper', 'model');
    await flow.save(dir);
    const reference = join(tmp, 'mode-reference');
    mkdirSync(reference);
    expect(statSync(dir).mode & 0o777).toBe(statSync(reference).mode & 0o777);
    expect(statSync(join(tmp, 'fresh')).mode & 0o777).toBe(statSync(reference).mode & 0o777);
  });
});

describe('CNF.save says what is wrong with a target before writing anything', () => {
  const cases: [string, () => string, RegExp][] = [
    ['a parent that is a file', () => join(tmp, 'a-file', 'model'), /cannot be created: .*a-file is a file, not a folder/],
    ['a target that is a file', () => join(tmp, 'a-file'), /a-file is a file, not a folder/],
    ['a folder in the proc filesystem', () => '/proc/self/cnfkit-model', /is inside the proc filesystem/],
    ['a new folder under /proc (Node\'s recursive mkdir hangs there)', () => '/proc/cnfkit/model', /is inside the proc filesystem/],
  ];
  it.each(cases)('%s: ModelFileError naming the path, within a second', async (_name, target, message) => {
    writeFileSync(join(tmp, 'a-file'), 'x');
    const started = performance.now();
    const error = await rejection(flow.save(target()));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/tmp-|cnfkit-tmp|\.old/); // no internal temporary names
  });

  it('an empty or non-string path is an InputError naming dir', async () => {
    for (const dir of ['', '   ', 42]) {
      const error = await rejection(flow.save(dir as string));
      expect(error).toBeInstanceOf(InputError);
      expect(error.message).toMatch(/^CNF.save: 'target' must be a folder path, a URL .* or a tf.io handler/);
    }
    expect((await rejection(flow.save(join(tmp, 'x'), { overwrite: 'yes' } as never))).message).toMatch(/'options' must be \{ overwrite\?: boolean \}/);
  });

  it('a read-only place: refused with the reason, nothing written', async () => {
    // As root, permission bits do not stop writes: use a read-only mount there, a 0555 folder otherwise.
    const place = join(tmp, 'read-only');
    mkdirSync(place);
    let unmount = () => {};
    if (process.getuid?.() === 0) {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', place], { stdio: 'ignore' });
        unmount = () => execFileSync('umount', [place]);
      } catch {
        return; // no mount in this sandbox, and root ignores 0555: nothing here is read-only
      }
    } else {
      chmodSync(place, 0o555);
    }
    try {
      const error = await rejection(flow.save(join(place, 'model')));
      expect(error).toBeInstanceOf(ModelFileError);
      expect(error.message).toMatch(/cannot be written: .*read-only(?: filesystem)?|not writable by this user/);
      expect(readdirSync(place)).toEqual([]);
    } finally {
      unmount();
    }
  });
});

describe('CNF.load refuses a broken model, naming the file and what is wrong', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(tmp, 'to-break');
    await flow.save(dir);
  });
  const modelJson = () => JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const weights = () => {
    const raw = readFileSync(join(dir, 'weights.bin'));
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  };
  /**
   * A copy of the model with `edit` applied to its cnfkit config (model.json's modelTopology.cnfkit).
   * Unless `keepConfigChecksum`, the config's own checksum is dropped first, as a tool that knows
   * nothing of it writes, and tf.io's weight specs are made to agree with the edited config, as a
   * crafted file would: the deeper checks must hold on their own.
   */
  const copy = (name: string, edit: (c: Record<string, unknown>, w: Float32Array) => void, keepConfigChecksum = false) => {
    const target = join(tmp, `broken-${name}`);
    const json = modelJson();
    const c = json.modelTopology.cnfkit;
    const w = weights();
    if (!keepConfigChecksum) delete c.configChecksum;
    edit(c, w);
    if (!keepConfigChecksum && Array.isArray(c.weights)) {
      json.weightsManifest[0].weights = c.weights.map((e: { name: string; shape: number[] }) => ({ name: e?.name, shape: e?.shape, dtype: 'float32' }));
    }
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, 'model.json'), JSON.stringify(json));
    writeFileSync(join(target, 'weights.bin'), new Uint8Array(w.buffer));
    return target;
  };

  const cases: [string, (c: Record<string, unknown>, w: Float32Array) => void, RegExp][] = [
    ['NaN in a weight (same size, checksum recomputed by a careless tool)', (c, w) => ((w[5] = NaN), delete c.checksum), /weights.bin holds a non-finite value \(NaN\) in weight 'block0.layer0.W' at element 5/],
    ['Inf in a weight', (c, w) => ((w[w.length - 2] = Infinity), delete c.checksum), /weights.bin holds a non-finite value \(Infinity\) in weight 'block0\.layer1\.\w+'/],
    ['a flipped value (silent corruption)', (_c, w) => (w[3] += 1), /weights.bin does not match the checksum in model.json/],
    ['a negative offset', (c) => ((c.weights as { offset: number }[])[1].offset = -4), /model.json weights\[1\].offset \('block0.layer0.b'\) is -4, but the weights before it end at 8/],
    ['a length that does not fit the shape', (c) => ((c.weights as { length: number }[])[0].length = 3), /weights\[0\].length \('block0.layer0.W'\) is 3, but its shape \[2,4\] holds 8 values/],
    ['another format', (c) => (c.format = 'keras'), /model.json is not a cnfkit model \(format "keras"/],
    ['hostile hiddenDims [1e7, 1e7] (terabytes if built)', (c) => ((c.options as { hiddenDims: number[] }).hiddenDims = [1e7, 1e7]), /model.json has options that make 1\.00e\+14 parameters, more than maxParameters = 100000000/],
    ['hostile dim 1e6 (under the cap: the manifest does not fit it)', (c) => ((c.options as { dim: number }).dim = 1e6), /weights\[0\] is 'block0.layer0.W' \[2,4\], but its options make 'block0.layer0.W' \[1000000,4\] there/],
    ['a weight renamed', (c) => ((c.weights as { name: string }[])[2].name = 'block0.layer0.other'), /weights\[2\] is 'block0.layer0.other' \[1,4\], but its options make 'block0.layer0.gateW' \[1,4\] there/],
    ['options that make other shapes', (c) => ((c.options as { hiddenDims: number[] }).hiddenDims = [5]), /weights\[0\] is 'block0.layer0.W' \[2,4\], but its options make 'block0.layer0.W' \[2,5\] there/],
    ['an unknown option', (c) => ((c.options as Record<string, unknown>).__proto__x = 1), /has options that make no flow: new CNF: 'options.__proto__x' is not an option/],
    ['a checkpoint, not a CNF', (c) => (c.kind = 'checkpoint'), /holds a "checkpoint", not a CNF/],
    ['ten million blocks of a tiny network (many tensors, few parameters)', (c) => Object.assign(c.options as object, { blocks: 1e7, hiddenDims: [] }), /more than maxParameters|more than 100000 weight tensors/],
    ['a dim whose toString is not a function', (c) => ((c.options as { dim: unknown }).dim = { toString: 1 }), /has options that make no flow/],
    ['a length whose toString is not a function', (c) => ((c.weights as { length: unknown }[])[0].length = { toString: 1 }), /weights\[0\].length \('block0.layer0.W'\) is \{"toString":1\}/],
  ];
  it('an edited option (rtol) with the config checksum in place: refused, the edit named as such', async () => {
    const error = await rejection(CNF.load(copy('edited', (c) => ((c.options as { rtol: number }).rtol = 1e-3), true)));
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(/model.json does not match its own checksum \(configChecksum\): it was edited or is corrupt/);
  });
  it('re-indenting model.json changes nothing that matters: it loads', async () => {
    const target = copy('reindented', () => {}, true);
    writeFileSync(join(target, 'model.json'), JSON.stringify(JSON.parse(readFileSync(join(target, 'model.json'), 'utf8')), null, 7));
    const loaded = await CNF.load(target);
    await sameLogProb(loaded, flow);
    loaded.dispose();
  });
  it('refuses a hostile size before allocating: fast, and no tensor made', async () => {
    const target = copy('huge', (c) => ((c.options as { hiddenDims: number[] }).hiddenDims = [1e7, 1e7]));
    const before = tf.memory().numTensors;
    const started = performance.now();
    await rejection(CNF.load(target));
    expect(performance.now() - started).toBeLessThan(500);
    expect(tf.memory().numTensors).toBe(before);
    // A real big model is a raised cap away: the cap is checked, not the file's size alone.
    expect((await rejection(CNF.load(target, { maxParameters: 1e15 }))).message).toMatch(/model.json lists 11 weights, but its options make 16/);
  });
  it.each(cases)('%s', async (name, edit, message) => {
    const error = await rejection(CNF.load(copy(name.split(' ')[0], edit)));
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(/^CNF.load: /);
    expect(error.message).toMatch(message);
  });

  it('a missing folder, a file instead of a folder, a folder without model.json, garbage JSON', async () => {
    writeFileSync(join(tmp, 'plain-file'), 'x');
    mkdirSync(join(tmp, 'empty-folder'), { recursive: true });
    const garbage = join(tmp, 'garbage');
    mkdirSync(garbage, { recursive: true });
    writeFileSync(join(garbage, 'model.json'), '{"format": "cnfkit-model", ');
    const expectations: [string, RegExp][] = [
      [join(tmp, 'nothing-here'), /nothing-here does not exist/],
      [join(tmp, 'plain-file'), /plain-file is a file, not a model folder/],
      [join(tmp, 'empty-folder'), /empty-folder\/model.json cannot be read \(ENOENT\): is this a cnfkit model folder\?/],
      [garbage, /garbage\/model.json is not valid JSON/],
    ];
    for (const [path, message] of expectations) {
      const error = await rejection(CNF.load(path));
      expect(error).toBeInstanceOf(ModelFileError);
      expect(error.message).toMatch(message);
    }
  });

  it('model.json that is /dev/zero or a FIFO: refused at once, not read forever', async () => {
    for (const [name, make] of [
      ['zero', (file: string) => symlinkSync('/dev/zero', file)],
      ['fifo', (file: string) => execFileSync('mkfifo', [file])],
    ] as const) {
      const target = join(tmp, `special-${name}`);
      mkdirSync(target, { recursive: true });
      make(join(target, 'model.json'));
      const started = performance.now();
      const error = await rejection(CNF.load(target));
      expect(performance.now() - started).toBeLessThan(1000);
      expect(error).toBeInstanceOf(ModelFileError);
      expect(error.message).toMatch(/model.json is not a regular file/);
    }
  });

  it('a model saved before checksums existed still loads', async () => {
    const old = copy('no-checksum', (c) => delete c.checksum);
    const loaded = await CNF.load(old);
    await sameLogProb(loaded, flow);
    loaded.dispose();
  });
});

describe('the folder format is tf.io\'s model.json + weights.bin; cnfkit 0.2 folders still load', () => {
  it('tf.io reads the weights of a saved folder: model.json\'s manifest decodes weights.bin into the flow\'s variables', async () => {
    const dir = join(tmp, 'tfio-readable');
    await flow.save(dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    expect(json.format).toBe('cnfkit-model');
    expect(json.weightsManifest.map((g) => g.paths)).toEqual([['weights.bin']]);
    const raw = readFileSync(join(dir, 'weights.bin'));
    const decoded = tf.io.decodeWeights(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength), json.weightsManifest[0].weights);
    const variables = flow.namedVariables();
    expect(Object.keys(decoded)).toEqual(variables.map(([name]) => name));
    for (const [name, v] of variables) expect(Array.from(decoded[name].dataSync())).toEqual(Array.from(v.dataSync()));
    tf.dispose(Object.values(decoded));
  });

  it('saves to and loads from a file:// URL', async () => {
    const url = new URL(`file://${join(tmp, 'by-url', 'model')}`).href;
    await flow.save(url);
    expect(readdirSync(join(tmp, 'by-url', 'model')).sort()).toEqual(['model.json', 'weights.bin']);
    const loaded = await CNF.load(url);
    await sameLogProb(loaded, flow);
    loaded.dispose();
  });

  it('loads a folder saved by cnfkit 0.2 (config.json) to the same log-densities, and saving over it leaves model.json alone', async () => {
    const fixture = join(import.meta.dirname, 'fixtures', 'model-0.2');
    const { points, logp } = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'model-0.2.json'), 'utf8'));
    const old = await CNF.load(fixture);
    const x = tf.tensor2d(points);
    expect(Array.from(old.logProb(x).dataSync())).toEqual(logp);
    const dir = join(tmp, 'upgraded');
    mkdirSync(dir);
    for (const f of ['config.json', 'weights.bin']) writeFileSync(join(dir, f), readFileSync(join(fixture, f)));
    await old.save(dir);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const again = await CNF.load(dir);
    expect(Array.from(again.logProb(x).dataSync())).toEqual(logp);
    tf.dispose(x);
    old.dispose();
    again.dispose();
  });

  it('refuses a model.json whose manifest names other files, or whose tf.io specs disagree with the cnfkit config', async () => {
    const dir = join(tmp, 'manifest-source');
    await flow.save(dir);
    const good = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const cases: [string, (j: { weightsManifest: { paths: string[]; weights: { name: string; dtype: string }[] }[] }) => void, RegExp][] = [
      ['escape', (j) => (j.weightsManifest[0].paths = ['../../etc/passwd']), /must list one weight file, weights.bin, in its weightsManifest .* but lists \[\["..\/..\/etc\/passwd"\]\]/],
      ['two-files', (j) => (j.weightsManifest[0].paths = ['weights.bin', 'more.bin']), /must list one weight file, weights.bin/],
      ['dtype', (j) => (j.weightsManifest[0].weights[0].dtype = 'int32'), /tf.io weight spec 0 is .*"dtype":"int32".*, but the cnfkit config lists 'block0.layer0.W' \[2,4\] float32 there/],
      ['renamed-spec', (j) => (j.weightsManifest[0].weights[1].name = 'x'), /tf.io weight spec 1 is \{"name":"x"/],
      ['no-manifest', (j) => delete (j as { weightsManifest?: unknown }).weightsManifest, /has no 'weightsManifest' array/],
    ];
    for (const [name, edit, message] of cases) {
      const target = join(tmp, `manifest-${name}`);
      mkdirSync(target);
      const j = structuredClone(good);
      edit(j);
      writeFileSync(join(target, 'model.json'), JSON.stringify(j));
      writeFileSync(join(target, 'weights.bin'), readFileSync(join(dir, 'weights.bin')));
      const error = await rejection(CNF.load(target));
      expect(error).toBeInstanceOf(ModelFileError);
      expect(error.message).toMatch(new RegExp(`^CNF.load: .*manifest-${name}/model.json `));
      expect(error.message).toMatch(message);
    }
  });
});

describe('files saved by earlier builds', () => {
  it('a stepSize saved beside an adaptive method (ignored then, refused by new CNF now) loads and is dropped', async () => {
    const { configChecksum } = await import('../src/io/model_checks.js');
    const dir = join(tmp, 'old-step-size');
    const flow = new CNF({ dim: 2, hiddenDims: [4], seed: 3 });
    await flow.save(dir);
    const file = join(dir, 'model.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const config = json.modelTopology.cnfkit;
    config.options.stepSize = 0.1;
    config.configChecksum = configChecksum(config);
    writeFileSync(file, JSON.stringify(json));
    const loaded = await CNF.load(dir);
    expect(loaded.options.stepSize).toBeUndefined();
    const x = tf.tensor2d([[0.1, -0.3], [1, 2]]);
    expect(Array.from(tf.tidy(() => loaded.logProb(x).dataSync()))).toEqual(Array.from(tf.tidy(() => flow.logProb(x).dataSync())));
    tf.dispose(x);
    flow.dispose();
    loaded.dispose();
  });
});
