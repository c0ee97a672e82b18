/**
 * Builds the playground (playground/) into a folder: the page and its training worker bundled by
 * esbuild (browser, ESM, minified), the HTML and CSS, and tfjs's wasm files under `wasm/`.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { copyTfjsWasm } from './static_site.js';

const root = new URL('..', import.meta.url).pathname;

/** Where `npm run playground` builds to (gitignored). */
export const PLAYGROUND_OUT = join(root, 'playground/out');

/**
 * Bundles `entries` (name → source file) into `outDir` for the browser: ESM, minified unless told not
 * to, with source maps beside them.
 */
export async function bundleForBrowser(entries: Record<string, string>, outDir: string, minify = true): Promise<void> {
  await build({
    entryPoints: entries,
    outdir: outDir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify,
    sourcemap: 'linked',
    logLevel: 'silent',
  });
}

/**
 * Builds the playground into `outDir` (emptied first): `index.html`, `style.css`, `main.js` (the
 * page), `worker.js` (training) and `wasm/` (tfjs's wasm files, which the worker's
 * `ready({ wasmPaths: './wasm/' })` points at). Serve it with `serveFolder`.
 */
export async function buildPlayground(outDir = PLAYGROUND_OUT, options: { minify?: boolean } = {}): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await bundleForBrowser({ main: join(root, 'playground/main.ts'), worker: join(root, 'playground/worker.ts') }, outDir, options.minify ?? true);
  for (const file of ['index.html', 'style.css']) copyFileSync(join(root, 'playground', file), join(outDir, file));
  copyTfjsWasm(join(outDir, 'wasm'));
}
