/**
 * The library's browser entry bundles with no externals and no shims: nothing it reaches names a Node
 * module or an optional package a bundler cannot resolve, and it brings tfjs-core and the wasm and cpu
 * backends, not the rest of tfjs. (test/browser.test.ts runs such a bundle in headless Chromium;
 * `npm run bench:bundle` prints the sizes.)
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

/** `contents` (a module in the repository root) bundled for the browser by esbuild, in memory, with its metafile. */
async function bundle(contents: string) {
  const result = await build({ stdin: { contents, resolveDir: root, loader: 'ts' }, bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
  expect(result.errors).toEqual([]);
  return result;
}

describe('the browser bundle', () => {
  it('esbuild bundles `import { CNF, odeint, ready, toyData } from cnfkit` for the browser: Node-only code and unused tfjs parts left out', async () => {
    const result = await bundle("import { CNF, odeint, ready, toyData } from './src/index.browser.ts'; console.log(CNF, odeint, ready, toyData);");
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.endsWith('src/flows/cnf.ts'))).toBe(true);
    for (const nodeOnly of ['src/io/model_files.ts', 'src/io/folders.ts', 'src/cli', 'src/viz', 'src/index.node.ts']) {
      expect(inputs.filter((i) => i.includes(nodeOnly)), nodeOnly).toEqual([]);
    }
    // tfjs-core and the two backends it runs on; not the umbrella's webgl, layers, converter or data.
    for (const part of ['tfjs-core', 'tfjs-backend-wasm', 'tfjs-backend-cpu']) expect(inputs.some((i) => i.includes(`@tensorflow/${part}/`)), part).toBe(true);
    for (const unused of ['@tensorflow/tfjs/', 'tfjs-backend-webgl', 'tfjs-layers', 'tfjs-converter', 'tfjs-data', 'tfjs-backend-webgpu', 'node_modules/webgpu/']) {
      expect(inputs.filter((i) => i.includes(unused)), unused).toEqual([]);
    }
    const code = result.outputFiles[0].text;
    expect(code).not.toMatch(/["']node:[a-z/]+["']/);
  }, 60_000);

  it("cnfkit's errors keep their names through a minifier (pages tell them apart by e.name)", async () => {
    const minified = await build({ entryPoints: [join(root, 'src/errors.ts')], bundle: true, minify: true, format: 'esm', write: false, logLevel: 'silent' });
    const folder = mkdtempSync(join(tmpdir(), 'cnfkit-errors-'));
    const file = join(folder, 'errors.mjs');
    writeFileSync(file, minified.outputFiles[0].text);
    try {
      const errors = await import(file);
      const names = ['CnfkitError', 'InputError', 'DivergenceError', 'KernelError', 'StepSizeError', 'MaxStepsError', 'ConvergenceError', 'NonFiniteError', 'ModelFileError'];
      expect(names.filter((n) => errors[n] === undefined)).toEqual([]);
      // The minifier did rename the classes (so this test can fail); the errors' names did not change.
      expect(names.filter((n) => errors[n].name === n)).toEqual([]);
      const made = [new errors.CnfkitError('m'), new errors.InputError('f', 'a', 'p'), new errors.KernelError('k'), new errors.ModelFileError('f', 'w', 'p')];
      expect(made.map((e) => e.name)).toEqual(['CnfkitError', 'InputError', 'KernelError', 'ModelFileError']);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("'cnfkit/webgpu' bundles tfjs's WebGPU backend for a page, and not Dawn (Node's native WebGPU)", async () => {
    const result = await bundle("import './src/webgpu/index.ts'; import { ready } from './src/index.browser.ts'; await ready({ backend: 'webgpu' });");
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.includes('@tensorflow/tfjs-backend-webgpu/'))).toBe(true);
    expect(inputs.filter((i) => i.includes('node_modules/webgpu/') || i.includes('dawn'))).toEqual([]);
    expect(inputs.filter((i) => /tfjs-core\/dist\/engine\.js$/.test(i))).toHaveLength(1);
  }, 60_000);

  it('a page importing both @tensorflow/tfjs and cnfkit bundles one tfjs-core (one engine, shared tensors)', async () => {
    const result = await bundle("import * as tfjs from '@tensorflow/tfjs'; import { tf } from './src/index.browser.ts'; console.log(tfjs.engine() === tf.engine());");
    const engines = Object.keys(result.metafile.inputs).filter((i) => /tfjs-core\/dist\/engine\.js$/.test(i));
    expect(engines).toHaveLength(1);
  }, 60_000);

  it('Vite builds a page that imports cnfkit, with no externals and no shims', async () => {
    const site = mkdtempSync(join(tmpdir(), 'cnfkit-vite-'));
    try {
      writeFileSync(join(site, 'index.html'), '<!doctype html><script type="module" src="./main.ts"></script>');
      writeFileSync(join(site, 'main.ts'), `import { CNF, odeint, ready, toyData } from '${join(root, 'src/index.browser.ts')}';\nconsole.log(CNF, odeint, ready, toyData);\n`);
      await viteBuild({ root: site, logLevel: 'silent', configFile: false, build: { outDir: join(site, 'dist'), emptyOutDir: true, chunkSizeWarningLimit: 4096 } });
      const assets = readdirSync(join(site, 'dist', 'assets'));
      expect(assets.some((a) => a.endsWith('.js') && statSync(join(site, 'dist', 'assets', a)).size > 100_000)).toBe(true);
    } finally {
      rmSync(site, { recursive: true, force: true });
    }
  }, 120_000);
});
