/**
 * Loading a model from `http(s)://…/model.json`, where the server is not trusted: model.json is read
 * under a size cap and checked in full (config, checksum, weight specs, the weights its options make)
 * before any weight file is fetched; the weight files must lie beside model.json on the same server,
 * and their bytes are counted as they arrive, so a server that sends more (or a Content-Length that
 * says more) is cut off at the size the config lists. Works wherever `fetch` exists (pages, workers,
 * Node 18+).
 */
import { ModelFileError } from '../errors.js';
import { checkModelHeader, modelFromBytes, parseModelJson } from './model_artifacts.js';
import { MAX_CONFIG_BYTES, type ExpectedWeights, type ModelFiles } from './model_checks.js';

/** More weight files than any model has: a model.json naming more would make cnfkit fetch without end. */
const MAX_WEIGHT_FILES = 4096;

/** Whether `url` is an http(s) URL (loaded by {@link loadHttpModel}, not by tf.io's handler). */
export function isHttpUrl(url: string): boolean {
  return /^https?:\/\//i.test(url);
}

/**
 * Fetches and checks the model at `url` (its model.json), then its weights.
 * @param expect - the weights the config's options make, or why they cannot be made
 * @throws ModelFileError naming the URL (model.json or a weight file) and the problem
 */
export async function loadHttpModel(fn: string, url: string, expect?: (config: Record<string, unknown>) => ExpectedWeights): Promise<ModelFiles> {
  const fail = (where: string, problem: string) => new ModelFileError(fn, where, problem);
  const jsonBytes = await fetchBytes(url, { max: MAX_CONFIG_BYTES, why: 'a model.json can be' }, (problem) => fail(url, problem));
  const json = parseModelJson(new TextDecoder().decode(jsonBytes), (problem) => fail(url, problem));
  const specs = json.groups.flatMap((g) => g.specs);
  const header = checkModelHeader(json.topology, specs, expect, (problem) => fail(url, problem));
  const paths = json.groups.flatMap((g) => g.paths);
  if (paths.length > MAX_WEIGHT_FILES) throw fail(url, `names ${paths.length} weight files, more than a model has (${MAX_WEIGHT_FILES}: tf.io shards of 4 MB hold 16 GB)`);
  const files = paths.map((path) => weightFileUrl(url, path, (problem) => fail(url, problem)));
  const bytes = new Uint8Array(header.bytes);
  let at = 0;
  for (const file of files) {
    const part = await fetchBytes(file, { max: header.bytes - at, why: `the weights ${url} lists` }, (problem) => fail(file, problem));
    bytes.set(part, at);
    at += part.length;
  }
  if (at !== header.bytes) throw fail(files.join(', '), `hold ${at} bytes, but ${url} lists ${header.bytes}`);
  return modelFromBytes(header, bytes, (problem) => fail(files.length === 1 ? files[0] : url, problem.replace('the config', url)));
}

/**
 * The URL of a weight file named in model.json: relative to model.json and inside its folder on the
 * same server (a hostile model.json must not make cnfkit fetch from anywhere else).
 */
function weightFileUrl(modelUrl: string, path: string, fail: (problem: string) => Error): string {
  const folder = new URL('.', modelUrl);
  let file: URL;
  try {
    file = new URL(path, modelUrl);
  } catch {
    throw fail(`names a weight file ${JSON.stringify(path.slice(0, 80))} that is not a URL path`);
  }
  if (/^[a-z][a-z0-9+.-]*:|^\/|\\/i.test(path) || file.origin !== folder.origin || !file.pathname.startsWith(folder.pathname)) {
    throw fail(`names a weight file ${JSON.stringify(path.slice(0, 80))} outside its own folder; weight files must be relative paths beside model.json`);
  }
  return file.href;
}

/** A response body read in full under a byte cap: the Content-Length first, then as it streams. */
async function fetchBytes(url: string, size: { max: number; why: string }, fail: (problem: string) => Error): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw fail(`cannot be fetched (${(e as Error)?.message ?? String(e)})`);
  }
  if (!response.ok) throw fail(`cannot be fetched (HTTP ${response.status} ${response.statusText})`);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > size.max) {
    await response.body?.cancel().catch(() => {});
    throw fail(`is ${declared} bytes (Content-Length), more than ${size.why} (${size.max} bytes)`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > size.max) {
      await reader.cancel().catch(() => {});
      throw fail(`sent more than ${size.why} (${size.max} bytes)`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}
