/**
 * A training run's folder: `model/` (the flow, loadable with CNF.load), `checkpoint/` (the flow plus
 * the training state, written atomically), `history.jsonl` (the iteration records, run_history.ts),
 * `run.json` (how the run was started) and the pictures.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CNF } from '../flows/cnf.js';
import { assignValues } from '../nn/assign_values.js';
import { DEFAULT_MAX_PARAMETERS, savedFlowWeights } from '../flows/saved_flow.js';
import { savedCnfOptions, type CnfOptions } from '../flows/cnf_options.js';
import type { TrainingState } from '../train/fit_options.js';
import { MODEL_FILES, readModelFiles, writeModelFiles } from '../io/model_files.js';
import { CnfkitError, ModelFileError } from '../errors.js';
import { ensureFolder, inspectFolder } from '../io/folders.js';
import { UsageError, type OptionSpec } from './args.js';
import { LOCK_FILE } from './run_lock.js';
import { HISTORY_FILE, readHistory, writeHistory } from './run_history.js';

/** The cap on a loaded model's size (a model file is untrusted): eval, sample, plot and train --resume. */
export const MAX_PARAMETERS_OPTION: OptionSpec = { name: 'max-parameters', kind: 'integer', help: 'refuse a model file that makes more parameters (default 1e8; raise it for a real big model)' };

/** Writes the flow and the training state to `<dir>/checkpoint` atomically. */
export async function writeCheckpoint(dir: string, flow: CNF, state: TrainingState, run: Record<string, unknown>): Promise<void> {
  // The records first: a checkpoint never refers to lines that are not there.
  writeHistory(dir, state.history);
  await writeModelFiles('cnfkit train', join(dir, 'checkpoint'), {
    config: { kind: 'checkpoint', options: flow.options, run, iteration: state.iteration, rng: state.rng, firstSteps: state.firstSteps, historyLines: state.history.length },
    weights: [
      ...(await Promise.all(flow.namedVariables().map(async ([name, v]) => ({ name, shape: v.shape, values: (await v.data()) as Float32Array })))),
      ...state.optimizer.map((o, i) => ({ name: `optimizer.${i}`, shape: o.shape, values: o.values instanceof Float32Array ? o.values : Float32Array.from(o.values) })),
    ],
  });
}

/**
 * Reads `<dir>/checkpoint` into a flow, the state to resume from and the run settings it was made with.
 * @param maxParameters - refuse a checkpoint whose options make more parameters (`--max-parameters`)
 * @throws CnfkitError naming the problem when it is missing, corrupt, or not a checkpoint
 */
export async function readCheckpoint(dir: string, maxParameters = DEFAULT_MAX_PARAMETERS): Promise<{ flow: CNF; state: TrainingState; run: Record<string, unknown> }> {
  const path = join(dir, 'checkpoint');
  if (!existsSync(path)) throw new CnfkitError(`cannot resume: ${dir} holds no checkpoint (train writes one every --checkpoint-every iterations and on Ctrl-C or SIGTERM); start the run without --resume`);
  let files;
  try {
    files = await readModelFiles('cnfkit train --resume', path, (config) => savedFlowWeights(config, 'checkpoint', maxParameters));
  } catch (e) {
    throw new CnfkitError(`cannot resume: ${e instanceof ModelFileError ? `${e.path} ${e.problem}` : (e as Error).message}`);
  }
  const config = files.config as { kind?: string; options?: CnfOptions; run?: Record<string, unknown>; iteration?: number; rng?: TrainingState['rng']; history?: TrainingState['history']; historyLines?: number; firstSteps?: TrainingState['firstSteps'] };
  if (config.kind !== 'checkpoint' || !config.options || !config.rng || !Number.isInteger(config.iteration) || typeof config.run !== 'object' || config.run === null) {
    throw new CnfkitError(`cannot resume: ${path} is not a training checkpoint`);
  }
  const flow = new CNF(savedCnfOptions(config.options));
  const named = flow.namedVariables();
  const modelWeights = files.weights.filter((w) => !w.name.startsWith('optimizer.'));
  if (modelWeights.length !== named.length || modelWeights.some((w, i) => w.name !== named[i][0] || w.shape.join() !== named[i][1].shape.join())) {
    flow.dispose();
    throw new CnfkitError(`cannot resume: the weights in ${path} do not fit its model options`);
  }
  modelWeights.forEach((w, i) => assignValues(named[i][1], w.values));
  const optimizer = files.weights.filter((w) => w.name.startsWith('optimizer.')).map((w) => ({ shape: w.shape, values: w.values }));
  // Checkpoints before history.jsonl held the records themselves.
  const history = config.history ?? (Number.isInteger(config.historyLines) ? readHistory(dir, config.historyLines!) : []);
  const state: TrainingState = { iteration: config.iteration!, rng: config.rng, optimizer, history, ...(config.firstSteps !== undefined ? { firstSteps: config.firstSteps } : {}) };
  return { flow, state, run: config.run };
}

/**
 * Checks (and with `create`, creates) the folder an `--out`-like option names, before anything is
 * written; a problem is a usage error (exit 2) that names the option.
 */
export async function usableFolder(option: string, dir: string, create: boolean): Promise<void> {
  try {
    await (create ? ensureFolder : inspectFolder)(`cnfkit ${option}`, option, dir);
  } catch (e) {
    if (e instanceof ModelFileError) throw new UsageError(`--${option} ${e.path} ${e.problem}`);
    throw e;
  }
}

/** What `cnfkit train` writes into its run folder (and so may replace there). */
const RUN_FILES = ['model', 'checkpoint', 'run.json', HISTORY_FILE, 'figure.png', 'trajectories.png', 'curves.png'];

/**
 * A new run's folder must be new, empty, or a cnfkit run folder: train replaces run.json and the
 * pictures there, and must not replace a file of the same name that it did not write.
 * @throws UsageError (exit 2) naming the foreign files, before anything is written
 */
export function checkRunFolder(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return;
  // Temporary siblings and files of an interrupted save are cnfkit's too.
  const entries = readdirSync(dir).filter((e) => !isSaveLeftover(e) && e !== LOCK_FILE);
  const foreign = entries.filter((e) => !RUN_FILES.includes(e));
  const listed = (names: string[]) => names.slice(0, 3).map((e) => `'${e}'`).join(', ') + (names.length > 3 ? `, and ${names.length - 3} more` : '');
  if (foreign.length > 0) throw new UsageError(`--out ${dir} holds files cnfkit train did not write (${listed(foreign)}); nothing was changed. Choose a new or empty folder`);
  // Files of train's names are train's only in a folder train made: its run.json or its model.
  if (entries.length > 0 && !isRunInfo(join(dir, 'run.json')) && !holdsModel(join(dir, 'model'))) {
    throw new UsageError(`--out ${dir} holds ${listed(entries)} but is no cnfkit run folder (no run.json of train's, no model/); nothing was changed. Choose a new or empty folder`);
  }
}

/** Whether `file` is a run.json that train wrote (a JSON object with its settings). */
function isRunInfo(file: string): boolean {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8'));
    return info !== null && typeof info === 'object' && 'objective' in info && 'data' in info && 'iterations' in info;
  } catch {
    return false;
  }
}

/** A temporary sibling or file of an interrupted save (cnfkit's own). */
function isSaveLeftover(name: string): boolean {
  return /^\..*cnfkit-(tmp|old)/.test(name);
}

/**
 * Refuses a run whose model/ folder holds files cnfkit did not write, before training: the model
 * written at the end would be refused there, after all the work.
 */
export function checkModelFolder(dir: string): void {
  const folder = join(dir, 'model');
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return;
  const foreign = readdirSync(folder).filter((e) => !MODEL_FILES.includes(e) && !isSaveLeftover(e));
  if (foreign.length > 0) {
    throw new UsageError(`${folder} holds files cnfkit did not write (${foreign.slice(0, 3).map((e) => `'${e}'`).join(', ')}${foreign.length > 3 ? ', …' : ''}), so the model could not be written there; nothing was changed. Move them out of it and run again`);
  }
}

/** Whether `<dir>/checkpoint` exists. */
export function hasCheckpoint(dir: string): boolean {
  return holdsModel(join(dir, 'checkpoint'));
}

/** Whether `dir` holds a saved model's JSON (model.json, or the config.json of cnfkit 0.2). */
export function holdsModel(dir: string): boolean {
  return existsSync(join(dir, 'model.json')) || existsSync(join(dir, 'config.json'));
}

/**
 * The run description saved by `train`, or undefined when there is none.
 * @throws CnfkitError when run.json exists but is not a JSON object
 */
export function readRunInfo(dir: string): Record<string, unknown> | undefined {
  const file = join(dir, 'run.json');
  if (!existsSync(file)) return undefined;
  let info: unknown;
  try {
    info = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CnfkitError(`${file} is not valid JSON (${(e as Error).message}); pass --data`);
  }
  if (info === null || typeof info !== 'object' || Array.isArray(info)) throw new CnfkitError(`${file} does not hold a JSON object; pass --data`);
  return info as Record<string, unknown>;
}
