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
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { CNF, tf, toyData } from '../src/index.js';
import { chromiumAvailable, launchChromium } from '../scripts/chromium.js';
import { copyTfjsWasm, serveFolder, type ServedFolder } from '../scripts/static_site.js';

const root = new URL('..', import.meta.url).pathname;
const available = chromiumAvailable('test/browser.test.ts');

const site = mkdtempSync(join(tmpdir(), 'cnfkit-page-'));
let served: ServedFolder | undefined;
afterAll(async () => {
  await served?.close();
  rmSync(site, { recursive: true, force: true });
});

describe.skipIf(!available)('cnfkit in headless Chromium', () => {
  it('bundles, loads tfjs wasm from wasmPaths, runs the kernels, solves, trains, and matches Node', async () => {
    await build({ entryPoints: [join(root, 'test/browser/page.ts')], bundle: true, platform: 'browser', format: 'esm', outfile: join(site, 'page.js'), logLevel: 'silent' });
    copyTfjsWasm(join(site, 'wasm'));
    const servedFlow = new CNF({ dim: 2, hiddenDims: [8], seed: 5 });
    await servedFlow.save(join(site, 'models', 'served'));
    const servedLogp = tf.tidy(() => Array.from(servedFlow.logProb(toyData('8gaussians', 5, 1)).dataSync()));
    servedFlow.dispose();
    writeFileSync(join(site, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="page.js"></script>');
    served = await serveFolder(site);
    const url = served.url;
    const browser = await launchChromium();
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
    expect(result.saveError).toMatch(/^CNF.save: 'runs\/x' is not a place a page can save to \(folders need Node's file system\); in a page save to indexeddb:\/\/name/);
    expect(result.servedLogp).toEqual(servedLogp);
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
