/**
 * The page's test hook, `window.playground` (test/playground.test.ts drives the page through it).
 * Each call does what the matching control does, through the same code:
 *
 *   playground.ready                     true once the worker runs and the first data set is shown
 *   await playground.info()              the worker's backendInfo() and cross-origin isolation
 *   await playground.train({ dataset, objective, iterations, batchSize, learningRate, seed })
 *                                        fills the form (unset fields keep their values), presses
 *                                        Train, resolves with the TrainSummary when the last pictures are in
 *   await playground.stop()              the Stop button; resolves with the status line after it
 *   await playground.view(grid)          new pictures of the model on a grid × grid (a long request)
 *   await playground.heldOutNll(dataset, n, seed)   −mean log p of toyData(dataset, n, seed), exact trace
 *   await playground.logProb([[x, y], …])           log p at those points
 *   await playground.save(name)          the Save button (IndexedDB)
 *   await playground.load(name)          the Load button (IndexedDB)
 *   playground.model()                   the model the worker holds (architecture, T, where it came from)
 *   playground.errors()                  every error the page has shown
 */
import type { Objective, ToyDataset } from '../src/index.browser.js';
import type { ModelPanel } from './model_panel.js';
import type { ModelSummary, TrainSummary, WorkerInfo } from './protocol.js';
import type { TrainerClient } from './trainer_client.js';

/** What the hook needs of the page. */
export interface PageActions {
  state: { errors: string[]; view?: unknown; model?: ModelSummary };
  client: TrainerClient;
  setObjective(objective: Objective): void;
  chooseSource(source: ToyDataset): Promise<void>;
  train(): Promise<TrainSummary>;
  stop(): Promise<void>;
  models: ModelPanel;
}

/** Training settings the hook can set; see the file comment. */
export interface HookTrainOptions {
  dataset?: ToyDataset;
  objective?: Objective;
  iterations?: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
}

export interface PlaygroundHook {
  ready: true;
  info(): Promise<WorkerInfo>;
  train(options?: HookTrainOptions): Promise<TrainSummary>;
  stop(): Promise<string>;
  view(grid: number): Promise<void>;
  heldOutNll(dataset: ToyDataset, n: number, seed: number): Promise<number>;
  logProb(points: [number, number][]): Promise<number[]>;
  save(name: string): Promise<void>;
  load(name: string): Promise<void>;
  model(): ModelSummary | undefined;
  errors(): string[];
}

export function installHook(page: PageActions): void {
  const field = (id: string, value: number | undefined) => {
    if (value !== undefined) (document.getElementById(id) as HTMLInputElement).value = String(value);
  };
  const hook: PlaygroundHook = {
    ready: true,
    info: () => page.client.request('info', {}),
    async train(options = {}) {
      if (options.objective) page.setObjective(options.objective);
      field('iterations', options.iterations);
      field('batch', options.batchSize);
      field('lr', options.learningRate);
      field('seed', options.seed);
      if (options.dataset) await page.chooseSource(options.dataset);
      return page.train();
    },
    async stop() {
      await page.stop();
      return document.getElementById('status')?.textContent ?? '';
    },
    view: (grid) => page.client.request('view', { grid }),
    heldOutNll: (dataset, n, seed) => page.client.request('heldOutNll', { dataset, n, seed }),
    logProb: async (points) => Array.from(await page.client.request('logProb', { points: Float32Array.from(points.flat()) })),
    save: (name) => page.models.save(name),
    load: (name) => page.models.load(name),
    model: () => page.state.model,
    errors: () => [...page.state.errors],
  };
  Object.assign(window, { playground: hook });
}
