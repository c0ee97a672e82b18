/**
 * The free-falling object of the Neural ODE lecture: with air friction, dv/dt = 9.8 − 0.196 v,
 * so every fall tends to the terminal velocity 50 m/s; exactly, v(t) = 50 + (v0 − 50) e^{−0.196 t}.
 *
 * Solves a batch of initial velocities at once with dopri5 (its largest error against the analytic
 * solution printed), measures euler's and rk4's error at t = 30 s against the step size, and writes
 * runs/examples/free_fall.png (direction field, solutions, errors).
 *
 *   npx tsx examples/free_fall.ts
 */
import { createStats, odeint, ready, tf, type MethodName } from '../src/index.node.js';
import { Axes, COLORS } from '../src/viz/axes.js';
import { Raster } from '../src/viz/raster.js';
import { writePng } from '../src/viz/png.js';

await ready();
const dvdt = (_t: tf.Scalar, v: tf.Tensor) => tf.sub(9.8, tf.mul(0.196, v));
const exact = (v0: number, t: number) => 50 + (v0 - 50) * Math.exp(-0.196 * t);

const v0s = [0, 20, 40, 60, 80];
const ts = Array.from({ length: 61 }, (_, i) => i * 0.5); // 0 … 30 s
const v0 = tf.tensor1d(v0s);
const stats = createStats();
const solution = odeint(dvdt, v0, ts, { method: 'dopri5', rtol: 1e-6, atol: 1e-6, stats });
const vs = solution.arraySync() as number[][]; // [time][v0]
tf.dispose([solution]);
const worst = Math.max(...ts.flatMap((t, i) => v0s.map((v, j) => Math.abs(vs[i][j] - exact(v, t)))));
console.log(`dopri5: ${v0s.length} falls at once, ${ts.length} output times, ${stats.nfe} evaluations, max |error| ${worst.toExponential(2)} m/s`);

// Error at t = 30 s of the fixed-step methods against the step size.
const methods: { method: MethodName; color: (typeof COLORS)[keyof typeof COLORS] }[] = [
  { method: 'euler', color: COLORS.red },
  { method: 'rk4', color: COLORS.green },
];
const steps = [4, 2, 1, 0.5, 0.25, 0.125];
const errorAt30 = (method: MethodName, options: object) => {
  const out = odeint(dvdt, v0, [0, 30], { method, ...options });
  const end = out.slice([1], [1]).dataSync();
  out.dispose();
  return Math.max(...v0s.map((v, j) => Math.abs(end[j] - exact(v, 30))));
};
const curves = methods.map(({ method }) => steps.map((h) => errorAt30(method, { stepSize: h })));
for (const [k, { method }] of methods.entries()) {
  console.log(`${method.padEnd(6)} error at t=30 s for h = ${steps.join(', ')}: ${curves[k].map((e) => e.toExponential(1)).join(', ')}`);
}
v0.dispose();

// Picture: left, the direction field with the solutions; right, log10 error against log10 h.
const raster = new Raster(1000, 460);
const left = new Axes(raster, 70, 50, 400, 340, [0, 30], [0, 85]);
left.frame({ title: 'dv/dt = 9.8 - 0.196 v', xlabel: 't (s)', ylabel: 'v (m/s)' });
for (let t = 1; t < 30; t += 2) {
  for (let v = 5; v < 85; v += 8) {
    const slope = 9.8 - 0.196 * v;
    const norm = Math.hypot(1, slope / 4);
    left.line([t - 0.6 / norm, t + 0.6 / norm], [v - (0.6 * slope) / norm, v + (0.6 * slope) / norm], COLORS.gray, 1);
  }
}
v0s.forEach((v, j) => {
  left.line(ts, ts.map((t) => exact(v, t)), COLORS.black, 1);
  left.scatter(ts, vs.map((row) => row[j]), COLORS.blue, 2.2);
});
left.legend([{ label: 'dopri5', color: COLORS.blue }, { label: 'analytic', color: COLORS.black }]);

const right = new Axes(raster, 570, 50, 400, 340, [-1, 0.7], [-8, 2]);
right.frame({ title: 'error at t = 30 s', xlabel: 'log10 step size h', ylabel: 'log10 |error|' });
methods.forEach(({ color }, k) => {
  const xs = steps.map(Math.log10);
  const ys = curves[k].map((e) => Math.log10(Math.max(e, 1e-9)));
  right.line(xs, ys, color, 2);
  right.scatter(xs, ys, color, 3);
});
// Float32 resolves about 6e-8 relative: at |v| ≈ 80 m/s no method can do better than ~5e-6.
const floor = Math.log10(80 * 2 ** -24);
right.line([-1, 0.7], [floor, floor], COLORS.gray, 1);
raster.text(right.px(-0.95), right.py(floor) + 4, 'float32 resolution at |v| = 80', COLORS.gray);
right.legend(methods.map(({ method, color }) => ({ label: `${method} (order ${method === 'euler' ? 1 : 4})`, color })));
const path = 'runs/examples/free_fall.png';
writePng(path, raster);
console.log(`wrote ${path}`);
