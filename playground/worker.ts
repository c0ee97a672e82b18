/**
 * The playground's worker: it holds the flow, trains it with `flow.fit` (so the page never waits on
 * a training step), draws its pictures (log p on a grid, samples, paths from noise to data) every so
 * often while it trains, and saves and loads it. The page talks to it through protocol.ts.
 */
import { CNF, TOY_DATASETS, TOY_ENTROPY, backendInfo, ready, tf, toyData, type BackendInfo } from '../src/index.browser.js';
import { kernelThreadPool } from '../src/native/runtime.js';
import { modelFiles } from './model_io.js';
import { EXTENT, type EventMessage, type ModelSummary, type ModelView, type ReplyMessage, type RequestMessage, type Requests, type TrainSettings, type TrainSummary } from './protocol.js';

/** Grid cells per side of the density picture while training (cheap) and after it (fine). */
const LIVE_GRID = 40;
const FINAL_GRID = 72;
/** Pictures take at most about this share of the time while training. */
const PICTURE_SHARE = 0.3;

const scope = self as unknown as { postMessage(message: unknown, options?: { transfer?: Transferable[] }): void; onmessage: ((e: MessageEvent<RequestMessage>) => void) | null };
const post = (message: EventMessage | ReplyMessage, transfer: Transferable[] = []) => scope.postMessage(message, { transfer });


let flow: CNF | undefined;
let model: ModelSummary | undefined;
let training: AbortController | undefined;
const started: Promise<BackendInfo> = ready({ wasmPaths: new URL('./wasm/', self.location.href).href, verbose: false });

/** The grid's cell centres, row by row from the top, as x y pairs. */
function gridPoints(grid: number): Float32Array {
  const points = new Float32Array(grid * grid * 2);
  for (let row = 0; row < grid; row++) {
    for (let col = 0; col < grid; col++) {
      points[2 * (row * grid + col)] = -EXTENT + (2 * EXTENT * (col + 0.5)) / grid;
      points[2 * (row * grid + col) + 1] = EXTENT - (2 * EXTENT * (row + 0.5)) / grid;
    }
  }
  return points;
}

/** A tensor's values on the host, its memory freed. */
const read = (make: () => tf.Tensor): Float32Array => tf.tidy(() => make().dataSync() as Float32Array);

/** The current flow's pictures, posted as a `view` event. */
function postView(current: CNF, grid: number, iteration: number, final: boolean): void {
  const frames = 48;
  const pathCount = 320;
  const view: ModelView = {
    grid,
    logp: read(() => current.logProb(tf.tensor2d(gridPoints(grid), [grid * grid, 2]))),
    samples: read(() => current.sample(1500, 1)),
    paths: read(() => current.trajectory(tf.randomNormal([pathCount, 2], 0, 1, 'float32', 7) as tf.Tensor2D, frames).states),
    frames,
    pathCount,
    iteration,
    final,
  };
  post({ event: 'view', view }, [view.logp.buffer, view.samples.buffer, view.paths.buffer] as Transferable[]);
}

function summarize(current: CNF, origin: string): ModelSummary {
  const parameters = current.trainableVariables.reduce((n, v) => n + v.size, 0);
  return { hiddenDims: current.options.hiddenDims, parameters, endTimes: current.endTimes(), origin };
}

function replace(next: CNF, origin: string): ModelSummary {
  flow?.dispose();
  flow = next;
  model = summarize(next, origin);
  post({ event: 'model', model });
  return model;
}

function heldOutNll(current: CNF, dataset: Requests['heldOutNll']['args']['dataset'], n: number, seed: number): number {
  return tf.tidy(() => -tf.mean(current.logProb(toyData(dataset, n, seed))).dataSync()[0]);
}

async function train(settings: TrainSettings): Promise<TrainSummary> {
  if (training) throw new Error('Already training; stop it first');
  const { points, objective, iterations, batchSize, learningRate, seed } = settings;
  const current = new CNF({ dim: 2, hiddenDims: [64, 64, 64], seed });
  replace(current, `trained here by ${objective.replace('-', ' ')}`);
  const data = tf.tensor2d(points, [points.length / 2, 2]);
  training = new AbortController();
  const t0 = performance.now();
  let pictureSeconds = 0;
  let nextPicture = 0.25;
  let lastPost = 0;
  let pending: number[] = [];
  const rate = (seconds: number, iteration: number) => iteration / Math.max(1e-9, seconds - pictureSeconds);
  try {
    const report = await current.fit(data, {
      iterations,
      batchSize,
      learningRate,
      seed,
      objective,
      signal: training.signal,
      onProgress: (record) => {
        pending.push(record.loss);
        const now = (performance.now() - t0) / 1000;
        if (now - lastPost >= 0.05 || record.iteration === iterations) {
          post({ event: 'progress', iteration: record.iteration, iterations, losses: pending, stepsPerSecond: rate(record.seconds, record.iteration) });
          pending = [];
          lastPost = now;
        }
        if (now >= nextPicture && record.iteration < iterations) {
          const before = performance.now();
          postView(current, LIVE_GRID, record.iteration, false);
          const cost = (performance.now() - before) / 1000;
          pictureSeconds += cost;
          nextPicture = now + cost + cost / PICTURE_SHARE;
        }
      },
    });
    const done = report.history.length;
    const last = report.history[done - 1];
    const trainSeconds = last.seconds - pictureSeconds;
    if (pending.length) post({ event: 'progress', iteration: done, iterations, losses: pending, stepsPerSecond: done / trainSeconds });
    model = summarize(current, model!.origin);
    post({ event: 'model', model });
    postView(current, FINAL_GRID, done, true);
    const summary: TrainSummary = { iterations: done, stopped: report.stopped, trainSeconds, seconds: (performance.now() - t0) / 1000, stepsPerSecond: done / trainSeconds, finalLoss: last.loss };
    if (settings.heldOut) summary.heldOutNll = heldOutNll(current, settings.heldOut.dataset, settings.heldOut.n, settings.heldOut.seed);
    return summary;
  } finally {
    data.dispose();
    training = undefined;
  }
}

function requireFlow(): CNF {
  if (!flow) throw new Error('There is no model yet: train one or load one');
  return flow;
}

function refuseWhileTraining(what: string): void {
  if (training) throw new Error(`Cannot ${what} while training; stop it first`);
}

type Handlers = { [K in keyof Requests]: (args: Requests[K]['args']) => Promise<Requests[K]['value']> | Requests[K]['value'] };

const handlers: Handlers = {
  info: () => {
    const pool = kernelThreadPool();
    const kernelThreadRuns = pool ? { runs: pool.runs, sharesOnWorkers: pool.sharesOnWorkers } : undefined;
    return { backend: backendInfo(), crossOriginIsolated: self.crossOriginIsolated, tensors: tf.memory().numTensors, datasets: TOY_DATASETS, entropy: { ...TOY_ENTROPY }, kernelThreadRuns };
  },
  toyPoints: ({ dataset, n, seed }) => read(() => toyData(dataset, n, seed)),
  train: ({ settings }) => train(settings),
  stop: () => {
    training?.abort();
    return training !== undefined;
  },
  view: ({ grid }) => postView(requireFlow(), grid, 0, true),
  logProb: ({ points }) => read(() => requireFlow().logProb(tf.tensor2d(points, [points.length / 2, 2]))),
  heldOutNll: ({ dataset, n, seed }) => heldOutNll(requireFlow(), dataset, n, seed),
  save: async ({ name }) => {
    await requireFlow().save(`indexeddb://${name}`);
    return model!;
  },
  load: async ({ name }) => {
    refuseWhileTraining('load a model');
    return replace(await CNF.load(`indexeddb://${name}`), `loaded from this browser (${name})`);
  },
  loadFiles: async ({ files }) => {
    refuseWhileTraining('load a model');
    return replace(await CNF.load(tf.io.browserFiles(files)), `loaded from ${files.map((f) => f.name).join(' + ')}`);
  },
  export: ({ name }) => modelFiles(requireFlow(), name),
  list: async () => Object.keys(await tf.io.listModels()).filter((url) => url.startsWith('indexeddb://')).map((url) => url.slice('indexeddb://'.length)),
};

scope.onmessage = async (e) => {
  const { id, kind, ...args } = e.data;
  try {
    await started;
    const value = await (handlers[kind] as (a: unknown) => unknown)(args);
    const own = value instanceof Float32Array && value.byteLength !== value.buffer.byteLength ? value.slice() : value;
    const transfer = own instanceof Float32Array ? [own.buffer] : own && typeof own === 'object' && 'weights' in own ? [(own as { weights: ArrayBuffer }).weights] : [];
    post({ id, ok: true, value: own }, transfer as Transferable[]);
  } catch (error) {
    const err = error as Error;
    post({ id, ok: false, error: err?.message ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(error) });
  }
};
