/**
 * Adjoint against backprop through the solver: gradient time and peak memory as the number of solver
 * steps grows; then backward evaluations with the seminorm and with the full norm on a CNF-like
 * problem (a 2-64-64-64-2 tanh MLP with time input, batch 512, dopri5, t in [0, 1]).
 *
 *   npm run bench:adjoint
 */
import { createStats, matMul, odeint, odeintAdjoint, ready, tf, type Dynamics } from '../src/index.node.js';
import { machineLine } from './machine.js';
import { withPeakBytes } from './peak_memory.js';

await ready();
console.log(`bench/adjoint.ts: ${machineLine()}\n`);

function mlp(sizes: number[], seed: number, gain = 1) {
  const bound = (fanIn: number) => gain / Math.sqrt(fanIn);
  const weights = sizes.slice(1).map((out, i) => tf.variable(tf.randomUniform([sizes[i] + 1, out], -bound(sizes[i] + 1), bound(sizes[i] + 1), 'float32', seed + i) as tf.Tensor2D));
  const biases = sizes.slice(1).map((out) => tf.variable(tf.zeros([out])));
  // Time enters every layer as an extra input column (FFJORD's concat layer).
  const f: Dynamics = (t, y) => {
    let h = y as tf.Tensor2D;
    weights.forEach((w, i) => {
      const withT = tf.concat([h, tf.mul(tf.ones([h.shape[0], 1]), t)], 1) as tf.Tensor2D;
      h = tf.add(matMul(withT, w), biases[i]) as tf.Tensor2D;
      if (i < weights.length - 1) h = tf.tanh(h) as tf.Tensor2D;
    });
    return h;
  };
  return { f, params: [...weights, ...biases] };
}

// 1. Time and peak memory against the number of rk4 steps.
{
  const { f, params } = mlp([2, 64, 64, 2], 1);
  const y0 = tf.randomNormal([256, 2], 0, 1, 'float32', 7);
  const gradient = (adjoint: boolean, steps: number) => {
    const options = { method: 'rk4' as const, stepSize: 1 / steps };
    return withPeakBytes(() => {
      const { value, grads } = tf.variableGrads(() =>
        tf.mean(tf.square(adjoint ? odeintAdjoint(f, y0, [0, 1], { ...options, params }) : odeint(f, y0, [0, 1], options))) as tf.Scalar,
      );
      tf.dispose([value, ...Object.values(grads)]);
    });
  };
  // Warm-up: the first gradient of each kind compiles kernels and fills caches (3x the later ones).
  gradient(true, 10);
  gradient(false, 10);
  console.log('steps  adjoint ms  adjoint peak MB  backprop ms  backprop peak MB');
  for (const steps of [10, 40, 160, 640]) {
    const row = [String(steps).padStart(5)];
    for (const adjoint of [true, false]) {
      const start = performance.now();
      const info = gradient(adjoint, steps);
      const ms = performance.now() - start;
      row.push(ms.toFixed(0).padStart(11), (info.peakBytes / 2 ** 20).toFixed(1).padStart(16));
    }
    console.log(row.join(' '));
  }
  tf.dispose([y0, ...params]);
}

// 2. Seminorm against full norm in the backward solve. Weights at 3x FFJORD's initial scale give a
// field as rough as a trained one's (tens of steps), so the backward solve has work to do.
{
  const { f, params } = mlp([2, 64, 64, 64, 2], 11, 3);
  const y0 = tf.randomNormal([512, 2], 0, 1, 'float32', 17);
  console.log('\nbackward solve, dopri5 rtol = atol = 1e-5, CNF-like MLP, batch 512:');
  console.log('loss           norm      forward nfe  backward nfe  backward steps (rejected)  gradient ms');
  // The loss's scale sets the adjoint's: a mean over the batch makes a (and a_θ) ~1000x smaller
  // than a sum, which changes what atol means in the backward solve.
  for (const reduction of ['mean', 'sum'] as const) {
    for (const adjointNorm of ['full', 'seminorm'] as const) {
      const stats = createStats();
      const backwardStats = createStats();
      const start = performance.now();
      const { value, grads } = tf.variableGrads(() => {
        const squares = tf.square(odeintAdjoint(f, y0, [0, 1], { params, rtol: 1e-5, atol: 1e-5, adjointNorm, stats, backwardStats }));
        return (reduction === 'mean' ? tf.mean(squares) : tf.sum(squares)) as tf.Scalar;
      });
      const ms = performance.now() - start;
      tf.dispose([value, ...Object.values(grads)]);
      console.log(
        `${reduction.padEnd(14)} ${adjointNorm.padEnd(9)} ${String(stats.nfe).padStart(11)} ${String(backwardStats.nfe).padStart(13)} ` +
          `${String(backwardStats.acceptedSteps).padStart(14)} (${backwardStats.rejectedSteps})${' '.repeat(9)} ${ms.toFixed(0).padStart(11)}`,
      );
    }
  }
  tf.dispose([y0, ...params]);
}
