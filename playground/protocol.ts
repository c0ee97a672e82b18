/**
 * The messages between the playground page (main.ts) and its training worker (worker.ts). Every
 * request carries an id and gets one reply with that id; the worker also posts events (training
 * progress, new pictures of the model) while it trains.
 */
import type { BackendInfo, Objective, ToyDataset } from '../src/index.browser.js';

/** The square of data space the page shows: [-EXTENT, EXTENT]². */
export const EXTENT = 4;

/** What runs in the worker, and the toy sets it offers (the page itself does not load the library). */
export interface WorkerInfo {
  backend: BackendInfo;
  crossOriginIsolated: boolean;
  /** tf.memory().numTensors in the worker (steady between requests: nothing leaks). */
  tensors: number;
  /** TOY_DATASETS, and TOY_ENTROPY (the best possible NLL) where it is known. */
  datasets: readonly ToyDataset[];
  entropy: Partial<Record<ToyDataset, number>>;
  /** The kernel threads' runs so far and how many shares the workers ran themselves (tests: the threaded path ran). */
  kernelThreadRuns?: { runs: number; sharesOnWorkers: number };
}

/** What to train on and how. */
export interface TrainSettings {
  /** The training points, x0 y0 x1 y1 … (a toy set's or drawn ones). */
  points: Float32Array;
  objective: Objective;
  iterations: number;
  batchSize: number;
  learningRate: number;
  /** Seeds the network's initial weights and the minibatches. */
  seed: number;
  /** A toy set to measure the held-out NLL on after training (none for drawn points). */
  heldOut?: { dataset: ToyDataset; n: number; seed: number };
}

/** How training ended. */
export interface TrainSummary {
  iterations: number;
  stopped: boolean;
  /** Seconds spent in training steps (pictures and messages excluded). */
  trainSeconds: number;
  /** Seconds of the whole run, pictures included. */
  seconds: number;
  stepsPerSecond: number;
  finalLoss: number;
  /** −mean log p of fresh held-out points (exact trace), when `heldOut` was given. */
  heldOutNll?: number;
}

/** A short description of the model the worker holds. */
export interface ModelSummary {
  hiddenDims: number[];
  parameters: number;
  endTimes: number[];
  /** Where it came from: trained here, or loaded from where. */
  origin: string;
}

/** Requests and what each one's reply carries. */
export interface Requests {
  info: { args: Record<string, never>; value: WorkerInfo };
  toyPoints: { args: { dataset: ToyDataset; n: number; seed: number }; value: Float32Array };
  train: { args: { settings: TrainSettings }; value: TrainSummary };
  stop: { args: Record<string, never>; value: boolean };
  /** Recomputes the pictures of the current model and posts them as a `view` event. */
  view: { args: { grid: number }; value: void };
  logProb: { args: { points: Float32Array }; value: Float32Array };
  heldOutNll: { args: { dataset: ToyDataset; n: number; seed: number }; value: number };
  save: { args: { name: string }; value: ModelSummary };
  load: { args: { name: string }; value: ModelSummary };
  loadFiles: { args: { files: File[] }; value: ModelSummary };
  /** The model as tf.io files: model.json (weightsManifest naming `<name>.weights.bin`) and the weights. */
  export: { args: { name: string }; value: { json: string; weights: ArrayBuffer } };
  /** The names of the models saved in this browser's IndexedDB. */
  list: { args: Record<string, never>; value: string[] };
}

export type RequestKind = keyof Requests;

/** A request as posted to the worker. */
export type RequestMessage = { [K in RequestKind]: { id: number; kind: K } & Requests[K]['args'] }[RequestKind];

/** The reply to request `id`. */
export type ReplyMessage = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** Pictures of the model: log-densities on a grid, samples, and paths from noise to data. */
export interface ModelView {
  /** Grid cells per side; `logp` is grid² values, row by row from the top (y = EXTENT) down. */
  grid: number;
  logp: Float32Array;
  /** Samples x0 y0 x1 y1 …. */
  samples: Float32Array;
  /** Paths: frames × count points (x y), from the base (frame 0) to data space (the last frame). */
  paths: Float32Array;
  frames: number;
  pathCount: number;
  /** The training iteration the pictures show (0 for a loaded model). */
  iteration: number;
  /** Whether these are the model's last pictures (training ended, or the model was loaded), not a live update. */
  final: boolean;
}

/** What the worker posts unasked. */
export type EventMessage =
  | { event: 'progress'; iteration: number; iterations: number; losses: number[]; stepsPerSecond: number }
  | { event: 'view'; view: ModelView }
  | { event: 'model'; model: ModelSummary };
