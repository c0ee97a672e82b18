/**
 * A page that does not serve tfjs's wasm files (the most common set-up mistake with a bundler):
 * cnfkit falls back to the cpu backend, and its console line names the exact URL tried, what the
 * server answered, and how to serve the files. Run in headless Chromium; skipped like
 * test/browser.test.ts where there is none.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../scripts/chromium.js';
import { serveFolder, type ServedFolder } from '../scripts/static_site.js';

const available = chromiumAvailable('test/browser_wasm_missing.test.ts');
const site = mkdtempSync(join(tmpdir(), 'cnfkit-nowasm-'));
let served: ServedFolder | undefined;
afterAll(async () => {
  await served?.close();
  rmSync(site, { recursive: true, force: true });
});

describe.skipIf(!available)('a page without tfjs\'s wasm files', () => {
  it.each([
    ['wasmPaths pointing at a folder that is not served', '?wasmPaths=/wasm-missing/', /\/wasm-missing\/tfjs-backend-wasm-(threaded-)?simd\.wasm: HTTP 404 Not Found/],
    ['no wasmPaths at all', '', /\/tfjs-backend-wasm-(threaded-)?simd\.wasm \(no wasmPaths given to ready\(\), so tfjs looked beside the page\): HTTP 404/],
  ])('%s: cpu, and one console line naming the file and how to serve it', async (_name, query, missing) => {
    const here = new URL('.', import.meta.url).pathname;
    await build({ entryPoints: [join(here, 'browser/missing_wasm_page.ts')], bundle: true, platform: 'browser', format: 'esm', outfile: join(site, 'page.js'), logLevel: 'silent' });
    writeFileSync(join(site, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="page.js"></script>');
    served ??= await serveFolder(site);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const warnings: string[] = [];
      page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
      await page.goto(served.url + query);
      await page.waitForFunction(() => (window as unknown as { cnfkitResult?: unknown }).cnfkitResult !== undefined, undefined, { timeout: 60_000 });
      const result = (await page.evaluate(() => (window as unknown as { cnfkitResult: unknown }).cnfkitResult)) as Record<string, string>;
      expect(result.backend).toBe('cpu');
      expect(result.reason).toMatch(missing);
      const line = warnings.find((w) => w.startsWith('cnfkit: '));
      expect(line, warnings.join('\n')).toMatch(missing);
      expect(line).toMatch(/copy tfjs-backend-wasm.wasm, tfjs-backend-wasm-simd.wasm, tfjs-backend-wasm-threaded-simd.wasm from node_modules\/@tensorflow\/tfjs-backend-wasm\/dist\/ .* ready\(\{ wasmPaths: '\/that-folder\/' \}\); fell back to the pure-JS cpu backend/);
    } finally {
      await browser.close();
    }
  }, 90_000);
});
