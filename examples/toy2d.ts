/**
 * Density estimation on every 2D toy set with the library API: a CNF trained by flow matching for
 * a few seconds each, its held-out NLL, and one figure per data set in runs/toy2d/<name>/.
 *
 *   npx tsx examples/toy2d.ts [--seconds 20] [--only 8gaussians,checkerboard]
 */
import { CNF, TOY_DATASETS, TOY_ENTROPY, ready, tf, toyData, type ToyDataset } from '../src/index.node.js';
import { writeFlowPictures } from '../src/viz/flow_pictures.js';

const arg = (name: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
};
/** One line on what is wrong, then exit 2 (no stack traces for a user's mistakes). */
function fail(message: string): never {
  console.error(`examples/toy2d.ts: ${message}`);
  process.exit(2);
}
const seconds = Number(arg('seconds') ?? 20);
if (!(seconds > 0 && Number.isFinite(seconds))) fail(`--seconds must be a positive number, but got '${arg('seconds')}'`);
const names = (arg('only')?.split(',') ?? TOY_DATASETS) as ToyDataset[];
const unknown = names.filter((name) => !(TOY_DATASETS as readonly string[]).includes(name));
if (unknown.length) fail(`--only: unknown data set ${unknown.map((n) => `'${n}'`).join(', ')}; the sets are ${TOY_DATASETS.join(', ')}`);

await ready();
for (const name of names) {
  const data = toyData(name, 50_000, 0);
  const flow = new CNF({ dim: 2, seed: 0 });
  const report = await flow.fit(data, {
    iterations: 1_000_000,
    objective: 'flow-matching',
    batchSize: 512,
    learningRate: 3e-3,
    signal: AbortSignal.timeout(seconds * 1000),
  });
  const heldOut = toyData(name, 2000, 12345);
  const nll = tf.tidy(() => -tf.mean(flow.logProb(heldOut)).dataSync()[0]);
  const bound = TOY_ENTROPY[name];
  console.log(`${name.padEnd(13)} ${report.history.length} iterations, held-out NLL ${nll.toFixed(3)}${bound !== undefined ? ` (entropy ${bound.toFixed(3)})` : ''}`);
  writeFlowPictures(`runs/toy2d/${name}`, { flow, data, title: `${name}: NLL ${nll.toFixed(3)}`, losses: report.history.map((r) => r.loss), lossLabel: 'flow-matching loss' });
  tf.dispose([data, heldOut]);
  flow.dispose();
}
console.log('pictures in runs/toy2d/<name>/figure.png');
