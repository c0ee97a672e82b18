/**
 * Pictures of a trained 2D flow, written as PNG files: the three-panel figure, the trajectories and
 * the training curves.
 */
import * as tf from '@tensorflow/tfjs';
import type { CNF } from '../flows/cnf.js';
import { COLORS } from './axes.js';
import { curvesFigure, threePanelFigure, trajectoryFigure, type CurvePanel, type GridDensity } from './figures.js';
import { writePng } from './png.js';

/** exp(logProb) on an n×n grid over [−lim, lim]², in batches (exact trace). */
export function densityOnGrid(flow: CNF, lim: number, n: number, batch = 4096): GridDensity {
  const values = new Float32Array(n * n);
  const cell = (2 * lim) / n;
  for (let start = 0; start < n * n; start += batch) {
    const count = Math.min(batch, n * n - start);
    const pts = new Float32Array(2 * count);
    for (let k = 0; k < count; k++) {
      const idx = start + k;
      pts[2 * k] = -lim + (Math.floor(idx / n) + 0.5) * cell;
      pts[2 * k + 1] = -lim + ((idx % n) + 0.5) * cell;
    }
    const p = tf.tidy(() => tf.exp(flow.logProb(tf.tensor2d(pts, [count, 2]))));
    values.set(p.dataSync(), start);
    p.dispose();
  }
  return { n, lo: -lim, hi: lim, values };
}

/** What {@link writeFlowPictures} draws. */
export interface FlowPictureInputs {
  readonly flow: CNF;
  /** Data points [N, 2] to show beside the samples. */
  readonly data: tf.Tensor2D;
  readonly title: string;
  /** Half-width of the square shown. */
  readonly lim?: number;
  /** Training loss per iteration, and held-out NLL at some iterations, for the curves. */
  readonly losses?: readonly number[];
  readonly heldOut?: readonly { iteration: number; nll: number }[];
  readonly seed?: number;
  /** The y-axis label of the curves. */
  readonly lossLabel?: string;
}

/**
 * Writes `<dir>/figure.png` (data | samples | density), `<dir>/trajectories.png` and, when losses are
 * given, `<dir>/curves.png`.
 * @returns the paths written
 */
export function writeFlowPictures(dir: string, inputs: FlowPictureInputs): string[] {
  const { flow, data, title, lim = 4, seed = 0 } = inputs;
  const n = Math.min(2000, data.shape[0]);
  const samples = flow.sample(n, seed);
  const density = densityOnGrid(flow, lim, 100);
  const written = [`${dir}/figure.png`, `${dir}/trajectories.png`];
  writePng(written[0], threePanelFigure(data.slice([0, 0], [n, 2]).dataSync(), samples.dataSync(), density, lim, title));
  const z = tf.randomNormal([n, 2], 0, 1, 'float32', seed + 1) as tf.Tensor2D;
  const { times, states } = flow.trajectory(z, 6);
  const frames = tf.unstack(states).map((s) => s.dataSync());
  writePng(written[1], trajectoryFigure(frames, times, lim, `${title}: from the base (t = T) to the data (t = 0)`));
  tf.dispose([samples, z, states]);
  if (inputs.losses && inputs.losses.length > 1) {
    const panels: CurvePanel[] = [
      {
        title: 'training loss',
        xlabel: 'iteration',
        ylabel: inputs.lossLabel ?? 'loss',
        curves: [{ label: 'per iteration', xs: inputs.losses.map((_, i) => i + 1), ys: [...inputs.losses], color: COLORS.blue }],
      },
    ];
    if (inputs.heldOut?.length) {
      panels.push({
        title: 'held-out NLL',
        xlabel: 'iteration',
        ylabel: 'nats',
        curves: [{ label: 'exact trace', xs: inputs.heldOut.map((h) => h.iteration), ys: inputs.heldOut.map((h) => h.nll), color: COLORS.red }],
      });
    }
    written.push(`${dir}/curves.png`);
    writePng(written[2], curvesFigure(panels));
  }
  return written;
}
