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
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { CNF, ready, tf } from '../src/index.node.js';
import { readCsvPoints } from '../src/cli/csv_points.js';
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

await ready();
// The command line's reader: every line checked (an empty cell, NaN or a stray separator is named,
// never read as 0), values kept in float64.
const csv = await readCsvPoints(file, 'data').catch((e: Error) => fail(e.message.replace(/^--data /, '')));
const { rows, dim, values } = csv;
const header = csv.header?.join(',');
if (rows < 2) fail(`${file} holds ${rows} point(s); a density needs at least 2`);
const columns = Array.from({ length: dim }, (_, k) => k);
const column = (k: number) => Array.from({ length: rows }, (_, r) => values[r * dim + k]);
const mean = columns.map((k) => column(k).reduce((s, v) => s + v, 0) / rows);
const std = columns.map((k) => Math.sqrt(column(k).reduce((s, v) => s + (v - mean[k]) ** 2, 0) / rows));
// A constant column has no density (a point mass): refused, as `cnfkit train` does.
const constant = columns.find((k) => std[k] <= 1e-12 * Math.abs(mean[k]));
if (constant !== undefined) fail(`${file}: column ${constant + 1}${csv.header ? ` ('${csv.header[constant]}')` : ''} holds ${values[constant]} in every point; a density over a constant is infinite. Drop the column`);
// The mean comes off in float64, here, before the points become float32 tensors: a column of Unix
// times (1.7e9) would otherwise keep steps of 128 s. The flow scales by std itself (option
// `standardize`, saved with a model), so its densities are in your units.
const centred = (point: ArrayLike<number>) => Array.from(point, (v, k) => v - mean[k % dim]);
const data = tf.tensor2d(Float32Array.from(centred(values)), [rows, dim]);
const flow = new CNF({ dim, seed: 0, standardize: { mean: columns.map(() => 0), std } });
const report = await flow.fit(data, {
  iterations: 1_000_000,
  objective: 'flow-matching',
  batchSize: 512,
  learningRate: 3e-3,
  signal: AbortSignal.timeout(seconds * 1000),
});
console.log(`trained on ${rows} points: ${report.history.length} iterations in ${report.seconds.toFixed(1)} s`);

const query = (arg('query') ?? [mean.join(','), mean.map((m, k) => (k === 0 ? m + 2 * std[0] : m)).join(',')].join(';')).split(';').map((q) => q.split(',').map((v) => (v.trim() === '' ? NaN : Number(v))));
if (query.some((q) => q.length !== dim || !q.every(Number.isFinite))) fail(`--query must be points of ${dim} comma-separated numbers, separated by ';'`);
const logp = tf.tidy(() => flow.logProb(tf.tensor2d(query.map(centred))).dataSync());
query.forEach((q, i) => console.log(`log p(${q.map((v) => +v.toFixed(4)).join(', ')}) = ${logp[i].toFixed(3)}`));

const samples = (flow.sample(1000, 1).arraySync() as number[][]).map((s) => s.map((v, k) => v + mean[k]));
writeFileSync(`${out}/samples.csv`, [header ?? columns.map((k) => `x${k}`).join(','), ...samples.map((s) => s.map((v) => v.toFixed(5)).join(','))].join('\n') + '\n');
if (dim === 2) {
  const shifted = mean.some((m, k) => Math.abs(m) > 1e3 * std[k]);
  writeFlowPictures(out, { flow, data, title: shifted ? `your data less its mean (${mean.map((m) => m.toPrecision(6)).join(', ')})` : 'your data', losses: report.history.map((r) => r.loss), lossLabel: 'flow-matching loss' });
  console.log(`wrote ${out}/samples.csv and ${out}/figure.png`);
} else {
  console.log(`wrote ${out}/samples.csv (${dim}-D: no pictures)`);
}
data.dispose();
flow.dispose();
