/**
 * The playground page (playground/, `npm run playground`) for real: built and served as the script
 * does it (scripts/playground_build.ts, scripts/static_site.ts), opened in headless Chromium and
 * driven through its test hook `window.playground` (playground/hook.ts documents it), which does
 * what the buttons do. It must train in its worker on wasm with SIMD and cnfkit's kernels, reach a
 * good held-out NLL, keep a model across a page reload in IndexedDB, and hand it out as files that
 * load back, with no page errors.
 *
 * Skipped, with a note, where no Chromium is installed, unless CNFKIT_REQUIRE_BROWSER=1.
 * The screenshot goes to $CNFKIT_SCREENSHOT_DIR when set, else to a temporary folder (printed).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Download, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { TOY_ENTROPY } from '../src/index.node.js';
import type { PlaygroundHook } from '../playground/hook.js';
import { chromiumAvailable, launchChromium } from '../scripts/chromium.js';
import { buildPlayground } from '../scripts/playground_build.js';
import { serveFolder, type ServedFolder } from '../scripts/static_site.js';

const available = chromiumAvailable('test/playground.test.ts');
const work = mkdtempSync(join(tmpdir(), 'cnfkit-playground-'));
let site: ServedFolder | undefined;
afterAll(async () => {
  await site?.close();
  rmSync(work, { recursive: true, force: true });
});

type HookWindow = { playground?: PlaygroundHook };
const ready = (page: Page) => page.waitForFunction(() => (window as unknown as HookWindow).playground?.ready === true, undefined, { timeout: 60_000 });
/** Runs `call` on the page's hook; it travels as source text, so it must not use anything from here. */
const hook = <T, A = undefined>(page: Page, call: (playground: PlaygroundHook, arg: A) => Promise<T> | T, arg?: A): Promise<T> =>
  page.evaluate(({ source, arg }) => new Function('playground', 'arg', `return (${source})(playground, arg);`)((window as unknown as HookWindow).playground, arg), { source: call.toString(), arg }) as Promise<T>;

/** Fixed points to compare log-densities at, around and between the eight modes. */
const FIXED: [number, number][] = [[0, 0], [2.83, 0], [-2, 2], [1, -1.5], [0.3, 2.9], [-2.8, -0.2]];

describe.skipIf(!available)('the playground page in headless Chromium', () => {
  it('trains 8gaussians by flow matching in its worker, and saves, reloads, downloads and opens the model', async () => {
    const timings: string[] = [];
    let mark = performance.now();
    const lap = (what: string) => {
      timings.push(`${what} ${((performance.now() - mark) / 1000).toFixed(1)} s`);
      mark = performance.now();
    };
    const out = join(work, 'site');
    await buildPlayground(out);
    site = await serveFolder(out);
    lap('build');
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ viewport: { width: 1360, height: 940 }, acceptDownloads: true });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
      await page.goto(site.url);
      await ready(page);
      lap('page ready');

      const info = await hook(page, (p) => p.info());
      expect(info.backend.name).toBe('wasm');
      expect(info.backend.simd).toBe(true);
      expect(info.backend.kernels).toBe('in use');
      expect(info.crossOriginIsolated).toBe(true);
      // The worker may block and the page is isolated: cnfkit's kernels run on every core there.
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      expect(info.backend.kernelThreads).toBe(cores > 1 ? `${cores} threads` : '1 thread');

      const summary = await hook(page, (p) => p.train({ dataset: '8gaussians', objective: 'flow-matching', iterations: 1500, batchSize: 256, learningRate: 0.003, seed: 0 }));
      lap('train 1500 × 256 (with pictures)');
      expect(summary.iterations).toBe(1500);
      expect(summary.stopped).toBe(false);
      // The split path ran, and the Web Workers (not only the trainer's thread) ran shares of it.
      if (cores > 1) {
        const after = (await hook(page, (p) => p.info())).kernelThreadRuns!;
        console.log(`playground: kernel thread runs ${after.runs}, shares on workers ${after.sharesOnWorkers}`);
        expect(after.runs - (info.kernelThreadRuns?.runs ?? 0)).toBeGreaterThan(1000);
        expect(after.sharesOnWorkers - (info.kernelThreadRuns?.sharesOnWorkers ?? 0)).toBeGreaterThan(500);
      }
      const nll = await hook(page, (p) => p.heldOutNll('8gaussians', 2000, 12345));
      lap('held-out NLL');
      const entropy = TOY_ENTROPY['8gaussians']!;
      console.log(
        `playground: backend ${info.backend.name} (SIMD ${info.backend.simd}, threads ${info.backend.threads}, kernels ${info.backend.kernels}, ${info.backend.kernelThreads}); ` +
          `1500 flow-matching steps at batch 256 in ${summary.trainSeconds.toFixed(2)} s of training (${Math.round(summary.stepsPerSecond)} steps/s; ${summary.seconds.toFixed(2)} s with the pictures); ` +
          `held-out NLL ${nll.toFixed(4)} nats on 2000 points, entropy of 8gaussians ${entropy}`,
      );
      expect(nll).toBeLessThan(3.0);
      expect(summary.heldOutNll).toBeCloseTo(nll, 5);

      const shots = process.env.CNFKIT_SCREENSHOT_DIR ?? join(work, 'shots');
      mkdirSync(shots, { recursive: true });
      await page.waitForTimeout(3600); // the flow animation, restarted by the last pictures, at its data end
      await page.screenshot({ path: join(shots, 'playground.png') });
      console.log(`playground: screenshot ${join(shots, 'playground.png')}`);
      lap('screenshot');

      const tensors = (await hook(page, (p) => p.info())).tensors;
      const trained = await hook(page, (p, points) => p.logProb(points), FIXED);
      await hook(page, (p) => p.save('cnfkit-playground-test'));
      const downloads: Download[] = [];
      page.on('download', (d) => downloads.push(d));
      await page.click('#download');
      await expect.poll(() => downloads.length, { timeout: 10_000 }).toBe(2);
      const files = await Promise.all(downloads.map(async (d) => {
        const path = join(work, d.suggestedFilename());
        await d.saveAs(path);
        return path;
      }));
      expect(files.map((f) => f.slice(work.length + 1)).sort()).toEqual(['my-flow.json', 'my-flow.weights.bin']);
      expect((await hook(page, (p) => p.info())).tensors).toBe(tensors);
      lap('save and download');

      await page.reload();
      await ready(page);
      await hook(page, (p) => p.load('cnfkit-playground-test'));
      const reloaded = await hook(page, (p, points) => p.logProb(points), FIXED);
      reloaded.forEach((v, i) => expect(Math.abs(v - trained[i])).toBeLessThanOrEqual(1e-6));
      expect((await hook(page, (p) => p.model()))?.origin).toBe('loaded from this browser (cnfkit-playground-test)');

      await page.setInputFiles('#open-files', files);
      await expect.poll(() => hook(page, (p) => p.model()?.origin), { timeout: 10_000 }).toBe('loaded from my-flow.json + my-flow.weights.bin');
      const opened = await hook(page, (p, points) => p.logProb(points), FIXED);
      opened.forEach((v, i) => expect(Math.abs(v - trained[i])).toBeLessThanOrEqual(1e-6));
      expect((await hook(page, (p) => p.info())).tensors).toBe(tensors);
      lap('reload, load from IndexedDB and from files');

      // A model trained in PyTorch and exported by tools/pytorch/export_cnfkit.py opens the same way,
      // and gives torch's log-densities (test/pytorch_interop.test.ts measures them in Node).
      const torchModel = join(import.meta.dirname, 'fixtures', 'pytorch', 'ffjord-tanh');
      const torchReference = JSON.parse(readFileSync(`${torchModel}.json`, 'utf8')) as { points: [number, number][]; logp: number[] };
      await page.setInputFiles('#open-files', [join(torchModel, 'model.json'), join(torchModel, 'weights.bin')]);
      await expect.poll(() => hook(page, (p) => p.model()?.origin), { timeout: 10_000 }).toBe('loaded from model.json + weights.bin');
      const fromTorch = await hook(page, (p, points) => p.logProb(points), torchReference.points.slice(0, 8));
      fromTorch.forEach((v, i) => expect(Math.abs(v - torchReference.logp[i])).toBeLessThan(1e-4));
      lap('open a PyTorch export');

      // Stop while the worker is inside one long computation (here pictures on a 700² grid; a field
      // made stiff by a high learning rate makes every picture that long): the page is idle again
      // within Stop's patience, with a fresh worker that trains.
      const training = hook(page, (p) => p.train({ dataset: '8gaussians', objective: 'flow-matching', iterations: 1_000_000, learningRate: 0.003, seed: 1 }).then((s) => `finished ${s.iterations}`, (e) => String(e)));
      await page.waitForTimeout(1000);
      const busy = hook(page, (p) => p.view(700).then(() => 'drawn', (e) => String(e)));
      await page.waitForTimeout(300);
      const pressed = performance.now();
      const line = await hook(page, (p) => p.stop());
      expect(performance.now() - pressed).toBeLessThan(4000);
      expect(line).toMatch(/^Stopped. The worker was inside one long computation .* so it was ended and restarted; the model it was training is gone.$/);
      expect(await training).toMatch(/Stopped. The worker was inside one long computation/);
      expect(await busy).toMatch(/Stopped. The worker was inside one long computation/);
      expect(await hook(page, (p) => p.model())).toBeUndefined();
      const again = await hook(page, (p) => p.train({ iterations: 30, seed: 0 }));
      expect(again.iterations).toBe(30);
      lap('stop a busy worker, train again');

      expect(await hook(page, (p) => p.errors())).toEqual([]);
      expect(problems).toEqual([]);
      console.log(`playground: ${timings.join(', ')}`);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
