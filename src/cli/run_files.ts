/**
 * A training run's folder: `model/` (the flow, loadable with CNF.load), `checkpoint/` (the flow plus
 * the training state, written atomically), `run.json` (how the run was started) and the pictures.
 */
import { readFileSync, existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { CNF } from '../flows/cnf.js';
import type { CnfOptions } from '../flows/cnf_options.js';
import type { TrainingState } from '../flows/fit.js';
import { readModelFiles, writeModelFiles } from '../io/model_files.js';
import { CnfkitError } from '../errors.js';

/** Writes the flow and the training state to `<dir>/checkpoint` atomically. */
export async function writeCheckpoint(dir: string, flow: CNF, state: TrainingState, run: Record<string, unknown>): Promise<void> {
  await writeModelFiles(join(dir, 'checkpoint'), {
    config: { kind: 'checkpoint', options: flow.options, run, iteration: state.iteration, rng: state.rng, history: state.history },
    weights: [
      ...flow.namedVariables().map(([name, v]) => ({ name, shape: v.shape, values: v.dataSync() as Float32Array })),
      ...state.optimizer.map((o, i) => ({ name: `optimizer.${i}`, shape: o.shape, values: o.values })),
    ],
  });
}

/**
 * Reads `<dir>/checkpoint` into a flow and the state to resume from.
 * @throws CnfkitError naming the problem when it is missing, corrupt, or made by a different run
 */
export async function readCheckpoint(dir: string, expectedRun: Record<string, unknown>): Promise<{ flow: CNF; state: TrainingState }> {
  const path = join(dir, 'checkpoint');
  let files;
  try {
    files = await readModelFiles(path);
  } catch (e) {
    throw new CnfkitError(`cannot resume: ${(e as Error).message}`);
  }
  const config = files.config as { kind?: string; options?: CnfOptions; run?: Record<string, unknown>; iteration?: number; rng?: TrainingState['rng']; history?: TrainingState['history'] };
  if (config.kind !== 'checkpoint' || !config.options || !config.rng || !Number.isInteger(config.iteration)) {
    throw new CnfkitError(`cannot resume: ${path} is not a training checkpoint`);
  }
  for (const key of Object.keys(expectedRun)) {
    if (JSON.stringify(config.run?.[key]) !== JSON.stringify(expectedRun[key])) {
      throw new CnfkitError(`cannot resume: ${path} was made with --${key} ${JSON.stringify(config.run?.[key])}, but this run has ${JSON.stringify(expectedRun[key])}`);
    }
  }
  const flow = new CNF(config.options);
  const named = flow.namedVariables();
  const modelWeights = files.weights.filter((w) => !w.name.startsWith('optimizer.'));
  if (modelWeights.length !== named.length || modelWeights.some((w, i) => w.name !== named[i][0] || w.shape.join() !== named[i][1].shape.join())) {
    flow.dispose();
    throw new CnfkitError(`cannot resume: the weights in ${path} do not fit its model options`);
  }
  modelWeights.forEach((w, i) => {
    const value = tf.tensor(w.values, w.shape);
    named[i][1].assign(value);
    value.dispose();
  });
  const optimizer = files.weights.filter((w) => w.name.startsWith('optimizer.')).map((w) => ({ shape: w.shape, values: w.values }));
  return { flow, state: { iteration: config.iteration!, rng: config.rng, optimizer, history: config.history ?? [] } };
}

/** Whether `<dir>/checkpoint` exists. */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'checkpoint', 'config.json'));
}

/** The run description saved by `train`. */
export function readRunInfo(dir: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  } catch {
    return undefined;
  }
}
