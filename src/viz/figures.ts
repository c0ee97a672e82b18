/**
 * The pictures of a trained flow: FFJORD's three panels (data, samples, density), particles flowing
 * from the base to the data, and training curves.
 */
import { Axes, COLORS, formatTicks, niceTicks } from './axes.js';
import { viridis } from './colormap.js';
import { Raster, type Color } from './raster.js';

/** Points as [x0, y0, x1, y1, …]. */
export type Points = ArrayLike<number>;

/** A density on a square grid: values[i * n + j] at (x_i, y_j), cell centres over [lo, hi]². */
export interface GridDensity {
  readonly n: number;
  /** The window the grid covers. */
  readonly view: View;
  readonly values: ArrayLike<number>;
}

/** The region a 2-D picture shows: x and y ranges (each drawn on a square panel, so their scales may differ). */
export interface View {
  readonly x: readonly [number, number];
  readonly y: readonly [number, number];
}

/** [−lim, lim]², or the view itself. */
export function viewOf(view: View | number): View {
  return typeof view === 'number' ? { x: [-view, view], y: [-view, view] } : view;
}

function scatterPanel(raster: Raster, left: number, top: number, size: number, view: View, points: Points, title: string, color: Color): void {
  const ax = new Axes(raster, left, top, size, size, view.x, view.y);
  ax.frame({ title, grid: false });
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i + 1 < points.length; i += 2) {
    xs.push(points[i]);
    ys.push(points[i + 1]);
  }
  ax.scatter(xs, ys, [...color.slice(0, 3), 0.35] as unknown as Color, 1.3);
}

/**
 * Data samples, model samples and the model density side by side, with a colour scale for the density.
 * @param view - what every panel shows ([−lim, lim]² for a number)
 */
export function threePanelFigure(data: Points, samples: Points, density: GridDensity, view: View | number, title: string): Raster {
  const size = 300;
  const raster = new Raster(3 * size + 220, size + 110);
  raster.text(20, 8, title, COLORS.black, 2);
  scatterPanel(raster, 50, 60, size, viewOf(view), data, 'data', COLORS.blue);
  scatterPanel(raster, 50 + size + 40, 60, size, viewOf(view), samples, 'samples', COLORS.orange);
  const left = 50 + 2 * (size + 40);
  const ax = new Axes(raster, left, 60, size, size, density.view.x, density.view.y);
  let max = 0;
  for (let i = 0; i < density.values.length; i++) max = Math.max(max, density.values[i]);
  const cell = size / density.n;
  for (let i = 0; i < density.n; i++) {
    for (let j = 0; j < density.n; j++) {
      // Row j counts upwards in y; the raster's rows count downwards.
      raster.fillRect(left + i * cell, 60 + size - (j + 1) * cell, cell + 0.5, cell + 0.5, viridis(density.values[i * density.n + j] / (max || 1)));
    }
  }
  ax.frame({ title: 'density', grid: false });
  // Colour scale 0 … max density, with ticks along it.
  const barLeft = left + size + 15;
  for (let y = 0; y < size; y++) raster.fillRect(barLeft, 60 + y, 14, 1, viridis(1 - y / (size - 1)));
  const ticks = niceTicks(0, max || 1, 4);
  formatTicks(ticks).forEach((label, k) => {
    const Y = 60 + size - (ticks[k] / (max || 1)) * size;
    raster.line(barLeft + 14, Y, barLeft + 18, Y, COLORS.black);
    raster.text(barLeft + 21, Y - 3, label, COLORS.black);
  });
  raster.text(barLeft - 2, 60 + size + 8, 'p(x)', COLORS.black);
  return raster;
}

/**
 * Particles at several times: frames[k] are the points at times[k], drawn side by side.
 */
export function trajectoryFigure(frames: readonly Points[], times: readonly number[], view: View | number, title: string): Raster {
  const size = 200;
  const gap = 25;
  const raster = new Raster(frames.length * (size + gap) + 40, size + 90);
  raster.text(20, 8, title, COLORS.black, 2);
  frames.forEach((points, k) => {
    const left = 30 + k * (size + gap);
    // Viridis stops short of its yellow end, which is unreadable on a white panel.
    const color = viridis(0.72 * (k / Math.max(1, frames.length - 1)));
    scatterPanel(raster, left, 55, size, viewOf(view), points, `t = ${times[k].toFixed(2)}`, color);
  });
  return raster;
}

/** One panel of {@link curvesFigure}: curves sharing axes. */
export interface CurvePanel {
  readonly title: string;
  readonly xlabel: string;
  readonly ylabel: string;
  readonly curves: readonly { label: string; xs: readonly number[]; ys: readonly number[]; color: Color; width?: number }[];
}

/** [min, max] of `values` by a loop: spreading them into Math.min overflows the stack past ~10^5 values (a long training curve). */
function extent(values: readonly number[]): [number, number] {
  let [lo, hi] = [Infinity, -Infinity];
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Panels of curves side by side (e.g. the training loss, and the held-out NLL on its own scale). */
export function curvesFigure(panels: readonly CurvePanel[]): Raster {
  const width = 620;
  const raster = new Raster(panels.length * (width + 60) + 40, 420);
  panels.forEach((panel, k) => {
    const finite = (v: number) => Number.isFinite(v);
    const allX = panel.curves.flatMap((c) => c.xs.filter(finite));
    const allY = panel.curves.flatMap((c) => c.ys.filter(finite));
    const [x0, x1] = extent(allX);
    const [y0, y1] = extent(allY);
    const pad = (y1 - y0) * 0.05 || 1;
    const ax = new Axes(raster, 80 + k * (width + 60), 50, width - 60, 320, [x0, x1 > x0 ? x1 : x0 + 1], [y0 - pad, y1 + pad]);
    ax.frame({ title: panel.title, xlabel: panel.xlabel, ylabel: panel.ylabel });
    for (const c of panel.curves) {
      ax.line(c.xs, c.ys, c.color, c.width ?? 1.5);
      if (c.xs.length < 40) ax.scatter(c.xs, c.ys, c.color, 3);
    }
    ax.legend(panel.curves.map((c) => ({ label: c.label, color: c.color })));
  });
  return raster;
}
