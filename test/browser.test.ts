/**
 * cnfkit in a web page, for real: the library bundled for the browser by esbuild, served on
 * 127.0.0.1 with tfjs's wasm files, run in headless Chromium (Debian's package, driven by
 * playwright-core). It must run on the wasm backend with cnfkit's kernels, solve an ODE, train a flow
 * and give the log-densities Node gives, save to and load from IndexedDB, and refuse model folders
 * clearly.
 *
 * Skipped, with a note, where no Chromium is installed, unless CNFKIT_REQUIRE_BROWSER=1 (CI sets it
 * after installing Chromium, so that there it cannot be skipped).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CNF, tf, toyData } from '../src/index.js';

const root = new URL('..', import.meta.url).pathname;
const executable = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(executable);
if (!available && process.env.CNFKIT_REQUIRE_BROWSER === '1') throw new Error(`CNFKIT_REQUIRE_BROWSER=1, but there is no Chromium at ${executable}`);
if (!available) console.warn(`test/browser.test.ts: no Chromium at ${executable}; the browser test is skipped (set CHROMIUM_PATH, or install Debian's chromium)`);

const site = mkdtempSync(join(tmpdir(), 'cnfkit-page-'));
let server: Server | undefined;
afterAll(() => {
  server?.close();
  rmSync(site, { recursive: true, force: true });
});

/** Serves `site` on 127.0.0.1 (a random port): the page, the bundle and tfjs's wasm files. */
async function serve(): Promise<string> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  server = createServer((request, response) => {
    const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const file = join(site, pathname === '/' ? 'index.html' : pathname);
    if (!file.startsWith(site) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': types[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return `http://127.0.0.1:${address.port}/`;
}

describe.skipIf(!available)('cnfkit in headless Chromium', () => {
  it('bundles, loads tfjs wasm from wasmPaths, runs the kernels, solves, trains, and matches Node', async () => {
    await build({ entryPoints: [join(root, 'test/browser/page.ts')], bundle: true, platform: 'browser', format: 'esm', outfile: join(site, 'page.js'), logLevel: 'silent' });
    const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
    rmSync(join(site, 'wasm'), { recursive: true, force: true });
    mkdirSync(join(site, 'wasm'));
    for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) writeFileSync(join(site, 'wasm', f), readFileSync(join(wasmDir, f)));
    writeFileSync(join(site, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="page.js"></script>');
    const url = await serve();
    const browser = await chromium.launch({
      executablePath: executable,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    let result: Record<string, unknown>;
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(url);
      await page.waitForFunction(() => (window as unknown as { cnfkitResult?: unknown }).cnfkitResult !== undefined, undefined, { timeout: 90_000 });
      result = (await page.evaluate(() => (window as unknown as { cnfkitResult: unknown }).cnfkitResult)) as Record<string, unknown>;
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
    expect(result.error).toBeUndefined();
    expect(result.backend).toBe('wasm');
    expect(result.simd).toBe(true);
    expect(result.kernels).toBe('in use');
    expect(result.y1 as number).toBeCloseTo(Math.exp(-1), 5);
    expect(result.saveError).toMatch(/^CNF.save: 'runs\/x' is a folder, and folders need Node's file system; in a page save to indexeddb:\/\/name/);
    expect(result.reloaded).toEqual(result.logp);
    expect(result.missing).toMatch(/^ModelFileError: CNF.load: indexeddb:\/\/no-such-model cannot be read/);

    // The same training in Node: the same seeds, the same kernels, so the same numbers.
    const flow = new CNF({ dim: 2, hiddenDims: [16, 16], seed: 1 });
    const data = toyData('8gaussians', 2000, 0);
    const report = await flow.fit(data, { iterations: 40, objective: 'flow-matching', batchSize: 100 });
    const logp = tf.tidy(() => Array.from(flow.logProb(toyData('8gaussians', 5, 1)).dataSync()));
    (result.losses as number[]).forEach((l, i) => expect(Math.abs(l - report.history[i].loss)).toBeLessThan(1e-4 * Math.abs(l)));
    (result.logp as number[]).forEach((v, i) => expect(Math.abs(v - logp[i])).toBeLessThan(1e-4));
    tf.dispose(data);
    flow.dispose();
  }, 180_000);
});
