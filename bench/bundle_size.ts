/**
 * The size a page pays for cnfkit: `import { CNF, ready, toyData } from 'cnfkit'` bundled for the
 * browser by esbuild (minified, and gzipped as a server sends it), what it is made of, and beside it
 * the same page on tfjs's umbrella package (what cnfkit 0.1 pulled in), plus the wasm binary the
 * page fetches at run time. Run: `npm run bench:bundle`.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;

async function bundle(contents: string): Promise<{ bytes: number; gzip: number; parts: Map<string, number> }> {
  const result = await build({ stdin: { contents, resolveDir: root, loader: 'ts' }, bundle: true, minify: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
  const code = result.outputFiles[0].contents;
  const parts = new Map<string, number>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const part = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? (input.startsWith('src/') ? 'cnfkit (src/)' : input);
      parts.set(part, (parts.get(part) ?? 0) + bytesInOutput);
    }
  }
  return { bytes: code.length, gzip: gzipSync(code).length, parts };
}

const kB = (n: number) => `${(n / 1024).toFixed(0)} kB`;
console.log(`# bundle size (esbuild, minified) — ${os.cpus()[0]?.model}, node ${process.version}`);
const cnfkit = await bundle("import { CNF, ready, toyData } from './src/index.browser.ts'; console.log(CNF, ready, toyData);");
console.log(`cnfkit browser entry: ${kB(cnfkit.bytes)} (${kB(cnfkit.gzip)} gzipped)`);
for (const [part, bytes] of [...cnfkit.parts].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${part.padEnd(32)} ${kB(bytes).padStart(8)}`);
const umbrella = await bundle("import * as tf from '@tensorflow/tfjs'; import '@tensorflow/tfjs-backend-wasm'; console.log(tf);");
console.log(`for comparison, @tensorflow/tfjs + tfjs-backend-wasm (cnfkit 0.1's dependencies): ${kB(umbrella.bytes)} (${kB(umbrella.gzip)} gzipped)`);
const wasm = readFileSync(`${root}node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm`);
console.log(`fetched at run time: tfjs-backend-wasm-simd.wasm ${kB(wasm.length)} (${kB(gzipSync(wasm).length)} gzipped)`);
