// The page side of bench/browser.ts (bundled by esbuild, run in headless Chromium): the same
// measurements as Node, in a page; the figures land in window.benchResult.
import { CNF, ready, tf, toyData } from '../src/index.browser.js';
import { measureBrowserBench } from './browser_cases.js';

async function run(): Promise<Record<string, unknown>> {
  const info = await ready({ wasmPaths: './wasm/', verbose: false });
  const figures = await measureBrowserBench({ CNF, tf, toyData });
  return { info, figures, userAgent: navigator.userAgent, isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency };
}

run().then(
  (result) => Object.assign(window, { benchResult: result }),
  (e: Error) => Object.assign(window, { benchResult: { error: `${e.name}: ${e.message}\n${e.stack}` } }),
);
