/**
 * Training a flow: seeded minibatches, one objective step per iteration (train/objectives.ts),
 * progress, checkpoints with bit-exact resume, a clean stop on an AbortSignal, and divergence caught
 * with the last good weights kept. Works on a {@link TrainableFlow}; `CNF.fit` delegates here.
 */
import { DivergenceError, InputError, MaxStepsError, StepSizeError } from '../errors.js';
import type { AdamState } from '../native/flow_matching_step.js';
import { runAsync } from '../ode/host_reads.js';
import { createStats } from '../ode/stats.js';
import { yieldToEventLoop } from '../event_loop.js';
import { Rng } from '../random.js';
import { checkFitValues, resolveFitOptions, type FitOptions, type FitReport, type IterationRecord, type ResolvedFitOptions, type TrainingData, type TrainingState } from './fit_options.js';
import { trainingObjective } from './objectives.js';
import type { TrainableFlow } from './trainable_flow.js';

/**
 * Trains `flow` on `data` (see {@link FitOptions}).
 * @param fn - the public function, for messages (`CNF.fit`)
 */
export async function fitFlow(fn: string, flow: TrainableFlow, data: TrainingData, given: FitOptions): Promise<FitReport> {
  const options = resolveFitOptions(fn, data, given, flow.dim);
  await runAsync(checkFitValues(fn, data, options));
  const { iterations, onProgress, resume, signal, checkpointEvery, onCheckpoint } = options;
  let rng: Rng;
  try {
    rng = new Rng(`fit:${options.seed}`, resume?.rng);
  } catch (e) {
    throw new InputError(fn, 'options.resume', `does not fit this version: ${(e as Error).message}`);
  }
  const history: IterationRecord[] = resume ? [...resume.history] : [];
  const offsetSeconds = history.length ? history[history.length - 1].seconds : 0;
  const started = performance.now();
  const validation = watchValidation(flow, options);
  const objective = trainingObjective({ fn, flow, data, options, rng });
  // Every host read of training is awaited (ode/host_reads.ts), so the same loop trains on WebGPU.
  const state = async (iteration: number): Promise<TrainingState> => ({
    iteration,
    rng: rng.state(),
    optimizer: optimizerState(await runAsync(objective.optimizerState())),
    history: [...history],
    firstSteps: flow.stepMemory.map((m) => m.firstStep ?? null),
  });

  let stopped = false;
  let stoppedEarly = false;
  let afterFinish: (() => void) | undefined;
  try {
    if (resume) {
      restoreOptimizer(fn, objective, resume);
      restoreStepMemory(fn, flow, resume);
    }
    await validation?.start();
    const first = (resume?.iteration ?? 0) + 1;
    // A signal aborted before the start trains nothing (it used to let one iteration through).
    stopped = signal?.aborted === true && first <= iterations;
    for (let iteration = first; iteration <= iterations && !stopped; iteration++) {
      const stats = createStats();
      const backwardStats = createStats();
      const { loss, applied } = await unsolvableAsDivergence(fn, iteration > 1, iteration, () => objective.undoLastUpdate(), () => runAsync(objective.step(iteration, stats, backwardStats)));
      // A non-finite loss, or an update that would overflow a weight, stops training with the last
      // good weights in place.
      if (!applied) throw new DivergenceError(fn, iteration, loss);
      const record: IterationRecord = {
        iteration,
        loss,
        nfeForward: stats.nfe,
        nfeBackward: backwardStats.nfe,
        seconds: offsetSeconds + (performance.now() - started) / 1000,
        endTimes: await runAsync(objective.endTimes()),
      };
      // An objective that cannot take its update back returns to the last weights that solved, once
      // it has written its own (flow matching's kernels write theirs when it finishes).
      const undo = () => void (objective.undoLastUpdate() || (afterFinish = () => validation?.restoreSolvable()));
      stoppedEarly = (await unsolvableAsDivergence(fn, true, iteration, undo, async () => validation?.measure(record))) === 'patience ran out' && iteration < iterations;
      history.push(record);
      onProgress?.(record);
      // Let the event loop breathe (progress output, Ctrl-C) between iterations.
      await yieldToEventLoop();
      stopped = signal?.aborted === true && iteration < iterations;
      const due = checkpointEvery !== undefined && (iteration % checkpointEvery === 0 || iteration === iterations);
      if (onCheckpoint && (due || stopped || stoppedEarly)) await onCheckpoint(await state(iteration));
      if (stopped || stoppedEarly) break;
    }
  } finally {
    objective.finish();
    afterFinish?.();
  }
  // A run stopped by its signal keeps the weights of its last checkpoint, so that it resumes where it
  // stopped (restoring the best there would pair the best weights with the last one's Adam state).
  if (!stopped) validation?.restoreBest();
  return { history, seconds: (performance.now() - started) / 1000, stopped, stoppedEarly, ...(validation?.best ? { best: validation.best } : {}) };
}

/**
 * Runs `work`; if a solve in it fails after an update (`updated`: the step size underflowed, the
 * steps ran out), training has diverged as surely as with a NaN loss: the update is taken back where
 * the objective can, and a DivergenceError names the learning rate. A failure before any update is the
 * data's or the model's and reaches the caller as it is.
 */
async function unsolvableAsDivergence<T>(fn: string, updated: boolean, iteration: number, undo: () => void, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (!updated || !(e instanceof StepSizeError || e instanceof MaxStepsError)) throw e;
    undo();
    throw new DivergenceError(fn, iteration, NaN, e);
  }
}

/**
 * The validation NLL every `validateEvery` iterations and after the last, the best so far (and its
 * weights, with `keepBest`), and patience; undefined without `validation`.
 */
function watchValidation(flow: TrainableFlow, options: ResolvedFitOptions) {
  const { validation, iterations, patience } = options;
  if (!validation) return undefined;
  const every = options.validateEvery ?? Math.max(1, Math.round(iterations / 10));
  const keepBest = options.keepBest ?? true;
  let best: { iteration: number; validationNll: number } | undefined;
  let bestWeights: Float32Array[] | undefined;
  // The weights of the last validation that solved (or the start's): where an objective cannot take
  // its last update back (flow matching solves no ODE but here), a failed validation returns to them.
  let solvable: Float32Array[] | undefined;
  let since = 0;
  return {
    get best() {
      return best;
    },
    async start(): Promise<void> {
      solvable = await runAsync(flow.readWeights());
    },
    /** Measures after `record`'s update when due; says when patience ran out. */
    async measure(record: IterationRecord): Promise<'patience ran out' | undefined> {
      if (record.iteration % every !== 0 && record.iteration !== iterations) return undefined;
      const nll = await runAsync(flow.meanNll(validation));
      record.validationNll = nll;
      if (!best || nll < best.validationNll) {
        best = { iteration: record.iteration, validationNll: nll };
        solvable = await runAsync(flow.readWeights());
        if (keepBest) bestWeights = solvable;
        since = 0;
        return undefined;
      }
      solvable = await runAsync(flow.readWeights());
      since++;
      return patience !== undefined && since >= patience ? 'patience ran out' : undefined;
    },
    /** Puts the best weights back (with keepBest). */
    restoreBest(): void {
      if (bestWeights) flow.writeWeights(bestWeights);
    },
    /** Puts the weights of the last validation that solved back. */
    restoreSolvable(): boolean {
      if (solvable) flow.writeWeights(solvable);
      return solvable !== undefined;
    },
  };
}

/** Puts Adam's step count and moments back (saved as [step], m, v). */
function restoreOptimizer(fn: string, objective: { restoreOptimizer(state: AdamState): void }, state: TrainingState): void {
  const [step, m, v] = state.optimizer;
  try {
    if (!step || !m || !v || state.optimizer.length !== 3) throw new Error(`expected 3 optimizer tensors, got ${state.optimizer.length}`);
    objective.restoreOptimizer({ step: step.values[0], m: Float32Array.from(m.values), v: Float32Array.from(v.values) });
  } catch (e) {
    throw new InputError(fn, 'options.resume', `does not fit this flow: ${(e as Error).message}`);
  }
}

/** Puts the forward solves' first steps back (a state without them: the heuristic starts). */
function restoreStepMemory(fn: string, flow: TrainableFlow, state: TrainingState): void {
  const saved = state.firstSteps;
  if (saved === undefined) return;
  if (saved.length !== flow.stepMemory.length) {
    throw new InputError(fn, 'options.resume', `does not fit this flow: it holds first steps for ${saved.length} blocks, the flow has ${flow.stepMemory.length}`);
  }
  saved.forEach((h, b) => (flow.stepMemory[b].firstStep = h ?? undefined));
}

/** Adam's step count and moments as saved tensors. */
function optimizerState({ step, m, v }: AdamState): TrainingState['optimizer'] {
  return [
    { shape: [1], values: Float32Array.of(step) },
    { shape: [m.length], values: m },
    { shape: [v.length], values: v },
  ];
}
