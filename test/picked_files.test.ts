// Files a user picked in a page (tf.io.browserFiles): cnfkit reads them itself, since the handler's
// own load() hangs for ever on a picked file that is not JSON. Node 20's File stands in for a page's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNF, ModelFileError, tf } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'cnfkit-picked-'));
let flow: CNF;
let json: string;
let weights: Buffer;
beforeAll(async () => {
  flow = new CNF({ dim: 2, hiddenDims: [6], seed: 4 });
  await flow.save(join(tmp, 'model'));
  json = readFileSync(join(tmp, 'model', 'model.json'), 'utf8');
  weights = readFileSync(join(tmp, 'model', 'weights.bin'));
});
afterAll(() => {
  flow.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const file = (body: string | Buffer, name: string) => new File([typeof body === 'string' ? body : new Uint8Array(body)], name);
const logp = (f: CNF) => tf.tidy(() => Array.from(f.logProb(tf.tensor2d([[0.2, -0.4], [1, 1]])).dataSync()));
const failure = (files: File[]) => CNF.load(tf.io.browserFiles(files)).catch((e) => e);

describe('CNF.load(tf.io.browserFiles([...]))', () => {
  it("loads picked files to the same log-densities, also under a browser's second-download names", async () => {
    for (const names of [['model.json', 'weights.bin'], ['model (1).json', 'weights (1).bin']]) {
      const loaded = await CNF.load(tf.io.browserFiles([file(json, names[0]), file(weights, names[1])]));
      expect(logp(loaded)).toEqual(logp(flow));
      loaded.dispose();
    }
  });

  it('says at once what is wrong with a picked file that is not model.json (tf.io hangs), naming it', async () => {
    const swapped = await failure([file(weights, 'weights.bin'), file(json, 'model.json')]);
    expect(swapped).toBeInstanceOf(ModelFileError);
    expect(swapped.message).toMatch(/^CNF.load: picked file 'weights.bin' is not valid JSON .*; tf.io.browserFiles takes model.json first, then the weight files/);
    const other = await failure([file('{"a": 1}', 'other.json'), file(weights, 'weights.bin')]);
    expect(other.message).toMatch(/^CNF.load: picked file 'other.json' /);
  });

  it('checks sizes before reading: a truncated or wrong weights file, a missing one, a huge "model.json"', async () => {
    const short = await failure([file(json, 'model.json'), file(weights.subarray(4), 'weights.bin')]);
    expect(short.message).toMatch(new RegExp(`^CNF.load: picked file 'weights.bin' holds ${weights.length - 4} bytes, but picked file 'model.json' lists ${weights.length}`));
    const none = await failure([file(json, 'model.json')]);
    expect(none.message).toMatch(/names the weight file 'weights.bin', but it was not picked \(picked beside model.json: none\)/);
    const two = await failure([file(json, 'model.json'), file(weights, 'a.bin'), file(weights, 'b.bin')]);
    expect(two.message).toMatch(/names the weight file 'weights.bin', but it was not picked \(picked beside model.json: 'a.bin', 'b.bin'\)/);
    const huge = await failure([new File([new Uint8Array(65 * 2 ** 20)], 'model.json'), file(weights, 'weights.bin')]);
    expect(huge.message).toMatch(/^CNF.load: picked file 'model.json' is 68157440 bytes, more than a model.json can be/);
  });

  it('a weights file of the right size but other bytes fails the checksum, naming the file', async () => {
    const flipped = Buffer.from(weights);
    flipped[0] ^= 1;
    const error = await failure([file(json, 'model.json'), file(flipped, 'weights.bin')]);
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(/^CNF.load: picked file 'weights.bin' .*checksum/);
  });
});
