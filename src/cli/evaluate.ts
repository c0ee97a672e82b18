/**
 * `cnfkit eval`, `cnfkit sample` and `cnfkit plot`: use a trained model.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TOY_DATASETS, TOY_ENTROPY, toyData, type ToyDataset } from '../data/toy.js';
import { CNF } from '../flows/cnf.js';
import { createStats } from '../ode/stats.js';
import { writeFlowPictures } from '../viz/flow_pictures.js';
import { UsageError, type OptionSpec, type ParsedOptions } from './args.js';
import { MAX_PARAMETERS_OPTION, holdsModel, readRunInfo, usableFolder } from './run_files.js';

const backend: OptionSpec = { name: 'backend', kind: 'string', choices: ['auto', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu', 'webgpu'], help: 'tfjs backend (else CNFKIT_BACKEND)' };
const model: OptionSpec = { name: 'model', kind: 'string', required: true, help: 'a run folder (from train) or a model folder' };

export const EVAL_OPTIONS: readonly OptionSpec[] = [
  model,
  { name: 'data', kind: 'string', choices: TOY_DATASETS, help: 'toy data set (default: the one trained on)' },
  { name: 'n', kind: 'integer', default: 5000, help: 'held-out points' },
  { name: 'seed', kind: 'number', default: 12345, help: 'seed of the held-out points' },
  MAX_PARAMETERS_OPTION,
  backend,
];
export const SAMPLE_OPTIONS: readonly OptionSpec[] = [
  model,
  { name: 'n', kind: 'integer', default: 1000, help: 'how many samples' },
  { name: 'out', kind: 'string', required: true, help: 'CSV file to write (x,y per line)' },
  { name: 'seed', kind: 'number', default: 0, help: 'seed of the samples' },
  { name: 'with-log-prob', kind: 'flag', help: "add each sample's log-density (from the same solve) as a column" },
  MAX_PARAMETERS_OPTION,
  backend,
];
export const PLOT_OPTIONS: readonly OptionSpec[] = [
  model,
  { name: 'data', kind: 'string', choices: TOY_DATASETS, help: 'toy data set to show (default: the one trained on)' },
  { name: 'out', kind: 'string', help: 'folder for the pictures (default: the run folder)' },
  MAX_PARAMETERS_OPTION,
  backend,
];

/** The model folder behind --model, and the run folder when there is one. */
function locate(path: string): { modelDir: string; runDir?: string } {
  if (holdsModel(join(path, 'model'))) return { modelDir: join(path, 'model'), runDir: path };
  if (holdsModel(path)) return { modelDir: path };
  throw new UsageError(`--model ${path} holds no model (expected ${join(path, 'model', 'model.json')} or ${join(path, 'model.json')})`);
}

function dataName(o: ParsedOptions, runDir?: string): ToyDataset {
  const name = (o.data as ToyDataset | undefined) ?? (runDir ? (readRunInfo(runDir)?.data as ToyDataset | undefined) : undefined);
  if (!name) throw new UsageError('--data is required (the model folder does not say which data set it was trained on)');
  return name;
}

export async function evaluate(o: ParsedOptions, log: (line: string) => void): Promise<number> {
  const { modelDir, runDir } = locate(o.model as string);
  const name = dataName(o, runDir);
  const flow = await CNF.load(modelDir, { maxParameters: o['max-parameters'] as number | undefined });
  const x = toyData(name, o.n as number, o.seed as number);
  const stats = createStats();
  const started = performance.now();
  // The async forms: the same numbers, and they run on every backend (--backend webgpu included).
  const logp = await flow.logProbAsync(x, { stats });
  const values = Array.from(await logp.data());
  const seconds = (performance.now() - started) / 1000;
  const nll = -values.reduce((s, v) => s + v, 0) / values.length;
  const se = Math.sqrt(values.reduce((s, v) => s + (v + nll) ** 2, 0) / (values.length - 1) / values.length);
  const bound = TOY_ENTROPY[name];
  log(`held-out NLL on ${values.length} ${name} points (exact trace): ${nll.toFixed(4)} ± ${se.toFixed(4)} nats` + (bound !== undefined ? `; entropy bound ${bound.toFixed(4)}` : ''));
  log(`evaluations ${stats.nfe}, ${seconds.toFixed(2)} s`);
  tf.dispose([x, logp]);
  flow.dispose();
  return 0;
}

export async function sample(o: ParsedOptions, log: (line: string) => void): Promise<number> {
  const { modelDir } = locate(o.model as string);
  const out = o.out as string;
  if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out ${out} is a folder; name the CSV file to write`);
  await usableFolder('out', dirname(resolve(out)), false);
  const flow = await CNF.load(modelDir, { maxParameters: o['max-parameters'] as number | undefined });
  const withLogProb = o['with-log-prob'] === true;
  const { samples, logProb } = withLogProb ? await flow.sampleWithLogProbAsync(o.n as number, o.seed as number) : { samples: await flow.sampleAsync(o.n as number, o.seed as number), logProb: undefined };
  const rows = (await samples.array()) as number[][];
  const densities = await logProb?.data();
  await usableFolder('out', dirname(resolve(out)), true);
  const header = withLogProb ? 'x,y,log_prob' : 'x,y';
  writeFileSync(out, [header, ...rows.map((r, i) => (densities ? [...r, densities[i]] : r).join(','))].join('\n') + '\n');
  log(`wrote ${rows.length} samples${withLogProb ? ' with their log-densities' : ''} to ${out}`);
  tf.dispose([samples, ...(logProb ? [logProb] : [])]);
  flow.dispose();
  return 0;
}

export async function plot(o: ParsedOptions, log: (line: string) => void): Promise<number> {
  const { modelDir, runDir } = locate(o.model as string);
  const name = dataName(o, runDir);
  const out = (o.out as string | undefined) ?? runDir ?? modelDir;
  await usableFolder('out', out, true);
  const flow = await CNF.load(modelDir, { maxParameters: o['max-parameters'] as number | undefined });
  const data = toyData(name, 2000, 1);
  const written = writeFlowPictures(out, { flow, data, title: name });
  log(`wrote ${written.join(', ')}`);
  data.dispose();
  flow.dispose();
  return 0;
}
