/**
 * Where the time goes: milliseconds (and tfjs kernels) per dynamics evaluation (forward with the
 * exact trace's tangents, and the adjoint's backward VJP), per flow-matching step, and the split of
 * one maximum-likelihood iteration into forward and backward solve; each on cnfkit's wasm kernels
 * and on tfjs's kernels alone (CNFKIT_WASM_KERNELS=0 gives the latter everywhere).
 *
 *   taskset -c 0 npx tsx bench/profile.ts
 */
import { CNF, createStats, ready, tf, toyData } from '../src/index.node.js';
import { flowOps } from '../src/nn/compute_path.js';
import { traceTangents } from '../src/flows/trace.js';
import { ACTIVATIONS, type ActivationName } from '../src/nn/activations.js';
import type { DynamicsNet } from '../src/nn/dynamics_net.js';
import { runSync } from '../src/ode/host_reads.js';
import { Rng } from '../src/random.js';
import { flowMatchingStep } from '../src/train/flow_matching_step.js';
import { drawRegressionProblem } from '../src/train/flow_matching.js';
import { setWasmKernels } from '../src/native/runtime.js';
import { machineLine } from './machine.js';

await ready();
console.log(`bench/profile.ts: ${machineLine()}\n`);

/** Median milliseconds of `fn` over `n` runs after warm-up, and its kernel count. */
async function measure(label: string, fn: () => void, n = 50): Promise<void> {
  for (let i = 0; i < 5; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const info = await tf.profile(() => {
    fn();
    return [];
  });
  console.log(`${label.padEnd(58)} ${times[n >> 1].toFixed(2).padStart(7)} ms  ${String(info.kernels.length).padStart(5)} kernels`);
}

const flow = new CNF({ dim: 2, seed: 0 });
const net = (flow as unknown as { blocks: { net: DynamicsNet }[] }).blocks[0].net;
for (const kernels of [true, false]) {
  setWasmKernels(kernels);
  const on = kernels ? 'wasm kernels' : 'tfjs';
  for (const rows of [100, 1000]) {
    const x = toyData('8gaussians', rows, 0);
    const v = traceTangents('exact', 'gaussian', rows, 2, new Rng(0));
    const f = flowOps(net, rows, v.shape[0]).joint(v, { kinetic: false, jacobian: false });
    const t = tf.scalar(0.2);
    const cot = [tf.onesLike(x), tf.ones([rows])];
    await measure(`joint evaluation F, −tr J (exact), B=${rows}, ${on}`, () => tf.tidy(() => void f(t, [x])));
    await measure(`adjoint backward evaluation (VJP), B=${rows}, ${on}`, () => tf.tidy(() => void f.vjp!(t, [x, tf.zeros([rows])], cot)));
    tf.dispose([x, v, t, ...cot]);
  }
}
setWasmKernels(true);
for (const rows of [256, 1024]) {
  const x = toyData('8gaussians', rows, 0);
  const xHost = x.dataSync() as Float32Array;
  const rng = new Rng(1);
  for (const kernels of [true, false]) {
    setWasmKernels(kernels);
    const step = flowMatchingStep(net, flow.trainableVariables, rows, { learningRate: 1e-3, weightDecay: 1e-5 });
    // Not in a tidy: the optimizer keeps its moments across steps.
    await measure(`flow-matching step (problem, loss, backward, Adam), B=${rows}, ${step.path}`, () => {
      const p = drawRegressionProblem(xHost, rows, 2, 0.5, 0.1, 'independent', rng);
      // Both are generators (ode/host_reads.ts), driven here synchronously (fit drives them with runAsync).
      runSync('profile', step.lossAndGradients(p, rows));
      runSync('profile', step.applyAdam());
      step.writeVariables();
    });
    step.dispose();
  }
  setWasmKernels(true);
  x.dispose();
}

// One maximum-likelihood iteration of FFJORD's configuration (B=100), split.
const batch = toyData('8gaussians', 100, 3);
for (const kernels of [true, false]) {
  setWasmKernels(kernels);
  const stats = createStats();
  const backwardStats = createStats();
  const repeat = 10;
  let forwardMs = 0;
  let totalMs = 0;
  for (let i = 0; i < repeat; i++) {
    let start = performance.now();
    tf.tidy(() => flow.logProb(batch, { stats }).dataSync());
    forwardMs += performance.now() - start;
    start = performance.now();
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(flow.logProb(batch, { stats, backwardStats }))) as tf.Scalar, flow.trainableVariables);
    totalMs += performance.now() - start;
    tf.dispose([value, ...Object.values(grads)]);
  }
  console.log(
    `\nmaximum-likelihood iteration, B=100 (NFE ${stats.nfe}/${backwardStats.nfe}), ${kernels ? 'wasm kernels' : 'tfjs'}: forward solve ${(forwardMs / repeat).toFixed(1)} ms, ` +
      `backward solve ${((totalMs - forwardMs) / repeat).toFixed(1)} ms (forward + backward ${(totalMs / repeat).toFixed(1)} ms)`,
  );
}
setWasmKernels(true);
batch.dispose();
flow.dispose();

// Every activation of the registry on both paths (FFJORD's toy network otherwise): the adjoint's
// backward evaluation at B=100 and the flow-matching step at B=1024.
for (const activation of Object.keys(ACTIVATIONS) as ActivationName[]) {
  const other = new CNF({ dim: 2, seed: 0, activation });
  const otherNet = (other as unknown as { blocks: { net: DynamicsNet }[] }).blocks[0].net;
  for (const kernels of [true, false]) {
    setWasmKernels(kernels);
    const x = toyData('8gaussians', 100, 0);
    const v = traceTangents('exact', 'gaussian', 100, 2, new Rng(0));
    const ops = flowOps(otherNet, 100, v.shape[0]);
    const f = ops.joint(v, { kinetic: false, jacobian: false });
    const t = tf.scalar(0.2);
    const cot = [tf.onesLike(x), tf.ones([100])];
    await measure(`${activation}: adjoint backward evaluation, B=100, ${ops.path}`, () => tf.tidy(() => void f.vjp!(t, [x, tf.zeros([100])], cot)));
    const big = toyData('8gaussians', 1024, 0).dataSync() as Float32Array;
    const step = flowMatchingStep(otherNet, other.trainableVariables, 1024, { learningRate: 1e-3, weightDecay: 1e-5 });
    const rng = new Rng(1);
    await measure(`${activation}: flow-matching step, B=1024, ${step.path}`, () => {
      runSync('profile', step.lossAndGradients(drawRegressionProblem(big, 1024, 2, 0.5, 0.1, 'independent', rng), 1024));
      runSync('profile', step.applyAdam());
      step.writeVariables();
    }, 20);
    step.dispose();
    tf.dispose([x, v, t, ...cot]);
  }
  setWasmKernels(true);
  other.dispose();
}
