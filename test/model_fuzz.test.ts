/**
 * A model file is untrusted input. Mutate a saved model's model.json and weights.bin at random
 * (seeded) and load each, from a folder and from an http server in turn (the same checks must hold
 * on both paths, and over http before the weights are fetched): every case must either load a flow
 * whose logProb equals the original's (an edit that changes nothing that matters, such as
 * re-indenting) or throw a CnfkitError, never another error type, never a hang, never a tensor left
 * behind or a large allocation.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNF, CnfkitError, tf } from '../src/index.js';
import { Rng } from '../src/random.js';

const CASES = 300;
const tmp = mkdtempSync(join(tmpdir(), 'cnfkit-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Serves `tmp` over http on 127.0.0.1, as a static file server would. */
const server = createServer((request, response) => {
  const file = join(tmp, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
  if (!file.startsWith(tmp) || !existsSync(file) || !statSync(file).isFile()) return void response.writeHead(404).end();
  response.writeHead(200).end(readFileSync(file));
});
let base = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => void server.close());

let original: CNF;
let configText: string;
let weightBytes: Buffer;
let expected: number[];
const probe = () => tf.tensor2d([[0.3, -1], [1.5, 0.2], [-2, 0.7]]);
beforeAll(async () => {
  original = new CNF({ dim: 2, hiddenDims: [6, 5], seed: 4 });
  await original.save(join(tmp, 'original'));
  configText = readFileSync(join(tmp, 'original', 'model.json'), 'utf8');
  weightBytes = readFileSync(join(tmp, 'original', 'weights.bin'));
  expected = tf.tidy(() => Array.from(original.logProb(probe()).dataSync()));
});
afterAll(() => original.dispose());

/** Values a hostile or careless edit puts in a field. */
const WEIRD: unknown[] = [0, -1, 1e7, 1e300, -0.5, 2.5, '', 'tanh', '__proto__', null, true, [], [1e7, 1e7], {}, { a: 1 }, [0], 'NaN'];

/** Every path (keys and indices) into a JSON value. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((k) => paths((value as Record<string | number, unknown>)[k], [...prefix, k]))];
}

/** A crafted model.json: the cnfkit config's own checksum removed, tf.io's specs made to agree with its manifest. */
function crafted(json: { modelTopology: { cnfkit: Record<string, unknown> }; weightsManifest: { weights: unknown }[] }): typeof json {
  const cnfkit = json.modelTopology?.cnfkit;
  if (cnfkit && typeof cnfkit === 'object') {
    delete cnfkit.configChecksum;
    if (Array.isArray(cnfkit.weights) && Array.isArray(json.weightsManifest) && json.weightsManifest[0]) {
      json.weightsManifest[0].weights = cnfkit.weights.map((w) => ({ name: w?.name, shape: w?.shape, dtype: 'float32' }));
    }
  }
  return json;
}

/**
 * One seeded mutation of (model.json text, weight bytes). `hostile`: the result is {@link crafted},
 * as a crafted file would be, so that the checks behind the config checksum are reached.
 */
function mutate(rng: Rng, hostile: boolean): { text: string; bytes: Buffer; what: string } {
  const result = mutateOnce(rng, hostile);
  if (!hostile) return result;
  try {
    return { ...result, text: JSON.stringify(crafted(JSON.parse(result.text))) };
  } catch {
    return result; // not JSON any more: the parser's case
  }
}

function mutateOnce(rng: Rng, hostile: boolean): { text: string; bytes: Buffer; what: string } {
  const pick = <T>(items: readonly T[]) => items[Math.floor(rng.uniform() * items.length)];
  const source = hostile ? JSON.stringify(crafted(JSON.parse(configText))) : configText;
  let text = source;
  const bytes = Buffer.from(weightBytes);
  const kind = pick(['json field', 'json field', 'json field', 'delete field', 'text bytes', 'weight bytes', 'truncate', 'extend', 'reindent'] as const);
  if (kind === 'json field' || kind === 'delete field') {
    const config = JSON.parse(source);
    const path = pick(paths(config).filter((p) => p.length > 0));
    let parent = config;
    for (const k of path.slice(0, -1)) parent = parent[k];
    const last = path[path.length - 1];
    if (kind === 'delete field') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else {
      parent[last] = pick(WEIRD);
    }
    text = JSON.stringify(config, null, 2);
    return { text, bytes, what: `${kind} ${path.join('.')}` };
  }
  if (kind === 'text bytes') {
    const chars = text.split('');
    for (let i = 0; i < 1 + Math.floor(rng.uniform() * 3); i++) chars[Math.floor(rng.uniform() * chars.length)] = String.fromCharCode(32 + Math.floor(rng.uniform() * 95));
    return { text: chars.join(''), bytes, what: kind };
  }
  if (kind === 'weight bytes') {
    const at = Math.floor(rng.uniform() * bytes.length);
    bytes[at] ^= 1 << Math.floor(rng.uniform() * 8);
    return { text, bytes, what: `${kind} ${at}` };
  }
  if (kind === 'truncate') return { text, bytes: bytes.subarray(0, Math.floor(rng.uniform() * bytes.length)), what: kind };
  if (kind === 'extend') return { text, bytes: Buffer.concat([bytes, Buffer.alloc(4 * (1 + Math.floor(rng.uniform() * 8)))]), what: kind };
  return { text: JSON.stringify(JSON.parse(source), null, Math.floor(rng.uniform() * 8)), bytes, what: kind };
}

describe('loading mutated model files', () => {
  it.each([
    ['corrupted (checksums in place): each loads the same flow or throws a CnfkitError', false],
    ['crafted (config checksum removed): each loads some flow or throws a CnfkitError', true],
  ] as const)(`${CASES} seeded mutations, %s, promptly, leaving nothing behind`, async (_name, hostile) => {
    const rng = new Rng(`model-fuzz:${hostile}`);
    const outcomes = { loaded: 0, refused: 0 };
    for (let i = 0; i < CASES; i++) {
      const { text, bytes, what } = mutate(rng, hostile);
      const dir = join(tmp, `case-${i}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'model.json'), text);
      writeFileSync(join(dir, 'weights.bin'), bytes);
      const source = i % 2 === 0 ? dir : `${base}/case-${i}/model.json`;
      const tensors = tf.memory().numTensors;
      const buffers = process.memoryUsage().arrayBuffers;
      const started = performance.now();
      let flow: CNF | undefined;
      try {
        flow = await CNF.load(source);
      } catch (e) {
        expect(e, `case ${i} (${what}, ${source}) threw ${(e as Error)?.name}: ${(e as Error)?.message}`).toBeInstanceOf(CnfkitError);
      }
      expect(performance.now() - started, `case ${i} (${what})`).toBeLessThan(2000);
      expect(process.memoryUsage().arrayBuffers - buffers, `case ${i} (${what}) allocated`).toBeLessThan(8 * 2 ** 20);
      if (flow) {
        const loaded = flow;
        const logp = tf.tidy(() => Array.from(loaded.logProb(probe()).dataSync()));
        if (!hostile) expect(logp, `case ${i} (${what}) loaded a different flow`).toEqual(expected);
        flow.dispose();
        outcomes.loaded++;
      } else {
        outcomes.refused++;
      }
      expect(tf.memory().numTensors, `case ${i} (${what}) left tensors`).toBe(tensors);
      rmSync(dir, { recursive: true });
    }
    // Both outcomes happen: the fuzzer reaches the checks and the harmless edits.
    expect(outcomes.loaded).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(CASES / 3);
  });
});
