// Models at URLs go through tf.io's handlers as model artifacts, with the same checks as folders.
// A memory:// router registered here stands in for indexeddb:// (test/browser.test.ts runs that one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNF, ModelFileError, tf } from '../src/index.js';

const stored = new Map<string, tf.io.ModelArtifacts>();
beforeAll(() => {
  const route = (url: string | string[]) => (typeof url === 'string' && url.startsWith('memory://') ? url : undefined);
  tf.io.registerSaveRouter((url) => {
    const key = route(url);
    const handler: tf.io.IOHandler = { save: async (a) => (stored.set(key!, a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }) };
    return key ? handler : (null as unknown as tf.io.IOHandler);
  });
  tf.io.registerLoadRouter((url) => {
    const key = route(url);
    const handler: tf.io.IOHandler = { load: async () => stored.get(key!) ?? Promise.reject(new Error(`nothing at ${key}`)) };
    return key ? handler : (null as unknown as tf.io.IOHandler);
  });
});

let flow: CNF;
beforeAll(() => void (flow = new CNF({ dim: 2, hiddenDims: [6], seed: 8 })));
afterAll(() => flow.dispose());
const logp = (f: CNF) => tf.tidy(() => Array.from(f.logProb(tf.tensor2d([[0.2, -0.4], [1, 1]])).dataSync()));

describe('saving to and loading from tf.io URLs', () => {
  it('round-trips through tf.io model artifacts: float32 weightSpecs, the cnfkit config in modelTopology', async () => {
    await flow.save('memory://a');
    const artifacts = stored.get('memory://a')!;
    expect(artifacts.weightSpecs!.map((s) => s.dtype)).toEqual(artifacts.weightSpecs!.map(() => 'float32'));
    expect((artifacts.modelTopology as { cnfkit: { format: string } }).cnfkit.format).toBe('cnfkit-model');
    const loaded = await CNF.load('memory://a');
    expect(logp(loaded)).toEqual(logp(flow));
    loaded.dispose();
  });

  it('refuses corrupt or hostile artifacts with the folder checks, naming the URL', async () => {
    await flow.save('memory://b');
    const good = stored.get('memory://b')!;
    const config = (good.modelTopology as { cnfkit: Record<string, unknown> }).cnfkit;
    const flipped = new Uint8Array((good.weightData as ArrayBuffer).slice(0));
    flipped[5] ^= 4;
    const cases: [tf.io.ModelArtifacts, RegExp][] = [
      [{ ...good, weightData: flipped.buffer }, /memory:\/\/c weights: does not match the checksum/],
      [{ ...good, weightData: new ArrayBuffer(8) }, /weights: hold 8 bytes, but the config lists \d+/],
      [{ ...good, modelTopology: { cnfkit: { ...config, options: { ...(config.options as object), hiddenDims: [1e7, 1e7] }, configChecksum: undefined } } }, /make 1\.00e\+14 parameters, more than maxParameters/],
      [{ ...good, modelTopology: { cnfkit: { ...config, options: { ...(config.options as object), rtol: 0.1 } } } }, /does not match its own checksum/],
      [{ ...good, modelTopology: { layers: [] } }, /is not a cnfkit model/],
      [{ ...good, weightData: 3e9 as never }, /weightData is not an ArrayBuffer/],
      [{ ...good, weightData: ['1e8'] as never }, /weightData is not an ArrayBuffer/],
    ];
    for (const [artifacts, message] of cases) {
      stored.set('memory://c', artifacts);
      const before = tf.memory().numTensors;
      const error = await CNF.load('memory://c').catch((e) => e);
      expect(error).toBeInstanceOf(ModelFileError);
      expect(error.message).toMatch(message);
      expect(tf.memory().numTensors).toBe(before);
    }
    const cyclic: Record<string, unknown> = { ...config, configChecksum: undefined };
    cyclic.self = cyclic;
    stored.set('memory://c', { ...good, modelTopology: { cnfkit: cyclic } });
    expect((await CNF.load('memory://c').catch((e) => e)).message).toMatch(/memory:\/\/c is malformed/);
    expect((await CNF.load('memory://nothing').catch((e) => e)).message).toMatch(/memory:\/\/nothing cannot be read \(nothing at memory:\/\/nothing\)/);
    expect((await flow.save('nowhere://x').catch((e) => e)).message).toMatch(/nowhere:\/\/x has no tf.io save handler here/);
  });

  it('saves through and loads from a tf.io handler the caller passes (withSaveHandler, fromMemory)', async () => {
    let saved: tf.io.ModelArtifacts | undefined;
    await flow.save(tf.io.withSaveHandler(async (artifacts) => ((saved = artifacts), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    expect(saved!.weightSpecs!.length).toBe(flow.namedVariables().length);
    const loaded = await CNF.load(tf.io.fromMemory(saved!));
    expect(logp(loaded)).toEqual(logp(flow));
    loaded.dispose();
    const renamed = { ...saved!, weightSpecs: saved!.weightSpecs!.map((w, i) => (i === 1 ? { ...w, name: 'other' } : w)) };
    expect((await CNF.load(tf.io.fromMemory(renamed)).catch((e) => e)).message).toMatch(/^CNF.load: the tf.io handler tf.io weight spec 1 is \{"name":"other"/);
    const failing = tf.io.withSaveHandler(async () => Promise.reject(new Error('disk full')));
    expect((await flow.save(failing).catch((e) => e)).message).toBe('CNF.save: the tf.io handler could not be written (disk full)');
    expect((await CNF.load(failing).catch((e) => e)).message).toMatch(/the tf.io handler has no load method \(it is a save-only tf.io handler\)/);
  });
});
