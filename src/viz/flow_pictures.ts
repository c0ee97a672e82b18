/**
 * Pictures of a trained 2D flow, written as PNG files: the three-panel figure, the trajectories and
 * the training curves.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CNF } from '../flows/cnf.js';
import { Rng } from '../random.js';
import { COLORS } from './axes.js';
import { curvesFigure, threePanelFigure, trajectoryFigure, viewOf, type CurvePanel, type GridDensity, type View } from './figures.js';
import { writePng } from './png.js';
import type { Color } from './raster.js';

/** exp(logProb) on an n×n grid over `view` ([−lim, lim]² for a number), in batches (exact trace). */
export function densityOnGrid(flow: CNF, view: View | number, n: number, batch = 4096): GridDensity {
  const { x, y } = viewOf(view);
  const values = new Float32Array(n * n);
  const [cellX, cellY] = [(x[1] - x[0]) / n, (y[1] - y[0]) / n];
  for (let start = 0; start < n * n; start += batch) {
    const count = Math.min(batch, n * n - start);
    const pts = new Float32Array(2 * count);
    for (let k = 0; k < count; k++) {
      const idx = start + k;
      pts[2 * k] = x[0] + (Math.floor(idx / n) + 0.5) * cellX;
      pts[2 * k + 1] = y[0] + ((idx % n) + 0.5) * cellY;
    }
    const p = tf.tidy(() => tf.exp(flow.logProb(tf.tensor2d(pts, [count, 2]))));
    values.set(p.dataSync(), start);
    p.dispose();
  }
  return { n, view: { x, y }, values };
}

/**
 * Where a flow's pictures look: ±4 standard deviations around the mean it standardises with, each
 * axis its own (data away from the origin, in their own units, drew empty panels in [−4, 4]²), else
 * [−4, 4]².
 */
export function flowView(flow: CNF): View {
  const s = flow.options.standardize;
  if (!s) return viewOf(4);
  return { x: [s.mean[0] - 4 * s.std[0], s.mean[0] + 4 * s.std[0]], y: [s.mean[1] - 4 * s.std[1], s.mean[1] + 4 * s.std[1]] };
}

/** What {@link writeFlowPictures} draws. */
export interface FlowPictureInputs {
  readonly flow: CNF;
  /** Data points [N, 2] to show beside the samples. */
  readonly data: tf.Tensor2D;
  readonly title: string;
  /** Half-width of the square [−lim, lim]² shown (default: {@link flowView}). */
  readonly lim?: number;
  /** Training loss per iteration, and held-out NLL at some iterations (and seconds of training), for the curves. */
  readonly losses?: readonly number[];
  readonly heldOut?: readonly { iteration: number; nll: number; seconds?: number }[];
  readonly seed?: number;
  /** The y-axis label of the curves. */
  readonly lossLabel?: string;
}

/** The files {@link writeFlowPictures} may write in its folder. */
export const FLOW_PICTURES = ['figure.png', 'trajectories.png', 'curves.png'] as const;

/**
 * Writes `<dir>/figure.png` (data | samples | density), `<dir>/trajectories.png` and, when losses are
 * given, `<dir>/curves.png`.
 * @returns the paths written
 */
export function writeFlowPictures(dir: string, inputs: FlowPictureInputs): string[] {
  const { flow, data, title, seed = 0 } = inputs;
  const view = inputs.lim !== undefined ? viewOf(inputs.lim) : flowView(flow);
  const n = Math.min(2000, data.shape[0]);
  const samples = flow.sample(n, seed);
  const density = densityOnGrid(flow, view, 100);
  const written = [`${dir}/${FLOW_PICTURES[0]}`, `${dir}/${FLOW_PICTURES[1]}`];
  writePng(written[0], threePanelFigure(randomRows(data, n, seed), samples.dataSync(), density, view, title));
  const z = tf.randomNormal([n, 2], 0, 1, 'float32', seed + 1) as tf.Tensor2D;
  const { times, states } = flow.trajectory(z, 6);
  const frames = tf.unstack(states).map((s) => s.dataSync());
  writePng(written[1], trajectoryFigure(frames, times, view, `${title}: from the base (t = T) to the data (t = 0)`));
  tf.dispose([samples, z, states]);
  if (inputs.losses && inputs.losses.length > 1) {
    written.push(`${dir}/${FLOW_PICTURES[2]}`);
    writePng(written[2], curvesFigure(curvePanels(inputs.losses, inputs.heldOut ?? [], inputs.lossLabel ?? 'loss')));
  }
  return written;
}

/**
 * The training loss (every iteration, faint, and a moving average over ~2% of the run, which is what
 * shows the trend under minibatch noise) and, when measured, the held-out NLL against training time.
 */
export function curvePanels(losses: readonly number[], heldOut: readonly { iteration: number; nll: number; seconds?: number }[], lossLabel: string): CurvePanel[] {
  const iterations = losses.map((_, i) => i + 1);
  const window = Math.max(1, Math.round(losses.length / 50));
  const panels: CurvePanel[] = [
    {
      title: 'training loss',
      xlabel: 'iteration',
      ylabel: lossLabel,
      curves: [
        { label: 'per iteration', xs: iterations, ys: [...losses], color: [...COLORS.blue, 0.25] as unknown as Color, width: 1 },
        { label: `mean of ${window}`, xs: iterations, ys: movingAverage(losses, window), color: COLORS.black, width: 2 },
      ],
    },
  ];
  if (heldOut.length) {
    const timed = heldOut.every((h) => h.seconds !== undefined);
    panels.push({
      title: 'held-out NLL',
      xlabel: timed ? 'training time (s)' : 'iteration',
      ylabel: 'nats',
      curves: [{ label: 'exact trace', xs: heldOut.map((h) => (timed ? h.seconds! : h.iteration)), ys: heldOut.map((h) => h.nll), color: COLORS.red }],
    });
  }
  return panels;
}

/** Trailing moving average over `window` values (shorter at the start); non-finite values are skipped. */
export function movingAverage(values: readonly number[], window: number): number[] {
  const out: number[] = [];
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) {
      sum += values[i];
      count++;
    }
    const leaving = i - window;
    if (leaving >= 0 && Number.isFinite(values[leaving])) {
      sum -= values[leaving];
      count--;
    }
    out.push(count > 0 ? sum / count : NaN);
  }
  return out;
}

/** `n` rows of `data` drawn without replacement with a seeded generator: sorted data shows whole. */
export function randomRows(data: tf.Tensor2D, n: number, seed: number): Float32Array {
  const all = data.dataSync();
  const rows = data.shape[0];
  const order = Array.from({ length: rows }, (_, i) => i);
  const rng = new Rng(`pictures:${seed}`);
  const u = rng.uniforms(n, 0, 1);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(u[i] * (rows - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) out.set(all.subarray(2 * order[i], 2 * order[i] + 2), 2 * i);
  return out;
}
