/**
 * The paper's picture of the time-series experiment (Figure 8): held-out spirals, their observed
 * points, the noise-free truth, and each model's reconstruction over the sample window
 * (interpolation) and after it (extrapolation); one row per model, so the RNN sits above the latent
 * ODE on the same spirals and the same axes.
 */
import { Axes, COLORS } from '../../src/viz/axes.js';
import { writePng } from '../../src/viz/png.js';
import { Raster } from '../../src/viz/raster.js';
import { SAMPLES, type Spiral } from './spirals.js';

/** One row: a model's name and its predicted paths [spiral][2·SAMPLES][2]. */
export interface PictureRow {
  label: string;
  paths: number[][][];
}

/** Spirals drawn per row. */
export const PICTURED = 4;

/** Square limits around a spiral's truth and observations, with a margin. */
function limits(s: Spiral): { x: [number, number]; y: [number, number] } {
  const points = [...s.truth, ...s.observed];
  const [xs, ys] = [points.map((p) => p[0]), points.map((p) => p[1])];
  const centre = [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
  const half = 0.6 * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 1);
  return { x: [centre[0] - half, centre[0] + half], y: [centre[1] - half, centre[1] + half] };
}

/** Writes the picture to `file`: one row per model over the first PICTURED spirals of `test`. */
export function writeSpiralPicture(file: string, title: string, test: Spiral[], masks: boolean[][], rows: PictureRow[]): void {
  const size = 240;
  const gap = 24;
  const raster = new Raster(70 + PICTURED * (size + gap), 60 + rows.length * (size + 40) + 30);
  raster.text(20, 10, title, COLORS.black, 2);
  rows.forEach((row, r) => {
    const top = 60 + r * (size + 40);
    raster.text(20, top - 18, row.label, COLORS.black, 1);
    for (let p = 0; p < PICTURED; p++) {
      const s = test[p];
      const { x, y } = limits(s);
      const axes = new Axes(raster, 50 + p * (size + gap), top, size, size, x, y);
      axes.frame({ ticks: true });
      axes.line(s.truth.map((q) => q[0]), s.truth.map((q) => q[1]), COLORS.gray, 1);
      const seen = s.observed.filter((_, i) => masks[p][i]);
      axes.scatter(seen.map((q) => q[0]), seen.map((q) => q[1]), COLORS.black, 2);
      const path = row.paths[p];
      axes.line(path.slice(0, SAMPLES).map((q) => q[0]), path.slice(0, SAMPLES).map((q) => q[1]), COLORS.blue, 2);
      axes.line(path.slice(SAMPLES - 1).map((q) => q[0]), path.slice(SAMPLES - 1).map((q) => q[1]), COLORS.red, 2);
      if (r === 0 && p === 0) {
        axes.legend([{ label: 'truth', color: COLORS.gray }, { label: 'observed', color: COLORS.black }, { label: 'interpolation', color: COLORS.blue }, { label: 'extrapolation', color: COLORS.red }]);
      }
    }
  });
  writePng(file, raster);
}
