/**
 * The Neural ODE papers' spiral: learn unknown dynamics from an observed trajectory.
 *
 * The data come from dy/dt = (y³) A with A = [[−0.1, 2], [−2, −0.1]], y(0) = [2, 0], observed at 1000
 * times in [0, 25]. The model is dy/dt = MLP(y³) (2 → 50 → 2, tanh), trained by backprop through
 * `odeint` on random short segments of the trajectory (20 segments of 10 observations a step).
 * Writes runs/examples/spiral.png: the true and the learned trajectory, and both vector fields.
 *
 *   npx tsx examples/spiral.ts [--iterations 1500] [--lr 0.003]
 */
import { matMul, odeint, ready, tf } from '../src/index.node.js';
import { Axes, COLORS } from '../src/viz/axes.js';
import { Raster } from '../src/viz/raster.js';
import { writePng } from '../src/viz/png.js';

const option = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const iterations = option('iterations', 1500);
const learningRate = option('lr', 0.003);
await ready();

const A = tf.tensor2d([[-0.1, 2.0], [-2.0, -0.1]]);
const trueDynamics = (_t: tf.Scalar, y: tf.Tensor) => tf.matMul(tf.pow(y, 3) as tf.Tensor2D, A);
const T = 25;
const N = 1000;
const ts = Array.from({ length: N }, (_, i) => (i * T) / (N - 1));
const trueY0 = tf.tensor2d([[2, 0]]);
const observed = tf.tidy(() => odeint(trueDynamics, trueY0, ts, { method: 'dopri5', rtol: 1e-7, atol: 1e-8 }).reshape([N, 2])) as tf.Tensor2D;

// The model: y³ → tanh(·W1 + b1) → ·W2 + b2, initialised N(0, 0.1) as in torchdiffeq's demo.
const seeded = (shape: [number, number], seed: number) => tf.variable(tf.randomNormal(shape, 0, 0.1, 'float32', seed) as tf.Tensor2D);
const W1 = seeded([2, 50], 1);
const b1 = tf.variable(tf.zeros([50]));
const W2 = seeded([50, 2], 2);
const b2 = tf.variable(tf.zeros([2]));
const model = (_t: tf.Scalar, y: tf.Tensor) =>
  tf.add(matMul(tf.tanh(tf.add(matMul(tf.pow(y, 3) as tf.Tensor2D, W1), b1)) as tf.Tensor2D, W2), b2);

// Minibatches: 20 segments of 10 consecutive observations, from seeded start indices.
const batchSize = 20;
const batchTime = 10;
const segmentTs = ts.slice(0, batchTime);
let state = 12345;
const nextIndex = () => (state = (state * 1103515245 + 12345) % 2 ** 31) % (N - batchTime);

const optimizer = tf.train.adam(learningRate);
const params = [W1, b1, W2, b2];
// Training on short segments makes the whole-trajectory fit wander; keep the best weights seen.
let best = { loss: Infinity, iteration: 0, weights: params.map((p) => p.clone()) };
const started = performance.now();
for (let it = 1; it <= iterations; it++) {
  const starts = Array.from({ length: batchSize }, nextIndex);
  const loss = optimizer.minimize(() => {
    const idx = tf.tensor1d(starts, 'int32');
    const y0 = tf.gather(observed, idx);
    const target = tf.stack(segmentTs.map((_, k) => tf.gather(observed, tf.add(idx, tf.scalar(k, 'int32')))));
    const pred = odeint(model, y0, segmentTs, { method: 'rk4' });
    return tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
  }, true);
  if (it % 100 === 0 || it === iterations) {
    const full = tf.tidy(() => odeint(model, trueY0, ts, { method: 'dopri5', rtol: 1e-5, atol: 1e-6 }).reshape([N, 2]));
    const fullLoss = tf.tidy(() => tf.mean(tf.abs(tf.sub(full, observed)))).dataSync()[0];
    full.dispose();
    if (fullLoss < best.loss) {
      tf.dispose(best.weights);
      best = { loss: fullLoss, iteration: it, weights: params.map((p) => p.clone()) };
    }
    const rate = it / ((performance.now() - started) / 1000);
    console.log(`iteration ${it}: batch loss ${loss!.dataSync()[0].toFixed(4)}, whole-trajectory loss ${fullLoss.toFixed(4)} (${rate.toFixed(0)} it/s)`);
  }
  loss?.dispose();
}

params.forEach((p, i) => p.assign(best.weights[i]));
tf.dispose(best.weights);
console.log(`kept the weights of iteration ${best.iteration}: whole-trajectory loss ${best.loss.toFixed(4)} (mean |error| over 1000 observations)`);
const learned = tf.tidy(() => odeint(model, trueY0, ts, { method: 'dopri5', rtol: 1e-5, atol: 1e-6 }).reshape([N, 2]));
const [truePts, learnedPts] = [observed.arraySync() as number[][], learned.arraySync() as number[][]];

// Picture: trajectories in time, the phase plane, and the two vector fields.
const raster = new Raster(1350, 440);
const time = new Axes(raster, 60, 50, 380, 330, [0, T], [-2.2, 2.2]);
time.frame({ title: 'trajectories', xlabel: 't', ylabel: 'x, y' });
time.line(ts, truePts.map((p) => p[0]), COLORS.blue, 2);
time.line(ts, truePts.map((p) => p[1]), COLORS.green, 2);
time.line(ts, learnedPts.map((p) => p[0]), COLORS.orange, 1.2);
time.line(ts, learnedPts.map((p) => p[1]), COLORS.red, 1.2);
time.legend([
  { label: 'x true', color: COLORS.blue },
  { label: 'y true', color: COLORS.green },
  { label: 'x learned', color: COLORS.orange },
  { label: 'y learned', color: COLORS.red },
]);
// Wider than the spiral (|x|, |y| ≤ 2), so a corner is free for the legend.
const phase = new Axes(raster, 510, 50, 330, 330, [-2.6, 2.6], [-2.6, 2.6]);
phase.frame({ title: 'phase plane', xlabel: 'x', ylabel: 'y' });
phase.line(truePts.map((p) => p[0]), truePts.map((p) => p[1]), COLORS.blue, 2);
phase.line(learnedPts.map((p) => p[0]), learnedPts.map((p) => p[1]), COLORS.orange, 1.2);
phase.legend([{ label: 'true', color: COLORS.blue }, { label: 'learned', color: COLORS.orange }]);
const field = new Axes(raster, 910, 50, 330, 330, [-2.6, 2.6], [-2.6, 2.6]);
field.frame({ title: 'vector fields', xlabel: 'x', ylabel: 'y' });
const grid: number[][] = [];
for (let i = 0; i < 15; i++) for (let j = 0; j < 15; j++) grid.push([-2 + (4 * i) / 14, -2 + (4 * j) / 14]);
const [trueField, learnedField] = tf.tidy(() => {
  const g = tf.tensor2d(grid);
  return [trueDynamics(tf.scalar(0), g).arraySync(), model(tf.scalar(0), g).arraySync()] as number[][][];
});
const arrows = (vectors: number[][], color: (typeof COLORS)[keyof typeof COLORS]) =>
  grid.forEach(([x, y], k) => {
    const [u, v] = vectors[k];
    const scale = 0.12 / Math.max(1, Math.hypot(u, v) ** 0.5);
    field.arrow(x, y, x + u * scale, y + v * scale, color, color === COLORS.blue ? 2.5 : 1.2, color === COLORS.blue ? 6 : 4);
  });
arrows(trueField, COLORS.blue);
arrows(learnedField, COLORS.orange);
field.legend([{ label: 'true', color: COLORS.blue }, { label: 'learned', color: COLORS.orange }], 'outside');
const path = 'runs/examples/spiral.png';
writePng(path, raster);
console.log(`wrote ${path}`);
tf.dispose([A, trueY0, observed, learned, W1, b1, W2, b2]);
