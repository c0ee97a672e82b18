/**
 * The browser benchmark's measurements, one code for both sides: `bench/browser.ts` runs them in
 * Node (on cnfkit's Node entry) and, bundled by esbuild (bench/browser_page.ts), in headless Chromium
 * (on its browser entry). Each side passes the library it imported.
 */
import type * as cnfkit from '../src/index.browser.js';

/** The parts of cnfkit the measurements use, from whichever entry the side imported. */
export type Cnfkit = Pick<typeof cnfkit, 'CNF' | 'tf' | 'toyData'>;

/** What one side measured. */
export interface BrowserBenchFigures {
  /** Milliseconds per flow-matching step (`flow.fit`, the defaults' network), by batch size, the fastest of `repeats` runs. */
  stepMs: Record<number, number>;
  /** Points per second of `flow.logProb` (exact trace, dopri5 at rtol = atol = 1e-5), the fastest of `repeats` runs. */
  logProbPointsPerSecond: number;
  /** Points evaluated for that figure. */
  logProbPoints: number;
}

/** Settings of a run. */
export interface BrowserBenchSettings {
  /** Batch sizes of the flow-matching steps. */
  batches: number[];
  /** Steps timed per run and batch size, after `warmup` untimed ones. */
  steps: number;
  warmup: number;
  /** Points of the logProb measurement. */
  points: number;
  /** Runs of each measurement; the fastest counts (the others ran beside other work). */
  repeats: number;
}

export const BENCH_SETTINGS: BrowserBenchSettings = { batches: [256, 1024], steps: 200, warmup: 30, points: 2000, repeats: 3 };

/** ms per step of `fit` at `batchSize`, from the iteration records (set-up excluded); the fastest of `repeats` runs. */
async function stepTime({ CNF, tf, toyData }: Cnfkit, batchSize: number, settings: BrowserBenchSettings): Promise<number> {
  const flow = new CNF({ dim: 2, seed: 0 });
  const data = toyData('8gaussians', 20_000, 0);
  const options = { batchSize, learningRate: 3e-3, objective: 'flow-matching' as const };
  await flow.fit(data, { ...options, iterations: settings.warmup });
  let best = Infinity;
  for (let repeat = 0; repeat < settings.repeats; repeat++) {
    const { history } = await flow.fit(data, { ...options, iterations: settings.steps + 1 });
    best = Math.min(best, ((history[history.length - 1].seconds - history[0].seconds) * 1000) / settings.steps);
  }
  tf.dispose(data);
  flow.dispose();
  return best;
}

/** logProb throughput of a flow trained briefly (a trained field takes more solver steps than a fresh one). */
async function logProbRate({ CNF, tf, toyData }: Cnfkit, settings: BrowserBenchSettings): Promise<number> {
  const flow = new CNF({ dim: 2, seed: 0 });
  const data = toyData('8gaussians', 20_000, 0);
  await flow.fit(data, { iterations: 300, batchSize: 256, learningRate: 3e-3, objective: 'flow-matching' });
  const x = toyData('8gaussians', settings.points, 1);
  tf.tidy(() => flow.logProb(toyData('8gaussians', 100, 2)).dataSync());
  let seconds = Infinity;
  for (let repeat = 0; repeat < settings.repeats; repeat++) {
    const started = performance.now();
    tf.tidy(() => flow.logProb(x).dataSync());
    seconds = Math.min(seconds, (performance.now() - started) / 1000);
  }
  tf.dispose([data, x]);
  flow.dispose();
  return settings.points / seconds;
}

/** Runs every measurement on the backend `ready()` chose. */
export async function measureBrowserBench(lib: Cnfkit, settings: BrowserBenchSettings = BENCH_SETTINGS): Promise<BrowserBenchFigures> {
  const stepMs: Record<number, number> = {};
  for (const batch of settings.batches) stepMs[batch] = await stepTime(lib, batch, settings);
  return { stepMs, logProbPointsPerSecond: await logProbRate(lib, settings), logProbPoints: settings.points };
}
