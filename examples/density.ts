/**
 * Fit a flow to your own points: read a CSV of any width (one point per line, the same number of
 * columns on every line, an optional header), train, report log p of new points, and write samples
 * (and, for 2-D data, the pictures). The flow standardises the data itself (option `standardize`), so
 * the same settings suit any scale, and densities are in your units.
 *
 *   npx tsx examples/density.ts points.csv [--query '0.5,1.0;2,3'] [--seconds 30] [--out runs/density]
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
// The file is the argument that is neither an option nor an option's value, wherever it stands.
const OPTIONS = ['query', 'seconds', 'out'];
const given = process.argv.slice(2);
given.forEach((a) => a.startsWith('--') && !OPTIONS.includes(a.slice(2)) && fail(`unknown option ${a}; the options are ${OPTIONS.map((o) => `--${o}`).join(', ')}`));
const positional = given.filter((a, i) => !a.startsWith('--') && !(i > 0 && OPTIONS.includes(given[i - 1].slice(2)) && given[i - 1].startsWith('--')));
if (positional.length > 1) fail(`expected one CSV file, but got ${positional.map((p) => `'${p}'`).join(', ')} (quote a --query holding ';')`);
let file = positional[0];
const seconds = Number(arg('seconds') ?? 30);
if (!(seconds > 0 && Number.isFinite(seconds))) fail(`--seconds must be a positive number, but got '${arg('seconds')}'`);
if (file && !existsSync(file)) fail(`${file} does not exist; pass a CSV of comma-separated points, or no file for a demonstration ring`);
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

/** Parses comma-separated lines of one width; skips a header and blank lines; names the first bad line. */
function readPoints(path: string): { points: number[][]; header?: string } {
  const rows = readFileSync(path, 'utf8').split(/\r?\n/);
  const points: number[][] = [];
  let header: string | undefined;
  rows.forEach((line, i) => {
    if (!line.trim()) return;
    if (i === 0 && /[a-df-z]/i.test(line)) return void (header = line.trim());
    const values = line.split(',').map(Number);
    const width = points[0]?.length ?? values.length;
    if (values.length !== width || !values.every(Number.isFinite)) fail(`${path}:${i + 1}: expected ${width} comma-separated numbers, got '${line.slice(0, 80)}'`);
    points.push(values);
  });
  return { points, header };
}

await ready();
const { points, header } = readPoints(file);
if (points.length < 2) fail(`${file} holds ${points.length} point(s); a density needs at least 2`);
const dim = points[0].length;
const columns = Array.from({ length: dim }, (_, k) => k);
// The flow standardises with the data's mean and standard deviation (saved with the model).
const mean = columns.map((k) => points.reduce((s, p) => s + p[k], 0) / points.length);
const std = columns.map((k) => Math.sqrt(points.reduce((s, p) => s + (p[k] - mean[k]) ** 2, 0) / points.length));
// A constant column has no density (a point mass): refused, as `cnfkit train` does.
const constant = columns.find((k) => std[k] <= 1e-12 * Math.abs(mean[k]));
if (constant !== undefined) fail(`${file}: column ${constant + 1}${header ? ` ('${header.split(',')[constant]}')` : ''} holds ${points[0][constant]} in every point; a density over a constant is infinite. Drop the column`);
const data = tf.tensor2d(points);
const flow = new CNF({ dim, seed: 0, standardize: { mean, std } });
const report = await flow.fit(data, {
  iterations: 1_000_000,
  objective: 'flow-matching',
  batchSize: 512,
  learningRate: 3e-3,
  signal: AbortSignal.timeout(seconds * 1000),
});
console.log(`trained on ${points.length} points: ${report.history.length} iterations in ${report.seconds.toFixed(1)} s`);

const query = (arg('query') ?? [mean.join(','), mean.map((m, k) => (k === 0 ? m + 2 * std[0] : m)).join(',')].join(';')).split(';').map((q) => q.split(',').map(Number));
if (query.some((q) => q.length !== dim || !q.every(Number.isFinite))) fail(`--query must be points of ${dim} comma-separated numbers, separated by ';'`);
const logp = tf.tidy(() => flow.logProb(tf.tensor2d(query)).dataSync());
query.forEach((q, i) => console.log(`log p(${q.map((v) => +v.toFixed(4)).join(', ')}) = ${logp[i].toFixed(3)}`));

const samples = flow.sample(1000, 1).arraySync() as number[][];
writeFileSync(`${out}/samples.csv`, [header ?? columns.map((k) => `x${k}`).join(','), ...samples.map((s) => s.map((v) => v.toFixed(5)).join(','))].join('\n') + '\n');
if (dim === 2) {
  writeFlowPictures(out, { flow, data, title: 'your data', losses: report.history.map((r) => r.loss), lossLabel: 'flow-matching loss' });
  console.log(`wrote ${out}/samples.csv and ${out}/figure.png`);
} else {
  console.log(`wrote ${out}/samples.csv (${dim}-D: no pictures)`);
}
data.dispose();
flow.dispose();
