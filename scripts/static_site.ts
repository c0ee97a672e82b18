/**
 * A folder served on 127.0.0.1 the way a page with cnfkit needs it: tfjs's wasm files beside the
 * bundle, and cross-origin isolation (COOP/COEP headers) so that SharedArrayBuffer, and with it
 * tfjs's threaded wasm, is available. Used by `npm run playground`, the browser tests and
 * `npm run bench:browser`.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** tfjs's wasm backend binaries: plain, SIMD, and threaded SIMD (it picks one at run time). */
export const TFJS_WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;

/** Copies tfjs's wasm files into `dir` (created if needed); pass `ready({ wasmPaths })` the URL it is served at. */
export function copyTfjsWasm(dir: string): void {
  const from = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  mkdirSync(dir, { recursive: true });
  for (const file of TFJS_WASM_FILES) copyFileSync(join(from, file), join(dir, file));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** A running static server. */
export interface ServedFolder {
  /** The folder's URL, ending in `/`. */
  url: string;
  /** The port it listens on. */
  port: number;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Serves the files under `dir` on 127.0.0.1, cross-origin isolated (`Cross-Origin-Opener-Policy:
 * same-origin`, `Cross-Origin-Embedder-Policy: require-corp`) and uncached; `/` is `index.html`.
 * @param port - the port, or 0 for a free one
 */
export async function serveFolder(dir: string, port = 0): Promise<ServedFolder> {
  const base = resolve(dir);
  const server = createServer((request, response) => {
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    } catch {
      response.writeHead(400).end();
      return;
    }
    const file = resolve(base, `.${pathname.endsWith('/') ? `${pathname}index.html` : pathname}`);
    if (!(file === base || file.startsWith(base + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response
      .writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
        'cross-origin-resource-policy': 'same-origin',
        'cache-control': 'no-store',
      })
      .end(readFileSync(file));
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', done);
  });
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    close: () => new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}
