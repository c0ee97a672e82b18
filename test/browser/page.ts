// Runs in headless Chromium (test/browser.test.ts bundles it with esbuild): cnfkit as a page uses it.
import { CNF, odeint, ready, tf, toyData } from '../../src/index.browser.js';

async function run(): Promise<Record<string, unknown>> {
  // The folder without its trailing '/': ready adds it (tfjs would ask for /wasmtfjs-backend-wasm-simd.wasm).
  const info = await ready({ wasmPaths: '/wasm', verbose: false });
  const y1 = odeint((_t, y) => tf.neg(y), tf.ones([1]), [0, 1]).dataSync()[1];
  const flow = new CNF({ dim: 2, hiddenDims: [16, 16], seed: 1 });
  const data = toyData('8gaussians', 2000, 0);
  const report = await flow.fit(data, { iterations: 40, objective: 'flow-matching', batchSize: 100 });
  const logp = Array.from(flow.logProb(toyData('8gaussians', 5, 1)).dataSync());
  const saveError = await flow.save('runs/x').then(() => 'saved', (e: Error) => e.message);
  // IndexedDB: save, load back, the same log-densities.
  await flow.save('indexeddb://cnfkit-page-model');
  const loaded = await CNF.load('indexeddb://cnfkit-page-model');
  const reloaded = Array.from(loaded.logProb(toyData('8gaussians', 5, 1)).dataSync());
  const missing = await CNF.load('indexeddb://no-such-model').then(() => 'loaded', (e: Error) => `${e.name}: ${e.message}`);
  // A model on the page's server, by its model.json's URL relative to the page (the test put it there).
  const served = await CNF.load('models/served/model.json');
  const servedLogp = Array.from(served.logProb(toyData('8gaussians', 5, 1)).dataSync());
  return { backend: info.name, simd: info.simd, kernels: info.kernels, y1, losses: report.history.map((r) => r.loss), logp, reloaded, missing, saveError, servedLogp };
}

run().then(
  (result) => Object.assign(window, { cnfkitResult: result }),
  (e: Error) => Object.assign(window, { cnfkitResult: { error: `${e.name}: ${e.message}` } }),
);
