/**
 * The latent-ODE half of the Neural ODE paper's Table 2 (§5): train on 1000 noisy spirals observed at
 * `--observations` (30, 50 or 100) random times of their 100-point window, then report the
 * predictive RMSE on 200 held-out spirals against the noise-free truth, on the sample window
 * (interpolation) and on the 100 points after it (extrapolation). The paper's figures (RMSE, test
 * set): latent ODE 0.1642 / 0.1502 / 0.1346 for 30 / 50 / 100 observations, RNN 0.3937 / 0.3202 /
 * 0.1813. `--model rnn` trains the paper's baseline instead (examples/latent_ode/rnn.ts).
 *
 *   npx tsx examples/latent_ode/train.ts [--model latent-ode|rnn] [--observations 30] [--iterations 1500] [--batch 100] [--out runs/examples/latent_ode] [--json results.json]
 *
 * Writes the paper's picture for this model, `<out>/<model>-<observations>.png`, or with `--json` its
 * results (RMSE, time, the pictured spirals' paths) for examples/latent_ode.ts, which runs the table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { ready, tf } from '../../src/index.node.js';
import { machineLine } from '../../bench/machine.js';
import { Rng } from '../../src/random.js';
import { LatentOde } from './model.js';
import { PICTURED, writeSpiralPicture } from './picture.js';
import { GapRnn } from './rnn.js';
import { observationMasks, SAMPLES, spirals, TIMES, type Spiral } from './spirals.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const k = Number(arg('observations', '30'));
const iterations = Number(arg('iterations', '1500'));
const batch = Number(arg('batch', '100'));
const kind = arg('model', 'latent-ode');
if (kind !== 'latent-ode' && kind !== 'rnn') throw new Error(`--model must be latent-ode or rnn, but got '${kind}'`);

/** A batch's values on the sample grid [SAMPLES, B, 2] and its observation mask [SAMPLES, B]. */
function onGrid(set: Spiral[], masks: boolean[][]): { x: tf.Tensor3D; mask: tf.Tensor2D } {
  return {
    x: tf.tensor3d(Array.from({ length: SAMPLES }, (_, t) => set.map((s) => s.observed[t]))),
    mask: tf.tensor2d(Array.from({ length: SAMPLES }, (_, t) => masks.map((m) => (m[t] ? 1 : 0)))),
  };
}

/** What one run reports (the JSON of `--json`). */
export interface LatentOdeRun {
  model: 'latent-ode' | 'rnn';
  observations: number;
  iterations: number;
  batch: number;
  seconds: number;
  interpolation: number;
  extrapolation: number;
  /** Predicted paths of the first PICTURED held-out spirals, [spiral][2·SAMPLES][2]. */
  paths: number[][][];
}

await ready();
console.log(`examples/latent_ode/train.ts: ${machineLine()}`);
const train = spirals(1000, 0);
const trainMasks = observationMasks(1000, k, 0);
const test = spirals(200, 1);
const testMasks = observationMasks(200, k, 1);
const model = kind === 'rnn' ? new GapRnn(0) : new LatentOde(0);
const optimizer = tf.train.adam(0.01);
const rng = new Rng('elbo');
const sampleTimes = TIMES.slice(0, SAMPLES);
const started = performance.now();
for (let i = 1; i <= iterations; i++) {
  const from = ((i - 1) * batch) % train.length;
  const rows = Array.from({ length: batch }, (_, j) => (from + j) % train.length);
  const { x, mask } = onGrid(rows.map((r) => train[r]), rows.map((r) => trainMasks[r]));
  const loss = optimizer.minimize(() => (model instanceof GapRnn ? model.loss(x, mask, sampleTimes) : model.loss(x, mask, sampleTimes, rng)), true, model.variables)!;
  if (i % 100 === 0 || i === 1) console.log(`  iteration ${i}: ${kind === 'rnn' ? 'squared error' : '−ELBO per point'} ${loss.dataSync()[0].toFixed(3)} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  tf.dispose([x, mask, loss]);
}
// Predictive RMSE on held-out spirals: z0 = q's mean, the trajectory over both windows.
const { x, mask } = onGrid(test, testMasks);
let predictedValues: number[][][] = [];
const rmse = tf.tidy(() => {
  const predicted = model instanceof GapRnn ? model.predict(x, mask, TIMES) : model.predict(model.encode(x, mask, sampleTimes).mean, TIMES);
  predictedValues = predicted.arraySync() as number[][][];
  const truth = tf.tensor3d(TIMES.map((_, t) => test.map((s) => s.truth[t])));
  const error = tf.sum(tf.square(tf.sub(predicted, truth)), 2); // [2·SAMPLES, B]
  const window = (from: number) => Math.sqrt(tf.mean(error.slice([from, 0], [SAMPLES, -1])).dataSync()[0] / 2);
  return { interpolation: window(0), extrapolation: window(SAMPLES) };
});
const paper = (kind === 'rnn' ? { 30: 0.3937, 50: 0.3202, 100: 0.1813 } : { 30: 0.1642, 50: 0.1502, 100: 0.1346 }) as Record<number, number>;
console.log(`\n${kind}, ${k} observations, ${iterations} iterations: RMSE interpolation ${rmse.interpolation.toFixed(4)}, extrapolation ${rmse.extrapolation.toFixed(4)} (per coordinate, against the noise-free spirals); the paper: ${paper[k] ?? '—'}`);
tf.dispose([x, mask]);
model.dispose();

const paths = predictedValues.length ? Array.from({ length: PICTURED }, (_, p) => predictedValues.map((row) => row[p])) : [];
const seconds = (performance.now() - started) / 1000;
const json = arg('json', '');
if (json) {
  const result: LatentOdeRun = { model: kind, observations: k, iterations, batch, seconds, interpolation: rmse.interpolation, extrapolation: rmse.extrapolation, paths };
  writeFileSync(json, JSON.stringify(result));
} else {
  const out = arg('out', 'runs/examples/latent_ode');
  mkdirSync(out, { recursive: true });
  const file = `${out}/${kind}-${k}.png`;
  writeSpiralPicture(file, `${k} observations: held-out spirals`, test, testMasks, [{ label: kind === 'rnn' ? 'RNN with time gaps' : 'latent ODE', paths }]);
  console.log(`wrote ${file}`);
}
