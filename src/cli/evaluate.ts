/**
 * `cnfkit eval`, `cnfkit sample` and `cnfkit plot`: use a trained model.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TOY_DATASETS, TOY_ENTROPY, toyData, type ToyDataset } from '../data/toy.js';
import { CNF } from '../flows/cnf.js';
import { createStats } from '../ode/stats.js';
import { FLOW_PICTURES, writeFlowPictures } from '../viz/flow_pictures.js';
import { UsageError, type OptionSpec, type ParsedOptions } from './args.js';
import { MAX_PARAMETERS_OPTION, holdsModel, readRunInfo, usableFolder } from './run_files.js';
import { PointsFingerprint, summarizeCsvPoints, csvChunks, csvSplit, isCsvPath, parseShard, type PointChunk } from './csv_points.js';
import { CsvOutput, OVERWRITE_OPTION, checkOutputFile, refuseModelFolder, sameFile } from './csv_output.js';
import { latentBlocks } from './latent_blocks.js';
import { disposeWithTwin, flowSpaceTwin, picturePoints } from './flow_space.js';
import { logScale, toDataSpaceHost, toFlowSpaceHost } from '../flows/standardize.js';
import { dataIdentity, manifestPath, modelIdentity, writeShardManifest } from './shard_manifest.js';
import { HISTORY_FILE } from './run_history.js';

const backend: OptionSpec = { name: 'backend', kind: 'string', choices: ['auto', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu', 'webgpu'], help: 'tfjs backend (else CNFKIT_BACKEND)' };
const model: OptionSpec = { name: 'model', kind: 'string', required: true, help: 'a run folder (from train) or a model folder' };
const memoryLimit: OptionSpec = { name: 'memory-limit', kind: 'number', range: 'positive', help: "MiB one solve may take; larger batches go in chunks (default: the model's, 256 unless it was trained with another)" };

export const EVAL_OPTIONS: readonly OptionSpec[] = [
  model,
  { name: 'data', kind: 'string', help: 'a toy data set, or a CSV file of points (read as a stream; default: what the run trained on)' },
  { name: 'n', kind: 'integer', default: 5000, help: 'held-out points (toy data)' },
  { name: 'seed', kind: 'number', default: 12345, help: 'seed of the held-out points (toy data)' },
  { name: 'shard', kind: 'string', help: 'k/n: only the points whose index is k modulo n (to split a large evaluation over machines)' },
  { name: 'out', kind: 'string', help: 'CSV file for each point\'s log-density (index,log_prob)' },
  OVERWRITE_OPTION,
  MAX_PARAMETERS_OPTION,
  memoryLimit,
  backend,
];
export const SAMPLE_OPTIONS: readonly OptionSpec[] = [
  model,
  { name: 'n', kind: 'integer', default: 1000, help: 'how many samples' },
  { name: 'out', kind: 'string', required: true, help: 'CSV file to write (one sample per line)' },
  { name: 'seed', kind: 'number', default: 0, help: 'seed of the samples' },
  { name: 'with-log-prob', kind: 'flag', help: "add each sample's log-density (from the same solve) as a column" },
  { name: 'shard', kind: 'string', help: 'k/n: only the k-th of n equal slices of the n samples (the same latent points as the whole run)' },
  OVERWRITE_OPTION,
  MAX_PARAMETERS_OPTION,
  memoryLimit,
  backend,
];
export const PLOT_OPTIONS: readonly OptionSpec[] = [
  model,
  { name: 'data', kind: 'string', help: 'a toy data set or a CSV file of 2-D points to show (default: what the run trained on)' },
  { name: 'out', kind: 'string', help: 'folder for the pictures (default: the run folder)' },
  OVERWRITE_OPTION,
  MAX_PARAMETERS_OPTION,
  backend,
];

/** The model folder behind --model, and the run folder when there is one. */
function locate(path: string): { modelDir: string; runDir?: string } {
  // A model's model.json names its folder (and a run's model/model.json, its run).
  if (basename(path) === 'model.json' && existsSync(path) && statSync(path).isFile()) {
    const folder = dirname(path);
    return basename(folder) === 'model' && existsSync(join(folder, '..', 'run.json')) ? { modelDir: folder, runDir: dirname(folder) } : { modelDir: folder };
  }
  if (holdsModel(join(path, 'model'))) return { modelDir: join(path, 'model'), runDir: path };
  if (holdsModel(path)) return { modelDir: path };
  throw new UsageError(`--model ${path} holds no model (expected ${join(path, 'model', 'model.json')} or ${join(path, 'model.json')})`);
}

function dataName(o: ParsedOptions, runDir?: string): string {
  const name = (o.data as string | undefined) ?? (runDir ? (readRunInfo(runDir)?.data as string | undefined) : undefined);
  if (!name) throw new UsageError('--data is required (the model folder does not say which data set it was trained on)');
  checkDataValue(name);
  if (o.data === undefined && isCsvPath(name) && !existsSync(name)) {
    throw new UsageError(`the run's training data ${name} (named in ${join(runDir!, 'run.json')}) does not exist any more; pass --data to use another file`);
  }
  return name;
}

/** A `--data` value names a toy data set or a CSV file (checked before anything else is read). */
function checkDataValue(name: unknown): void {
  if (name !== undefined && !isCsvPath(String(name)) && !(TOY_DATASETS as readonly string[]).includes(String(name))) {
    throw new UsageError(`--data must be one of ${TOY_DATASETS.join(', ')}, or a CSV file (ending in .csv), but got '${name}'`);
  }
}

export async function evaluate(o: ParsedOptions, log: (line: string) => void, given: ReadonlySet<string> = new Set()): Promise<number> {
  checkDataValue(o.data);
  const { modelDir, runDir } = locate(o.model as string);
  const name = dataName(o, runDir);
  const shard = parseShard(o.shard);
  const out = o.out as string | undefined;
  const csv = isCsvPath(name);
  const toyOnly = ['n', 'seed'].filter((key) => given.has(key));
  if (csv && toyOnly.length) {
    const [what, verb, them] = toyOnly.length > 1 ? ['--n and --seed', 'choose', 'them'] : [`--${toyOnly[0]}`, 'chooses', 'it'];
    throw new UsageError(`${what} ${verb} toy data's held-out points; a CSV's points are its rows (omit ${them})`);
  }
  if (out) {
    const inputs = inputFiles(modelDir, runDir, csv ? name : undefined);
    checkOutputFile('out', out, inputs, o.overwrite === true);
    if (shard) checkOutputFile('out', manifestPath(out), inputs, o.overwrite === true);
    await usableFolder('out', dirname(resolve(out)), true);
  }
  // The run's own CSV (no --data given): its held-out tenth, as train split it; a CSV named by --data: all its points.
  const run = runDir ? readRunInfo(runDir) : undefined;
  const heldOut = csv && o.data === undefined && run ? new Set(csvSplit(await rowsAsTrained(name, run), Number(run.seed ?? 0)).heldOut) : undefined;
  const flow = await CNF.load(modelDir, loadOptions(o));
  // The points are standardised here in float64, and the network runs on them (cli/flow_space.ts).
  const standardize = flow.options.standardize;
  const network = flowSpaceTwin(flow);
  const stats = createStats();
  const started = performance.now();
  // Running sums over chunks of points, so a file of any size streams through (and --out with it).
  let [count, sum, sumSquares] = [0, 0, 0];
  let selected = 0; // the points of the whole (unsharded) evaluation, for the shard's manifest
  const offSupport: number[] = []; // indices of points whose log p overflowed float32 (−∞)
  const what = `${shard ? `shard ${shard.k}/${shard.n} of ` : ''}${csv ? `${heldOut ? 'the held-out points of ' : 'all points of '}${basename(name)}` : `${name} held-out points`}`;
  const file = out ? new CsvOutput(out, 'index,log_prob') : undefined;
  try {
    const chunks = csv ? csvChunks(name, 10_000, 'data') : toyChunks(name as ToyDataset, o.n as number, o.seed as number);
    let order: number[] | undefined;
    const fingerprint = new PointsFingerprint(); // of the file's values as they stand in it (before any reordering)
    let rows = 0;
    for await (const chunk of chunks) {
      fingerprint.add(chunk.values);
      rows += chunk.rows;
      if (chunk.dim !== flow.options.dim) throw new UsageError(`--data ${name} has ${chunk.dim} columns, but the model is ${flow.options.dim}-dimensional`);
      if (!order) {
        order = columnOrder(name, chunk.header, run?.columns as string[] | undefined);
        if (order.length) log(`--data ${basename(name)}: its columns reordered by name to the run's (${(run!.columns as string[]).join(',')})`);
        // A model folder alone holds no column names (a run folder's run.json does): say how they are matched.
        if (!run?.columns && chunk.header && chunk.dim > 1) log(`--data ${basename(name)}: columns ${chunk.header.join(',')} taken in that order (${o.model} names no columns; pass the run folder to match them by name)`);
      }
      reorderColumns(chunk, order);
      const inRun = Array.from({ length: chunk.rows }, (_, i) => chunk.firstIndex + i).filter((index) => !heldOut || heldOut.has(index));
      selected += inRun.length;
      const keep = shard ? inRun.filter((index) => index % shard.n === shard.k) : inRun;
      if (!keep.length) continue;
      const rowsOf = new Float64Array(keep.length * chunk.dim);
      keep.forEach((index, i) => rowsOf.set(chunk.values.subarray((index - chunk.firstIndex) * chunk.dim, (index - chunk.firstIndex + 1) * chunk.dim), i * chunk.dim));
      // A point whose standardised coordinates pass float32's range (Infinity here) is that far from
      // the data: its log p is −∞ (the flow cannot even hold it), like a solved one that overflows.
      const { values: inRange, rows: solved } = rowsInFloat32Range(toFlowSpaceHost(rowsOf, standardize), chunk.dim);
      const values: number[] = new Array(keep.length).fill(-Infinity);
      if (solved.length) {
        const u = tf.tensor2d(inRange, [solved.length, chunk.dim]);
        // The async forms: the same numbers, and they run on every backend (--backend webgpu included).
        // logProbAsync resets the stats it fills: one object per chunk, summed here.
        const chunkStats = createStats();
        const logp = await network.logProbAsync(u, { stats: chunkStats });
        stats.nfe += chunkStats.nfe;
        // log p(x) = log p_u(u) − Σ log std.
        (await logp.data()).forEach((v, i) => (values[solved[i]] = v - logScale(standardize)));
        tf.dispose([u, logp]);
      }
      values.forEach((v, i) => {
        count += 1;
        sum += v;
        sumSquares += v * v;
        if (!Number.isFinite(v)) offSupport.push(keep[i]);
      });
      file?.append(keep.map((index, i) => `${index},${values[i]}`));
    }
    if (count === 0 && !shard) throw new UsageError(`${what}: no points to evaluate`);
    // A rerun's old manifest goes first: a part must never stand beside another run's manifest.
    if (out && shard) rmSync(manifestPath(out), { force: true });
    file?.commit();
    if (out && shard) {
      const data = csv ? dataIdentity(rows, fingerprint.value) : `${name}, ${o.n} points, seed ${o.seed}`;
      writeShardManifest(out, { kind: 'eval', shard, rows: count, total: selected, run: { model: modelIdentity(modelDir), data, heldOut: heldOut !== undefined } });
    }
  } finally {
    disposeWithTwin(flow, network);
    file?.close();
  }
  // An empty shard (more shards than points) is a finished part of an indexed job, not a failure.
  if (count === 0) {
    log(`${what}: no points in this shard${out ? `; ${out} holds the header only` : ''}`);
    return 0;
  }
  const seconds = (performance.now() - started) / 1000;
  const nll = -sum / count;
  const se = count > 1 ? Math.sqrt(Math.max(0, sumSquares / count - (sum / count) ** 2) * (count / (count - 1)) / count) : NaN;
  const bound = TOY_ENTROPY[name as ToyDataset];
  if (offSupport.length) {
    const shown = offSupport.slice(0, 5).join(', ') + (offSupport.length > 5 ? ', …' : '');
    log(`warning: ${offSupport.length} ${offSupport.length === 1 ? 'point has' : 'points have'} log p = −∞ (too far from the data the model learned for float32: outliers, or columns in other units?), at index ${shown}; the NLL is infinite`);
  }
  log(`NLL on ${what} (${count} ${count === 1 ? 'point' : 'points'}, exact trace): ${Number.isFinite(nll) ? `${nll.toFixed(4)}${count > 1 ? ` ± ${se.toFixed(4)}` : ''}` : '∞'} nats` + (bound !== undefined ? `; entropy bound ${bound.toFixed(4)}` : ''));
  if (shard) log(`to combine shards: sum of log p ${sum} over ${count} points`);
  log(`evaluations ${stats.nfe}, ${seconds.toFixed(2)} s${out ? `; log-densities in ${out}` : ''}`);
  return 0;
}

/**
 * Where each of the run's columns is in the CSV's header: none when they agree (or either is
 * unnamed: train names a headerless CSV's columns x0, x1, …), a permutation when the same names stand
 * in another order.
 * @throws UsageError when the header names other columns than the run trained on
 */
function columnOrder(csv: string, header: string[] | undefined, trained: string[] | undefined): number[] {
  const unnamed = (names: string[]) => names.every((name, k) => name === `x${k}`);
  if (!header || !trained || unnamed(trained) || header.join() === trained.join()) return [];
  const order = trained.map((name) => header.indexOf(name));
  if (order.some((i) => i < 0) || new Set(header).size !== header.length) {
    const missing = trained.filter((name) => !header.includes(name));
    throw new UsageError(`--data ${csv} has columns ${header.join(',')}, but the run trained on ${trained.join(',')}${missing.length ? ` (${missing.join(', ')} missing)` : ''}: rename or reorder them`);
  }
  return order;
}

/** The chunk's columns in the run's order, in place (an empty order leaves it as it is). */
function reorderColumns(chunk: PointChunk, order: number[]): void {
  if (!order.length) return;
  const row = new Float64Array(chunk.dim);
  for (let r = 0; r < chunk.rows; r++) {
    const values = chunk.values.subarray(r * chunk.dim, (r + 1) * chunk.dim);
    order.forEach((from, k) => (row[k] = values[from]));
    values.set(row);
  }
}

/**
 * The rows of the run's CSV, which must be those it trained on: its held-out tenth is rebuilt from
 * the count (runs before 0.2 recorded neither the count nor the fingerprint).
 */
async function rowsAsTrained(csv: string, run: Record<string, unknown>): Promise<number> {
  const { rows, fingerprint } = await summarizeCsvPoints(csv, 'data');
  const trained = run['data-rows'];
  const advice = `its held-out tenth cannot be rebuilt. Pass --data ${csv} to evaluate all of its points`;
  if (trained !== undefined && trained !== rows) throw new UsageError(`${csv} held ${trained} points when the run trained and holds ${rows} now: ${advice}`);
  const print = run['data-fingerprint'];
  if (print !== undefined && print !== fingerprint) throw new UsageError(`${csv} has changed since the run trained (other values, or its rows in another order): ${advice}`);
  return rows;
}

/** Toy held-out points as one chunk, in the CSV reader's form. */
async function* toyChunks(name: ToyDataset, n: number, seed: number): AsyncGenerator<PointChunk> {
  const x = toyData(name, n, seed);
  const values = Float64Array.from(await x.data());
  x.dispose();
  yield { values, rows: n, dim: 2, firstIndex: 0 };
}

export async function sample(o: ParsedOptions, log: (line: string) => void): Promise<number> {
  const { modelDir, runDir } = locate(o.model as string);
  const out = o.out as string;
  const inputs = inputFiles(modelDir, runDir, undefined);
  checkOutputFile('out', out, inputs, o.overwrite === true);
  const shard = parseShard(o.shard);
  if (shard) checkOutputFile('out', manifestPath(out), inputs, o.overwrite === true);
  const withLogProb = o['with-log-prob'] === true;
  const n = o.n as number;
  // An empty slice (more shards than samples) is a finished part of an indexed job, as in eval: the header alone.
  const [from, to] = shard ? [Math.floor((shard.k * n) / shard.n), Math.floor(((shard.k + 1) * n) / shard.n)] : [0, n];
  await usableFolder('out', dirname(resolve(out)), false);
  const flow = await CNF.load(modelDir, loadOptions(o));
  const dim = flow.options.dim;
  // The network gives u; x = u·std + mean in float64 here (cli/flow_space.ts).
  const standardize = flow.options.standardize;
  const network = flowSpaceTwin(flow);
  await usableFolder('out', dirname(resolve(out)), true);
  const columns = (runDir ? (readRunInfo(runDir)?.columns as string[] | undefined) : undefined) ?? (dim === 2 ? ['x', 'y'] : Array.from({ length: dim }, (_, k) => `x${k}`));
  const file = new CsvOutput(out, [...columns, ...(withLogProb ? ['log_prob'] : [])].join(','));
  // The whole run's latents in blocks (memory flat in --n); only this shard's rows go through the flow.
  try {
    for (const { values: latents } of latentBlocks(n, dim, o.seed as number, from, to)) {
      const rows = latents.length / dim;
      const z = tf.tensor2d(latents, [rows, dim]);
      const { samples, logProb } = withLogProb ? await network.fromLatentWithLogProbAsync(z) : { samples: await network.fromLatentAsync(z), logProb: undefined };
      const values = toDataSpaceHost(await samples.data(), standardize);
      const densities = logProb && Array.from(await logProb.data(), (v) => v - logScale(standardize));
      tf.dispose([z, samples, ...(logProb ? [logProb] : [])]);
      const lines: string[] = [];
      for (let r = 0; r < rows; r++) {
        const row = Array.from(values.subarray(r * dim, (r + 1) * dim));
        lines.push((densities ? [...row, densities[r]] : row).join(','));
      }
      file.append(lines);
    }
    if (shard) rmSync(manifestPath(out), { force: true });
    file.commit();
    if (shard) writeShardManifest(out, { kind: 'sample', shard, rows: to - from, total: n, run: { model: modelIdentity(modelDir), seed: o.seed as number, withLogProb } });
  } finally {
    disposeWithTwin(flow, network);
    file.close();
  }
  log(`wrote ${to - from} samples${withLogProb ? ' with their log-densities' : ''}${shard ? ` (shard ${shard.k}/${shard.n} of ${n})` : ''} to ${out}`);
  return 0;
}

export async function plot(o: ParsedOptions, log: (line: string) => void): Promise<number> {
  checkDataValue(o.data);
  const { modelDir, runDir } = locate(o.model as string);
  // Never into a model folder: a file there beside the model makes save (and train's) refuse it.
  const out = (o.out as string | undefined) ?? runDir;
  if (out === undefined) throw new UsageError(`--model ${o.model} is a model folder, not a run folder: pass --out <folder> for the pictures (plot writes nothing into a model folder)`);
  if (sameFolder(out, modelDir)) throw new UsageError(`--out ${out} is the model folder: pictures there would stand beside the model (saving into it would then be refused); choose another folder`);
  refuseModelFolder('out', out, resolve(out));
  const name = dataName(o, runDir);
  // Pictures in the run folder are train's own; elsewhere files of their names may be the user's.
  if (o.out !== undefined && !(runDir && sameFolder(out, runDir))) {
    for (const picture of FLOW_PICTURES) checkOutputFile('out', join(out, picture), [], o.overwrite === true);
  }
  await usableFolder('out', out, true);
  const flow = await CNF.load(modelDir, loadOptions(o));
  if (flow.options.dim !== 2) {
    flow.dispose();
    throw new UsageError(`plot draws 2-D models; this one is ${flow.options.dim}-dimensional`);
  }
  // The points to show: a toy set, or the first 2000 of a CSV (standardised in float64 where float32
  // cannot hold their offsets: cli/flow_space.ts).
  const network = flowSpaceTwin(flow);
  let drawn: { flow: CNF; data: tf.Tensor2D; note: string } | undefined;
  try {
    if (isCsvPath(name)) {
      for await (const chunk of csvChunks(name, 2000, 'data')) {
        if (chunk.dim !== 2) throw new UsageError(`--data ${name} has ${chunk.dim} columns, but the model is 2-dimensional`);
        drawn = picturePoints(flow, network, chunk.values);
        break;
      }
    }
    drawn ??= { flow, data: toyData(name as ToyDataset, 2000, 1), note: '' };
    const written = writeFlowPictures(out, { flow: drawn.flow, data: drawn.data, title: `${isCsvPath(name) ? basename(name) : name}${drawn.note}` });
    log(`wrote ${written.join(', ')}`);
  } finally {
    drawn?.data.dispose();
    disposeWithTwin(flow, network);
  }
  return 0;
}

/**
 * The files an output must never replace: the model's, the data the command reads, and the run's
 * own (run.json, history.jsonl, the checkpoint and the CSV it trained on), whatever --data says.
 */
function inputFiles(modelDir: string, runDir: string | undefined, dataCsv: string | undefined): string[] {
  const filesIn = (dir: string) => (existsSync(dir) && statSync(dir).isDirectory() ? readdirSync(dir).map((f) => join(dir, f)) : []);
  const run = runDir ? [join(runDir, 'run.json'), join(runDir, HISTORY_FILE), ...filesIn(join(runDir, 'checkpoint'))] : [];
  const trainedOn = runDir ? (readRunInfo(runDir)?.data as string | undefined) : undefined;
  return [...filesIn(modelDir), ...run, ...(trainedOn !== undefined && isCsvPath(trainedOn) ? [trainedOn] : []), ...(dataCsv ? [dataCsv] : [])];
}

/** CNF.load's options from --max-parameters and --memory-limit (MiB). */
function loadOptions(o: ParsedOptions): { maxParameters?: number; memoryLimit?: number } {
  const mib = o['memory-limit'] as number | undefined;
  if (mib !== undefined && mib < 1) throw new UsageError(`--memory-limit is in MiB and must be at least 1, but got ${mib}`);
  return { maxParameters: o['max-parameters'] as number | undefined, ...(mib !== undefined ? { memoryLimit: Math.round(mib * 2 ** 20) } : {}) };
}

function sameFolder(a: string, b: string): boolean {
  return resolve(a) === resolve(b) || (existsSync(a) && existsSync(b) && sameFile(statSync(a), statSync(b)));
}

/** The rows of `values` (`dim` columns, made float32) that stayed finite, and their values. */
function rowsInFloat32Range(values: Float32Array, dim: number): { values: Float32Array; rows: number[] } {
  const rows: number[] = [];
  for (let r = 0; r < values.length / dim; r++) {
    let finite = true;
    for (let k = 0; k < dim; k++) finite &&= Number.isFinite(values[r * dim + k]);
    if (finite) rows.push(r);
  }
  if (rows.length * dim === values.length) return { values, rows };
  const kept = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => kept.set(values.subarray(r * dim, (r + 1) * dim), i * dim));
  return { values: kept, rows };
}
