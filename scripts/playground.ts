/**
 * `npm run playground [-- --port 5180] [-- --no-minify]`: builds the playground page (playground/)
 * into playground/out/ and serves it on 127.0.0.1, cross-origin isolated. `--port 0` picks a free
 * port.
 */
import { parseArgs } from 'node:util';
import { PLAYGROUND_OUT, buildPlayground } from './playground_build.js';
import { serveFolder } from './static_site.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '5180' }, 'no-minify': { type: 'boolean', default: false } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`npm run playground: --port must be an integer from 0 to 65535 (0: any free port), but got ${JSON.stringify(values.port)}`);
  process.exit(2);
}

let site;
try {
  site = await serveFolder(PLAYGROUND_OUT, port);
} catch (e) {
  const code = (e as { code?: string }).code;
  console.error(`npm run playground: cannot listen on 127.0.0.1:${port} (${code ?? (e as Error).message})${code === 'EADDRINUSE' ? '; pass another --port, or --port 0 for a free one' : ''}`);
  process.exit(1);
}
const started = performance.now();
await buildPlayground(PLAYGROUND_OUT, { minify: !values['no-minify'] });
console.log(`built playground/out/ in ${((performance.now() - started) / 1000).toFixed(1)} s`);
console.log(`cnfkit playground: ${site.url}  (Ctrl-C to stop)`);
process.on('SIGINT', () => void site.close().then(() => process.exit(0)));
