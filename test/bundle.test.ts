/**
 * The library's main entry bundles for a browser with no externals and no shims: nothing it reaches
 * names a Node module or an optional package a bundler cannot resolve. (Running the bundle in headless
 * Chromium is the browser issue's next step.)
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

describe('the browser bundle', () => {
  it('esbuild bundles `import { CNF, odeint, ready, toyData } from cnfkit` for the browser, Node-only code left out', async () => {
    const result = await build({
      stdin: { contents: "import { CNF, odeint, ready, toyData } from './src/index.ts'; console.log(CNF, odeint, ready, toyData);", resolveDir: root, loader: 'ts' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.endsWith('src/flows/cnf.ts'))).toBe(true);
    for (const nodeOnly of ['src/io/model_files.ts', 'src/io/folders.ts', 'src/cli', 'src/viz', 'src/index.node.ts']) {
      expect(inputs.filter((i) => i.includes(nodeOnly)), nodeOnly).toEqual([]);
    }
    const code = result.outputFiles[0].text;
    expect(code).not.toMatch(/["']node:[a-z/]+["']/);
  }, 60_000);

  it('Vite builds a page that imports cnfkit, with no externals and no shims', async () => {
    const site = mkdtempSync(join(tmpdir(), 'cnfkit-vite-'));
    try {
      writeFileSync(join(site, 'index.html'), '<!doctype html><script type="module" src="./main.ts"></script>');
      writeFileSync(join(site, 'main.ts'), `import { CNF, odeint, ready, toyData } from '${join(root, 'src/index.ts')}';\nconsole.log(CNF, odeint, ready, toyData);\n`);
      await viteBuild({ root: site, logLevel: 'silent', configFile: false, build: { outDir: join(site, 'dist'), emptyOutDir: true, chunkSizeWarningLimit: 4096 } });
      const assets = readdirSync(join(site, 'dist', 'assets'));
      expect(assets.some((a) => a.endsWith('.js') && statSync(join(site, 'dist', 'assets', a)).size > 100_000)).toBe(true);
    } finally {
      rmSync(site, { recursive: true, force: true });
    }
  }, 120_000);
});
