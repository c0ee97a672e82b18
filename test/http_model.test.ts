// Loading from http(s)://…/model.json: the server is untrusted. model.json is checked in full before
// any weight file is fetched, weight files must lie beside it, and every body is read under a cap.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNF, ModelFileError, tf } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'cnfkit-http-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** What the server answers per path, and which paths were asked for. */
let routes: Record<string, (response: ServerResponse) => void> = {};
const requested: string[] = [];
const server = createServer((request: IncomingMessage, response: ServerResponse) => {
  const path = new URL(request.url ?? '/', 'http://x').pathname;
  requested.push(path);
  (routes[path] ?? ((r) => r.writeHead(404).end()))(response);
});
let base = '';
let flow: CNF;
let modelJson: { modelTopology: { cnfkit: Record<string, unknown> }; weightsManifest: { paths: string[]; weights: unknown[] }[] };
let weights: Buffer;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  flow = new CNF({ dim: 2, hiddenDims: [6], seed: 3 });
  await flow.save(join(tmp, 'model'));
  modelJson = JSON.parse(readFileSync(join(tmp, 'model', 'model.json'), 'utf8'));
  weights = readFileSync(join(tmp, 'model', 'weights.bin'));
});
afterAll(() => {
  server.close();
  flow.dispose();
});

const send = (body: string | Buffer) => (r: ServerResponse) => r.writeHead(200).end(body);
/** Serves `json` as /m/model.json and the real weights as /m/weights.bin; returns the model URL. */
function serveModel(json: unknown, weightFiles: Record<string, (r: ServerResponse) => void> = { '/m/weights.bin': send(weights) }): string {
  routes = { '/m/model.json': send(JSON.stringify(json)), ...weightFiles };
  requested.length = 0;
  return `${base}/m/model.json`;
}
const logp = (f: CNF) => tf.tidy(() => Array.from(f.logProb(tf.tensor2d([[0.2, -0.4], [1, 1]])).dataSync()));

describe('CNF.load from http(s)://…/model.json', () => {
  it('loads a saved folder served over http to the same log-densities', async () => {
    const loaded = await CNF.load(serveModel(modelJson));
    expect(logp(loaded)).toEqual(logp(flow));
    expect(requested).toEqual(['/m/model.json', '/m/weights.bin']);
    loaded.dispose();
  });

  it('refuses a hostile model.json before fetching any weights', async () => {
    const hostile = structuredClone(modelJson);
    delete hostile.modelTopology.cnfkit.configChecksum;
    (hostile.modelTopology.cnfkit.options as { hiddenDims: number[] }).hiddenDims = [1e7, 1e7];
    const error = await CNF.load(serveModel(hostile)).catch((e) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(/model.json has options that make 1\.00e\+14 parameters, more than maxParameters/);
    expect(requested).toEqual(['/m/model.json']);
  });

  it.each([
    ['a parent folder', '../secret.bin'],
    ['an absolute path', '/secret.bin'],
    ['another server', 'http://169.254.169.254/latest/meta-data'],
    ['another scheme', 'file:///etc/passwd'],
  ])('refuses weight files in %s without fetching them', async (_name, path) => {
    const json = structuredClone(modelJson);
    json.weightsManifest[0].paths = [path];
    const error = await CNF.load(serveModel(json)).catch((e) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(/names a weight file .* outside its own folder; weight files must be relative paths beside model.json/);
    expect(requested).toEqual(['/m/model.json']);
  });

  it('weights split over two files (tf.io shards) load; a file that sends more than the model lists is cut off', async () => {
    const json = structuredClone(modelJson);
    json.weightsManifest[0].paths = ['shard1.bin', 'shard2.bin'];
    const half = 4 * Math.floor(weights.length / 8);
    const loaded = await CNF.load(serveModel(json, { '/m/shard1.bin': send(weights.subarray(0, half)), '/m/shard2.bin': send(weights.subarray(half)) }));
    expect(logp(loaded)).toEqual(logp(flow));
    loaded.dispose();
    const endless = (r: ServerResponse) => {
      r.writeHead(200); // no Content-Length: the body streams until the reader stops
      const timer = setInterval(() => r.write(Buffer.alloc(64 * 1024)), 1);
      r.on('close', () => clearInterval(timer));
    };
    const error = await CNF.load(serveModel(modelJson, { '/m/weights.bin': endless })).catch((e) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(new RegExp(`/m/weights.bin sent more than the weights .*model.json lists \\(${weights.length} bytes\\)`));
  });

  it('refuses a model.json whose Content-Length is beyond the cap, a short weights file, and a 404, naming the URL', async () => {
    routes = { '/m/model.json': (r) => r.writeHead(200, { 'content-length': String(2 ** 30) }).end() };
    const big = await CNF.load(`${base}/m/model.json`).catch((e) => e);
    expect(big.message).toMatch(/model.json is 1073741824 bytes \(Content-Length\), more than a model.json can be/);
    const short = await CNF.load(serveModel(modelJson, { '/m/weights.bin': send(weights.subarray(8)) })).catch((e) => e);
    expect(short.message).toMatch(new RegExp(`/m/weights.bin holds ${weights.length - 8} bytes, but .*model.json lists ${weights.length}`));
    const missing = await CNF.load(`${base}/nothing/model.json`).catch((e) => e);
    expect(missing).toBeInstanceOf(ModelFileError);
    expect(missing.message).toMatch(/^CNF.load: http:\/\/127.0.0.1:\d+\/nothing\/model.json cannot be fetched \(HTTP 404 Not Found\)/);
  });
});

describe('CNF.load over http: redirects, broken connections, aborts', () => {
  it.each([
    ['another folder of the same server', (r: ServerResponse) => r.writeHead(302, { location: '/private/weights.bin' }).end()],
    ['another server', (r: ServerResponse) => r.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data' }).end()],
  ])('follows no redirect of a weight file (to %s)', async (_name, redirect) => {
    const error = await CNF.load(serveModel(modelJson, { '/m/weights.bin': redirect, '/private/weights.bin': send(weights) })).catch((e) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(/\/m\/weights.bin redirects to .*; weight files must be served from beside model.json, and cnfkit follows no redirect for them/);
    expect(requested).toEqual(['/m/model.json', '/m/weights.bin']);
  });

  it('follows a redirect of model.json (the caller chose its URL); the weights still come from beside the URL asked for', async () => {
    routes = { '/old/model.json': (r) => r.writeHead(301, { location: '/m/model.json' }).end(), '/m/model.json': send(JSON.stringify(modelJson)), '/old/weights.bin': send(weights) };
    requested.length = 0;
    const loaded = await CNF.load(`${base}/old/model.json`);
    expect(logp(loaded)).toEqual(logp(flow));
    expect(requested).toEqual(['/old/model.json', '/m/model.json', '/old/weights.bin']);
    loaded.dispose();
  });

  it('names a weight file whose connection broke off mid-body', async () => {
    const broken = (r: ServerResponse) => {
      r.writeHead(200, { 'content-length': String(weights.length) });
      r.write(weights.subarray(0, 16), () => setTimeout(() => r.socket?.destroy(), 20));
    };
    const error = await CNF.load(serveModel(modelJson, { '/m/weights.bin': broken })).catch((e) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(/\/m\/weights.bin broke off after 16 bytes \(/);
  });

  it("stops at options.signal (a server that never answers would otherwise hold the load), and refuses a signal that is not one", async () => {
    const silent = () => {}; // never answers
    const started = performance.now();
    const error = await CNF.load(serveModel(modelJson, { '/m/weights.bin': silent }), { signal: AbortSignal.timeout(300) }).catch((e) => e);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(/\/m\/weights.bin cannot be fetched: the load was aborted \(.*timeout/i);
    const bad = await CNF.load(serveModel(modelJson), { signal: 300 as unknown as AbortSignal }).catch((e) => e);
    expect(bad.message).toMatch(/^CNF.load: 'options.signal' must be an AbortSignal/);
  });
});

describe('a model.json that names too many weight files', () => {
  it('more than one per weight and KiB is refused before any is fetched (4000 files for a model of a few hundred bytes)', async () => {
    const json = structuredClone(modelJson);
    json.weightsManifest[0].paths = Array.from({ length: 4000 }, (_, i) => `w${i}.bin`);
    const error = await CNF.load(serveModel(json)).catch((e) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(new RegExp(`names 4000 weight files for ${json.weightsManifest[0].weights.length} weights of ${weights.length} bytes in all; tf.io writes at most one file per weight and KiB`));
    expect(requested).toEqual(['/m/model.json']);
  });

  it('more than 4096 is refused before anything is fetched', async () => {
    const json = structuredClone(modelJson);
    json.weightsManifest[0].paths = Array.from({ length: 5000 }, (_, i) => `w${i}.bin`);
    const error = await CNF.load(serveModel(json)).catch((e) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error.message).toMatch(/names 5000 weight files, more than a model has \(4096/);
    expect(requested).toEqual(['/m/model.json']);
  });
});
