/**
 * The Neural ODE paper's time-series table (§5, Table 2) on cnfkit: latent ODE against the RNN with
 * time gaps, on 1000 irregularly observed spirals (30, 50 or 100 of 100 times observed), predictive
 * RMSE on 200 held-out spirals beside the paper's figures, and the paper's picture per setting. The
 * six runs are independent processes (examples/latent_ode/train.ts), one per core.
 *
 *   npx tsx examples/latent_ode.ts [--quick] [--iterations 1500] [--batch 100] [--observations 30,50,100] [--out runs/examples/latent_ode]
 *
 * `--quick` (40 iterations at batch 50) checks the pipeline in well under a minute; the default
 * takes about 17 minutes on 2 cores.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runJobs, type Job } from './run_jobs.js';
import { writeSpiralPicture } from './latent_ode/picture.js';
import { observationMasks, spirals } from './latent_ode/spirals.js';
import type { LatentOdeRun } from './latent_ode/train.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const quick = process.argv.includes('--quick');
const iterations = Number(arg('iterations', quick ? '40' : '1500'));
const batch = Number(arg('batch', quick ? '50' : '100'));
const settings = arg('observations', '30,50,100').split(',').map(Number);
const out = arg('out', 'runs/examples/latent_ode');
if (!(Number.isInteger(iterations) && iterations > 0)) throw new Error(`--iterations must be a positive integer, but got '${arg('iterations', '')}'`);
if (!(Number.isInteger(batch) && batch > 0 && batch <= 1000)) throw new Error(`--batch must be an integer in 1…1000, but got '${arg('batch', '')}'`);
if (settings.some((k) => !(Number.isInteger(k) && k >= 1 && k <= 100))) throw new Error(`--observations must list integers in 1…100, but got '${arg('observations', '')}'`);
mkdirSync(out, { recursive: true });

/** The paper's Table 2 (RMSE on its test spirals). */
const PAPER = { rnn: { 30: 0.3937, 50: 0.3202, 100: 0.1813 }, 'latent-ode': { 30: 0.1642, 50: 0.1502, 100: 0.1346 } } as Record<string, Record<number, number>>;
const MODELS = ['rnn', 'latent-ode'] as const;

const script = fileURLToPath(new URL('./latent_ode/train.ts', import.meta.url));
const jobs: Job[] = settings.flatMap((k) =>
  MODELS.map((model) => ({
    name: `${model}-${k}`,
    script,
    args: ['--model', model, '--observations', String(k), '--iterations', String(iterations), '--batch', String(batch)],
    // A latent-ODE step costs about seven RNN steps.
    cost: model === 'rnn' ? 1 : 7,
  })),
);
console.log(`examples/latent_ode.ts: ${jobs.length} runs of ${iterations} iterations at batch ${batch}, ${os.availableParallelism()} at a time (${os.cpus()[0]?.model ?? 'unknown CPU'})`);
const started = performance.now();
const results = await runJobs<LatentOdeRun>(jobs, out);
const minutes = (performance.now() - started) / 60_000;

console.log(`\nPredictive RMSE on 200 held-out spirals (per coordinate, against the noise-free truth): interpolation = the`);
console.log(`sample window, extrapolation = the 100 times after it. ${iterations} Adam steps at batch ${batch}; ${minutes.toFixed(1)} minutes in all.\n`);
console.log(`| observations | RNN interp. | RNN extrap. | latent ODE interp. | latent ODE extrap. | paper: RNN | paper: latent ODE |`);
console.log(`|---|---|---|---|---|---|---|`);
const test = spirals(200, 1);
const files: string[] = [];
for (const k of settings) {
  const [rnn, ode] = MODELS.map((m) => results.get(`${m}-${k}`)!);
  const paper = (m: string) => PAPER[m][k]?.toFixed(4) ?? '—';
  console.log(`| ${k} | ${rnn.interpolation.toFixed(3)} | ${rnn.extrapolation.toFixed(3)} | ${ode.interpolation.toFixed(3)} | ${ode.extrapolation.toFixed(3)} | ${paper('rnn')} | ${paper('latent-ode')} |`);
  const file = join(out, `spirals-${k}.png`);
  writeSpiralPicture(file, `${k} observations of 100: held-out spirals, ${iterations} steps`, test, observationMasks(200, k, 1), [
    { label: 'RNN with time gaps', paths: rnn.paths },
    { label: 'latent ODE', paths: ode.paths },
  ]);
  files.push(file);
}
console.log(`\npictures: ${files.join(', ')}`);
