/**
 * `cnfkit train`: train a CNF on a toy data set, with checkpoints, Ctrl-C and exact resume.
 */
import { writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TOY_DATASETS, toyData, toyPoints, type ToyDataset } from '../data/toy.js';
import { CNF } from '../flows/cnf.js';
import type { Coupling } from '../train/flow_matching.js';
import type { IterationRecord, Objective } from '../train/fit_options.js';
import type { TraceMode } from '../flows/trace.js';
import { Rng } from '../random.js';
import { writeFlowPictures } from '../viz/flow_pictures.js';
import { UsageError, type OptionSpec, type ParsedOptions } from './args.js';
import { ProgressPrinter } from './progress.js';
import { csvSplit, isCsvPath, pointsFingerprint, readCsvPoints } from './csv_points.js';
import { copyWeights, disposeWithTwin, flowSpaceTwin, picturePoints } from './flow_space.js';
import { logScale, toFlowSpaceHost, type Standardization } from '../flows/standardize.js';
import { MAX_PARAMETERS_OPTION, checkModelFolder, checkRunFolder, hasCheckpoint, readCheckpoint, usableFolder, writeCheckpoint } from './run_files.js';
import { acquireRunLock, type RunLock } from './run_lock.js';

export const TRAIN_OPTIONS: readonly OptionSpec[] = [
  { name: 'data', kind: 'string', help: `a toy data set (${TOY_DATASETS.join(', ')}) or a CSV file of points of any width (standardised; a tenth held out); required, except with --resume` },
  { name: 'out', kind: 'string', required: true, help: 'run folder (model/, checkpoint/, pictures)' },
  { name: 'iterations', kind: 'integer', default: 2000, help: 'optimizer steps' },
  { name: 'objective', kind: 'string', choices: ['maximum-likelihood', 'flow-matching'], default: 'maximum-likelihood', help: 'training objective' },
  { name: 'trace', kind: 'string', choices: ['exact', 'hutchinson'], default: 'exact', help: 'trace in maximum-likelihood training' },
  { name: 'batch-size', kind: 'integer', help: 'minibatch size (default 100; 256 for flow matching)' },
  { name: 'lr', kind: 'number', range: 'positive', help: "Adam's learning rate (default 1e-3; 3e-3 for flow matching)" },
  { name: 'weight-decay', kind: 'number', range: 'non-negative', default: 1e-5, help: 'L2 weight decay' },
  { name: 'hidden', kind: 'string', default: '64,64,64', help: 'hidden layer widths' },
  { name: 'sigma', kind: 'number', range: 'non-negative', default: 0.1, help: 'flow matching: path noise' },
  { name: 'coupling', kind: 'string', choices: ['independent', 'ot'], default: 'independent', help: 'flow matching: noise-data pairing' },
  { name: 'seed', kind: 'number', default: 0, help: 'seed of weights, data and noise' },
  { name: 'checkpoint-every', kind: 'integer', default: 100, help: 'iterations between checkpoints' },
  { name: 'eval-every', kind: 'integer', help: "held-out NLL (exact trace; toy data: 1000 points, a CSV: its held-out tenth, at most 5000) every this many iterations, for the curves (default: a tenth of the run)" },
  { name: 'resume', kind: 'flag', help: 'continue from <out>/checkpoint, with the settings it was made with' },
  MAX_PARAMETERS_OPTION,
  { name: 'backend', kind: 'string', choices: ['auto', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu', 'webgpu'], help: 'tfjs backend (else CNFKIT_BACKEND)' },
];

/** The settings that must match for a resume (everything but the iteration count). */
function runSettings(o: ParsedOptions): Record<string, unknown> {
  const { data, objective, trace, lr, hidden, sigma, coupling, seed } = o;
  return { data, objective, trace, 'batch-size': o['batch-size'], lr, 'weight-decay': o['weight-decay'], hidden, sigma, coupling, seed };
}

/** Defaults that depend on the objective: FFJORD's for maximum likelihood, the best measured for flow matching. */
function withObjectiveDefaults(o: ParsedOptions): ParsedOptions {
  const fm = o.objective === 'flow-matching';
  return { ...o, 'batch-size': o['batch-size'] ?? (fm ? 256 : 100), lr: o.lr ?? (fm ? 3e-3 : 1e-3) };
}

export async function train(given: ParsedOptions, log: (line: string) => void, explicit: ReadonlySet<string> = new Set()): Promise<number> {
  const out = given.out as string;
  const hidden = String(given.hidden).split(',').map(Number);
  if (hidden.some((h) => !Number.isInteger(h) || h < 1)) throw new UsageError(`--hidden must be comma-separated positive integers, but got '${given.hidden}'`);
  if (!given.resume && given.data === undefined) throw new UsageError('--data is required (except with --resume, which takes it from the checkpoint)');
  if (given.data !== undefined) checkDataName(given.data as string);
  for (const key of ['sigma', 'coupling']) {
    if (!given.resume && explicit.has(key) && given.objective !== 'flow-matching') throw new UsageError(`--${key} applies to --objective flow-matching only`);
  }
  // A CSV is remembered by its absolute path, so eval and --resume work from any folder.
  if (given.data !== undefined && isCsvPath(given.data as string)) given = { ...given, data: resolve(given.data as string) };
  await usableFolder('out', out, false);
  if (!given.resume) {
    if (hasCheckpoint(out)) throw new UsageError(`${out} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
    checkRunFolder(out);
  }
  // One train per run folder (cli/run_lock.ts); everything below reads and writes under the lock.
  const lock = await acquireRunLock(out, log);
  try {
    return await trainHoldingLock(given, out, hidden, lock, log, explicit);
  } finally {
    lock.release();
  }
}

async function trainHoldingLock(given: ParsedOptions, out: string, hidden: number[], lock: RunLock, log: (line: string) => void, explicit: ReadonlySet<string>): Promise<number> {
  let o: ParsedOptions;
  let flow: CNF;
  let resume;
  checkModelFolder(out); // before the work: the model written after it would be refused there
  if (given.resume) {
    const checkpoint = await readCheckpoint(out, given['max-parameters'] as number | undefined);
    // The checkpoint's settings rule; a flag given now must agree with them (--iterations may change).
    // A CSV may have moved since (another machine, another folder): --data names it anew, and the
    // row count and fingerprint checked below make sure it holds the same points.
    const moved = explicit.has('data') && isCsvPath(String(given.data)) && isCsvPath(String(checkpoint.run.data)) && given.data !== checkpoint.run.data;
    for (const [key, value] of Object.entries(checkpoint.run)) {
      if (key !== 'iterations' && !(key === 'data' && moved) && explicit.has(key) && JSON.stringify(given[key]) !== JSON.stringify(value)) {
        checkpoint.flow.dispose();
        throw new UsageError(`cannot resume: ${out}/checkpoint was made with --${key} ${JSON.stringify(value)}, but this run has ${JSON.stringify(given[key])}`);
      }
    }
    // The run's own target unless --iterations is given again (a resumed run of 8000 iterations
    // must not stop at the flag's default; checkpoints before 0.2 did not record it).
    const planned = checkpoint.run.iterations;
    const target = !explicit.has('iterations') && Number.isInteger(planned) && (planned as number) > 0 ? (planned as number) : given.iterations;
    o = { ...given, ...(checkpoint.run as ParsedOptions), iterations: target, ...(moved ? { data: given.data } : {}) };
    if (moved) log(`--data ${given.data}: the run's CSV, read from ${checkpoint.run.data} before (its points are checked to be the same)`);
    ({ flow, state: resume } = checkpoint);
  } else {
    // Again under the lock: another run may have started here while this one waited for it.
    if (hasCheckpoint(out)) throw new UsageError(`${out} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
    checkRunFolder(out);
    o = withObjectiveDefaults(given);
  }
  const source = await trainingData(o.data as string, o.seed as number);
  flow ??= new CNF({ dim: source.dim, hiddenDims: hidden, trace: o.trace as TraceMode, seed: o.seed as number, ...(source.standardize ? { standardize: source.standardize } : {}) });
  // Training runs on the CSV's points standardised here in float64 (cli/flow_space.ts); `flow`, with
  // the standardisation (a resumed run's own), is what the checkpoints and the model hold.
  const standardize = flow.options.standardize;
  const inFlowSpace = (values: Float64Array) => tf.tensor2d(toFlowSpaceHost(values, standardize), [values.length / source.dim, source.dim]);
  const trainPoints = source.train && inFlowSpace(source.train);
  const name = o.data as ToyDataset;
  // A CSV's row count and fingerprint too: its held-out tenth (and a resumed run's minibatches) depend on them.
  const settings = { ...runSettings(o), ...(source.rows !== undefined ? { 'data-rows': source.rows, 'data-fingerprint': source.fingerprint } : {}) };
  const trained = resume ? (o as Record<string, unknown>) : {};
  const changed =
    trained['data-rows'] !== undefined && trained['data-rows'] !== source.rows
      ? `held ${trained['data-rows']} points when the run started and holds ${source.rows} now`
      : trained['data-fingerprint'] !== undefined && trained['data-fingerprint'] !== source.fingerprint
        ? 'has changed since the run started (other values, or its rows in another order)'
        : undefined;
  if (changed) {
    flow.dispose();
    trainPoints?.dispose();
    throw new UsageError(`cannot resume: ${o.data} ${changed}; its split and minibatches would differ. Start a new run (another --out)`);
  }
  const iterations = o.iterations as number;
  if (resume && resume.iteration >= iterations) {
    // Nothing to train, but the model may be missing or older than the checkpoint (a run stopped
    // between its last checkpoint and its model): the checkpoint's weights are the run's result.
    lock.check();
    await flow.save(join(out, 'model'));
    log(`checkpoint is at iteration ${resume.iteration}: nothing to train for --iterations ${iterations}; model in ${join(out, 'model')} (written from the checkpoint)`);
    flow.dispose();
    trainPoints?.dispose();
    return 0;
  }
  const network = flowSpaceTwin(flow);
  if (resume) log(`resuming from iteration ${resume.iteration}`);
  await usableFolder('out', out, true);
  writeFileSync(join(out, 'run.json'), JSON.stringify({ ...settings, iterations, ...(source.columns ? { columns: source.columns } : {}) }, null, 2) + '\n');

  const batchSize = o['batch-size'] as number;
  const seed = o.seed as number;
  // Fresh samples every iteration, as FFJORD trains; a function of the iteration, so resumable.
  const sampler = trainPoints ?? ((n: number, iteration: number) => tf.tensor2d(toyPoints(name, n, new Rng(`train:${name}:${seed}:${iteration}`)), [n, 2]));
  // Ctrl-C, and SIGTERM (what Slurm and Kubernetes send before they preempt a task): a checkpoint, then exit.
  const controller = new AbortController();
  let signal: 'SIGINT' | 'SIGTERM' | undefined;
  const onSigint = () => ((signal = 'SIGINT'), controller.abort());
  const onSigterm = () => ((signal = 'SIGTERM'), controller.abort());
  process.once('SIGINT', onSigint); // a second Ctrl-C ends the process at once, as usual
  process.on('SIGTERM', onSigterm); // a repeated SIGTERM must not cut the checkpoint short
  const progress = new ProgressPrinter(iterations, resume?.iteration ?? 0);
  const evalEvery = (given['eval-every'] as number | undefined) ?? Math.max(1, Math.round(iterations / 10));
  const heldOutData = source.heldOut ? inFlowSpace(source.heldOut) : toyData(name, 1000, 12345);
  // Earlier sessions' held-out NLLs come back from their iteration records (history.jsonl), so a
  // resumed run's curves.png shows the whole run.
  const heldOut: { iteration: number; nll: number; seconds: number }[] = (resume?.history ?? []).flatMap((r) => (r.validationNll !== undefined ? [{ iteration: r.iteration, nll: r.validationNll, seconds: r.seconds }] : []));
  let evaluationSeconds = 0; // this session's held-out evaluations, kept out of the training time
  const evaluateHeldOut = (record: IterationRecord) => {
    const { iteration, seconds } = record;
    if (iteration % evalEvery !== 0 && iteration !== iterations) return;
    const started = performance.now();
    // −mean log p(x) = −mean log p_u(u) + Σ log std.
    const nll = tf.tidy(() => -tf.mean(network.logProb(heldOutData)).dataSync()[0]) + logScale(standardize);
    heldOut.push({ iteration, seconds, nll });
    record.validationNll = nll; // kept in history.jsonl with the record
    evaluationSeconds += (performance.now() - started) / 1000;
  };
  let report;
  try {
    report = await network.fit(sampler, {
      iterations,
      batchSize,
      learningRate: o.lr as number,
      weightDecay: o['weight-decay'] as number,
      seed,
      objective: o.objective as Objective,
      // Flow matching's own settings (fit refuses them for maximum likelihood).
      ...(o.objective === 'flow-matching' ? { sigma: o.sigma as number, coupling: o.coupling as Coupling } : {}),
      resume,
      signal: controller.signal,
      checkpointEvery: o['checkpoint-every'] as number,
      onCheckpoint: (state) => {
        lock.check();
        copyWeights(network, flow);
        return writeCheckpoint(out, flow, state, { ...settings, iterations });
      },
      onProgress: (r) => {
        // fit's clock runs through this callback: its record (which history.jsonl and a resume
        // keep) counts training time only when the evaluations before it come off.
        r.seconds -= evaluationSeconds;
        progress.update(r);
        evaluateHeldOut(r);
      },
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigterm);
  }
  if (report.stopped) {
    progress.interrupt();
    log(`interrupted (${signal}) at iteration ${report.history.length}: checkpoint written to ${join(out, 'checkpoint')}; continue with --resume`);
    disposeWithTwin(flow, network);
    tf.dispose([heldOutData, ...(trainPoints ? [trainPoints] : [])]);
    return signal === 'SIGTERM' ? 143 : 130;
  }
  lock.check();
  copyWeights(network, flow);
  await flow.save(join(out, 'model'));
  // Pictures of 2-D data (a toy set, or the CSV's training points).
  const drawn = source.dim !== 2 ? undefined : source.train ? picturePoints(flow, network, source.train.subarray(0, 2 * Math.min(2000, source.train.length / 2))) : { flow, data: toyData(name, 2000, seed + 1), note: '' };
  const data = drawn?.data;
  const pictures = drawn
    ? writeFlowPictures(out, {
        flow: drawn.flow,
        data: drawn.data,
        title: `${source.columns ? basename(name) : name}, ${o.objective}${drawn.note}`,
        losses: report.history.map((r) => r.loss),
        heldOut,
        lossLabel: o.objective === 'flow-matching' ? 'flow-matching loss' : 'NLL (nats)',
      })
    : [];
  tf.dispose([heldOutData, ...(data ? [data] : []), ...(trainPoints ? [trainPoints] : [])]);
  if (heldOut.length) log(`held-out NLL at iteration ${heldOut[heldOut.length - 1].iteration}: ${heldOut[heldOut.length - 1].nll.toFixed(4)}`);
  const last = report.history[report.history.length - 1];
  const evaluated = evaluationSeconds >= 0.05 ? ` (and ${evaluationSeconds.toFixed(1)} s of held-out evaluations)` : '';
  log(`trained ${iterations} iterations in ${last.seconds.toFixed(1)} s${evaluated}; model in ${join(out, 'model')}; pictures: ${pictures.join(', ') || `none (${source.dim}-D data)`}`);
  disposeWithTwin(flow, network);
  return 0;
}

/** A `--data` value must name a toy data set or a CSV file. */
function checkDataName(value: string): void {
  if (!(TOY_DATASETS as readonly string[]).includes(value) && !isCsvPath(value)) {
    throw new UsageError(`--data must be one of ${TOY_DATASETS.join(', ')}, or a CSV file (ending in .csv), but got '${value}'`);
  }
}

/**
 * The training data: a toy set (2-D, drawn fresh every iteration), or a CSV's points shuffled with
 * the seed, a tenth (at most 5000) held out, and the flow's standardisation from the rest.
 */
async function trainingData(data: string, seed: number): Promise<{ dim: number; rows?: number; fingerprint?: string; train?: Float64Array; heldOut?: Float64Array; standardize?: Standardization; columns?: string[] }> {
  if (!isCsvPath(data)) return { dim: 2 };
  const { values, rows, dim, header } = await readCsvPoints(data, 'data');
  if (rows < 10) throw new UsageError(`--data ${data} holds ${rows} points; training needs at least 10 (a tenth is held out)`);
  const split = csvSplit(rows, seed);
  const pick = (indices: number[]) => {
    const out = new Float64Array(indices.length * dim);
    indices.forEach((r, i) => out.set(values.subarray(r * dim, (r + 1) * dim), i * dim));
    return out;
  };
  const trainValues = pick(split.train);
  const n = split.train.length;
  // Per-column mean and standard deviation of the training part, in two passes: one pass's
  // Σv²/n − m² cancels to rounding noise for a constant column (a std of 1e-9, not the fallback 1).
  const [sum, squares] = [new Float64Array(dim), new Float64Array(dim)];
  trainValues.forEach((v, i) => (sum[i % dim] += v));
  const mean = Array.from(sum, (s) => s / n);
  trainValues.forEach((v, i) => (squares[i % dim] += (v - mean[i % dim]) ** 2));
  const std = mean.map((_, k) => Math.sqrt(squares[k] / n));
  // A constant column has no density (a point mass): the flow would spend itself sharpening a spike.
  // Constant to the last digits counts too: a column of 0.1s has a mean off by an ulp and a std of
  // 1e-17, and one that varies in its 13th digit is constant to float32.
  const constant = std.findIndex((s, k) => s <= 1e-12 * Math.abs(mean[k]));
  if (constant >= 0) {
    const column = header ? `'${header[constant]}' (column ${constant + 1})` : `column ${constant + 1}`;
    const first = trainValues[constant];
    const held = trainValues.every((v, i) => i % dim !== constant || v === first) ? `holds ${first} in every training point` : `varies only past its 12th digit (mean ${mean[constant]}, std ${std[constant].toExponential(1)})`;
    throw new UsageError(`--data ${data}: ${column} ${held}; a density over a constant is infinite. Drop the column (and add it back to samples yourself)`);
  }
  return {
    dim,
    rows,
    fingerprint: pointsFingerprint(values),
    train: trainValues,
    heldOut: pick(split.heldOut),
    standardize: { mean, std },
    columns: header ?? Array.from({ length: dim }, (_, k) => `x${k}`),
  };
}
