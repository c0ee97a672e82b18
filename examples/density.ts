/**
 * Fit a flow to your own points: read a CSV of 2D points (x,y per line, an optional header), train,
 * report log p of new points, and write samples.
 *
 *   npx tsx examples/density.ts points.csv [--query 0.5,1.0] [--seconds 30] [--out runs/density]
 *
 * Without a file it writes a demonstration CSV (a noisy ring) first and uses that.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { CNF, ready, tf } from '../src/index.node.js';
import { writeFlowPictures } from '../src/viz/flow_pictures.js';

const arg = (name: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
};
/** One line on what is wrong, then exit 2 (a script for users: no stack traces for their mistakes). */
function fail(message: string): never {
  console.error(`examples/density.ts: ${message}`);
  process.exit(2);
}

const out = arg('out') ?? 'runs/density';
let file = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : undefined;
if (file && !existsSync(file)) fail(`${file} does not exist; pass a CSV of x,y lines, or no file for a demonstration ring`);
mkdirSync(out, { recursive: true });
if (!file) {
  file = `${out}/ring.csv`;
  const lines = ['x,y'];
  for (let i = 0; i < 3000; i++) {
    const a = (2 * Math.PI * i) / 3000;
    const r = 2 + 0.2 * Math.sin(7 * a) + 0.1 * Math.cos(13 * i);
    lines.push(`${(r * Math.cos(a)).toFixed(4)},${(r * Math.sin(a)).toFixed(4)}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
  console.log(`no CSV given: wrote a demonstration ring to ${file}`);
}

/** Parses "x,y" lines; skips a header and blank lines; names the first bad line. */
function readPoints(path: string): number[][] {
  const rows = readFileSync(path, 'utf8').split(/\r?\n/);
  const points: number[][] = [];
  rows.forEach((line, i) => {
    if (!line.trim() || (i === 0 && /[a-df-z]/i.test(line))) return;
    const values = line.split(',').map(Number);
    if (values.length !== 2 || !values.every(Number.isFinite)) fail(`${path}:${i + 1}: expected 'x,y' (two numbers), got '${line}'`);
    points.push(values);
  });
  return points;
}

await ready();
const points = readPoints(file);
if (points.length < 2) fail(`${file} holds ${points.length} point(s); a density needs at least 2`);
// Standardise, so one set of training settings suits any scale; densities are mapped back below.
const mean = [0, 1].map((k) => points.reduce((s, p) => s + p[k], 0) / points.length);
const std = [0, 1].map((k) => Math.sqrt(points.reduce((s, p) => s + (p[k] - mean[k]) ** 2, 0) / points.length) || 1);
const data = tf.tensor2d(points.map((p) => p.map((v, k) => (v - mean[k]) / std[k])));
const flow = new CNF({ dim: 2, seed: 0 });
const report = await flow.fit(data, {
  iterations: 1_000_000,
  objective: 'flow-matching',
  batchSize: 512,
  learningRate: 3e-3,
  signal: AbortSignal.timeout(Number(arg('seconds') ?? 30) * 1000),
});
console.log(`trained on ${points.length} points: ${report.history.length} iterations in ${report.seconds.toFixed(1)} s`);

const query = (arg('query') ?? `${mean[0]},${mean[1]};${mean[0] + 2 * std[0]},${mean[1]}`).split(';').map((q) => q.split(',').map(Number));
// log p_x(x) = log p_u((x − m)/s) − Σ log s
const logJacobian = Math.log(std[0]) + Math.log(std[1]);
const logp = tf.tidy(() => flow.logProb(tf.tensor2d(query.map((q) => q.map((v, k) => (v - mean[k]) / std[k])))).dataSync());
query.forEach((q, i) => console.log(`log p(${q.map((v) => +v.toFixed(4)).join(", ")}) = ${(logp[i] - logJacobian).toFixed(3)}`));

const samples = flow.sample(1000, 1).arraySync() as number[][];
writeFileSync(`${out}/samples.csv`, ['x,y', ...samples.map((s) => s.map((v, k) => (v * std[k] + mean[k]).toFixed(5)).join(','))].join('\n') + '\n');
writeFlowPictures(out, { flow, data, title: 'your data (standardised)', losses: report.history.map((r) => r.loss), lossLabel: 'flow-matching loss' });
console.log(`wrote ${out}/samples.csv and ${out}/figure.png`);
data.dispose();
flow.dispose();
