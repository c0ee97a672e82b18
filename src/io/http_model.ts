/**
 * Loading a model from `http(s)://…/model.json`, where the server is not trusted: model.json is read
 * under a size cap and checked in full (config, checksum, weight specs, the weights its options make)
 * before any weight file is fetched; the weight files must lie beside model.json on the same server
 * (no redirect is followed for them: it would take the fetch anywhere), there may be no more of them
 * than one per weight and KiB, and their bytes are counted as they arrive, so a server that sends
 * more (or a Content-Length that says more) is cut off at the size the config lists. Works wherever
 * `fetch` exists (pages, workers, Node 18+); an AbortSignal stops it.
 */
import { ModelFileError } from '../errors.js';
import { checkModelHeader, modelFromBytes, parseModelJson } from './model_artifacts.js';
import { MAX_CONFIG_BYTES, type ExpectedWeights, type ModelFiles } from './model_checks.js';

/** More weight files than any model has: a model.json naming more would make cnfkit fetch without end. */
const MAX_WEIGHT_FILES = 4096;
/**
 * Weight files beyond one per weight need this many bytes each (tf.io shards hold 4 MB): a 4 kB model
 * naming 4000 files is refused before 4000 requests.
 */
const MIN_BYTES_PER_EXTRA_FILE = 1024;

/** Whether `url` is an http(s) URL (loaded by {@link loadHttpModel}, not by tf.io's handler). */
export function isHttpUrl(url: string): boolean {
  return /^https?:\/\//i.test(url);
}

/**
 * Fetches and checks the model at `url` (its model.json), then its weights.
 * @param expect - the weights the config's options make, or why they cannot be made
 * @param signal - stops the fetches when it aborts (e.g. `AbortSignal.timeout(30_000)`)
 * @throws ModelFileError naming the URL (model.json or a weight file) and the problem
 */
export async function loadHttpModel(fn: string, url: string, expect?: (config: Record<string, unknown>) => ExpectedWeights, signal?: AbortSignal): Promise<ModelFiles> {
  const fail = (where: string, problem: string) => new ModelFileError(fn, where, problem);
  // model.json follows redirects: its URL is the caller's choice, and servers move files.
  const jsonBytes = await fetchBytes(url, { max: MAX_CONFIG_BYTES, why: 'a model.json can be' }, { signal, redirect: 'follow' }, (problem) => fail(url, problem));
  const json = parseModelJson(new TextDecoder().decode(jsonBytes), (problem) => fail(url, problem));
  const specs = json.groups.flatMap((g) => g.specs);
  const header = checkModelHeader(json.topology, specs, expect, (problem) => fail(url, problem));
  const paths = json.groups.flatMap((g) => g.paths);
  if (paths.length > MAX_WEIGHT_FILES) throw fail(url, `names ${paths.length} weight files, more than a model has (${MAX_WEIGHT_FILES}: tf.io shards of 4 MB hold 16 GB)`);
  const mostFiles = header.manifest.length + Math.ceil(header.bytes / MIN_BYTES_PER_EXTRA_FILE);
  if (paths.length > mostFiles) {
    throw fail(url, `names ${paths.length} weight files for ${header.manifest.length} weights of ${header.bytes} bytes in all; tf.io writes at most one file per weight and KiB (${mostFiles}), and cnfkit makes no more requests than that`);
  }
  const files = paths.map((path) => weightFileUrl(url, path, (problem) => fail(url, problem)));
  const bytes = new Uint8Array(header.bytes);
  let at = 0;
  for (const file of files) {
    const part = await fetchBytes(file, { max: header.bytes - at, why: `the weights ${url} lists` }, { signal, redirect: 'manual' }, (problem) => fail(file, problem));
    bytes.set(part, at);
    at += part.length;
  }
  if (at !== header.bytes) throw fail(files.join(', '), `${files.length === 1 ? 'holds' : 'hold'} ${at} bytes, but ${url} lists ${header.bytes}`);
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

/**
 * A response body read in full under a byte cap: the Content-Length first, then as it streams.
 * With `redirect: 'manual'` a redirect is refused (a page sees it as an opaque response, Node as 3xx).
 */
async function fetchBytes(url: string, size: { max: number; why: string }, init: { signal?: AbortSignal; redirect: 'follow' | 'manual' }, fail: (problem: string) => Error): Promise<Uint8Array> {
  const failed = (what: string, e: unknown) =>
    fail(init.signal?.aborted ? `${what}: the load was aborted (${describeReason(init.signal.reason)})` : `${what} (${describeReason(e)})`);
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw failed('cannot be fetched', e);
  }
  if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
    await response.body?.cancel().catch(() => {});
    const to = response.headers.get('location');
    throw fail(`redirects${to ? ` to ${to.slice(0, 200)}` : ''}; weight files must be served from beside model.json, and cnfkit follows no redirect for them (a model.json must not send its loader elsewhere)`);
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
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw failed(`broke off after ${total} bytes`, e);
    }
    const { done, value } = chunk;
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

/** An error's or abort reason's message, with its cause (Node's fetch says only "fetch failed"). */
function describeReason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message !== e.message ? `${e.message}: ${cause.message}` : e.message;
}
