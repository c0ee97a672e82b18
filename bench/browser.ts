/**
 * cnfkit in headless Chromium beside cnfkit in Node, in one run: the flow-matching step (flow.fit on
 * the default network, ms per step at batch 256 and 1024) and logProb's throughput (exact trace,
 * dopri5 at rtol = atol = 1e-5). The same code (bench/browser_cases.ts) runs on both sides; the page
 * is built and served by the playground's helpers (cross-origin isolated, so tfjs's wasm may use
 * threads). The goal: the browser within 1.3x of Node.
 *
 *   npm run bench:browser
 *
 * The page runs twice: as the playground runs (a MessageChannel setImmediate, through which fit
 * yields between steps) and with fit as it is in a page (setTimeout(0), which browsers clamp to
 * 4 ms once nested).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CNF, ready, tf, toyData, type BackendInfo } from '../src/index.node.js';
import { launchChromium } from '../scripts/chromium.js';
import { bundleForBrowser } from '../scripts/playground_build.js';
import { copyTfjsWasm, serveFolder } from '../scripts/static_site.js';
import { BENCH_SETTINGS, measureBrowserBench, type BrowserBenchFigures } from './browser_cases.js';
import { machineLine } from './machine.js';

interface PageResult {
  info: BackendInfo;
  figures: BrowserBenchFigures;
  userAgent: string;
  isolated: boolean;
  cores: number;
  error?: string;
}

// One kernel thread, as the page has: it runs on the page's main thread, where kernel threads are refused.
await ready({ threads: 1 });
console.log(`bench/browser.ts: ${machineLine()}`);
const { batches, steps, warmup, points, repeats } = BENCH_SETTINGS;
console.log(`flow matching: flow.fit on CNF 2-64-64-64-2, ${steps} steps timed after ${warmup}; logProb: ${points} points, exact trace, dopri5 rtol = atol = 1e-5; each the fastest of ${repeats} runs\n`);

const node = await measureBrowserBench({ CNF, tf, toyData });

const site = mkdtempSync(join(tmpdir(), 'cnfkit-bench-page-'));
await bundleForBrowser({ page: join(import.meta.dirname, 'browser_page.ts') }, site);
copyTfjsWasm(join(site, 'wasm'));
writeFileSync(join(site, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="page.js"></script>');
const served = await serveFolder(site);
const browser = await launchChromium();
const inPage = async (query: string): Promise<PageResult> => {
  const page = await browser.newPage();
  try {
    await page.goto(served.url + query);
    await page.waitForFunction(() => (window as unknown as { benchResult?: unknown }).benchResult !== undefined, undefined, { timeout: 600_000 });
    const result = (await page.evaluate(() => (window as unknown as { benchResult: unknown }).benchResult)) as PageResult;
    if (result.error) throw new Error(`the page failed: ${result.error}`);
    return result;
  } finally {
    await page.close();
  }
};
let page: PageResult;
try {
  page = await inPage('');
} finally {
  await browser.close();
  await served.close();
  rmSync(site, { recursive: true, force: true });
}

const { info, userAgent, isolated, cores } = page;
const chrome = /(Headless)?Chrome\/[\d.]+/.exec(userAgent)?.[0] ?? userAgent;
console.log(`Chromium: ${chrome}, ${cores} cores, tfjs backend ${info.name} (SIMD ${info.simd ? 'on' : 'off'}, threads ${info.threads ? 'on' : 'off'}), cnfkit wasm kernels ${info.kernels} on ${info.kernelThreads}, ${isolated ? '' : 'not '}cross-origin isolated\n`);
const pad = (s: string, n: number) => s.padStart(n);
const ratio = (browserTime: number, nodeTime: number) => `${(browserTime / nodeTime).toFixed(2)}x`;
console.log(`${''.padEnd(38)}${pad('Node', 10)}${pad('Chromium', 10)}${pad('Chromium/Node', 15)}`);
for (const b of batches) {
  const [n, c] = [node.stepMs[b], page.figures.stepMs[b]];
  console.log(`${`flow-matching step, batch ${b} (ms)`.padEnd(38)}${pad(n.toFixed(3), 10)}${pad(c.toFixed(3), 10)}${pad(ratio(c, n), 15)}`);
}
const [n, c] = [node.logProbPointsPerSecond, page.figures.logProbPointsPerSecond];
console.log(`${'logProb (points/s)'.padEnd(38)}${pad(n.toFixed(0), 10)}${pad(c.toFixed(0), 10)}${pad(ratio(n, c), 15)}`);
console.log(`\nChromium/Node is the ratio of times (above 1: the browser is slower); the goal is at most 1.3x.`);
