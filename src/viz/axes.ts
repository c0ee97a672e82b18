/**
 * A plotting panel inside a raster: data coordinates to pixels, a frame with ticks and labels, a
 * title and a legend.
 */
import { Raster, type Color } from './raster.js';

export const COLORS = {
  black: [0, 0, 0],
  gray: [150, 150, 150],
  light: [225, 225, 225],
  blue: [31, 119, 180],
  orange: [255, 127, 14],
  green: [44, 160, 44],
  red: [214, 39, 40],
  purple: [148, 103, 189],
} as const satisfies Record<string, Color>;

/** Tick values at a 1-2-5 spacing covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

/** A rectangular plot area at (left, top) of size width × height pixels. */
export class Axes {
  constructor(
    readonly raster: Raster,
    readonly left: number,
    readonly top: number,
    readonly width: number,
    readonly height: number,
    readonly xlim: readonly [number, number],
    readonly ylim: readonly [number, number],
  ) {}

  px(x: number): number {
    return this.left + ((x - this.xlim[0]) / (this.xlim[1] - this.xlim[0])) * this.width;
  }

  py(y: number): number {
    return this.top + (1 - (y - this.ylim[0]) / (this.ylim[1] - this.ylim[0])) * this.height;
  }

  /** Frame, tick marks with labels, light grid, axis labels and a title. */
  frame(options: { title?: string; xlabel?: string; ylabel?: string; grid?: boolean; ticks?: boolean } = {}): void {
    const r = this.raster;
    const { left, top, width, height } = this;
    if (options.ticks !== false) {
      for (const x of niceTicks(this.xlim[0], this.xlim[1])) {
        const X = this.px(x);
        if (options.grid !== false) r.line(X, top, X, top + height, COLORS.light);
        r.line(X, top + height, X, top + height + 4, COLORS.black);
        const label = formatTick(x);
        r.text(X - Raster.textWidth(label) / 2, top + height + 7, label, COLORS.black);
      }
      for (const y of niceTicks(this.ylim[0], this.ylim[1])) {
        const Y = this.py(y);
        if (options.grid !== false) r.line(left, Y, left + width, Y, COLORS.light);
        r.line(left - 4, Y, left, Y, COLORS.black);
        const label = formatTick(y);
        r.text(left - 7 - Raster.textWidth(label), Y - 3, label, COLORS.black);
      }
    }
    r.line(left, top, left + width, top, COLORS.black);
    r.line(left, top + height, left + width, top + height, COLORS.black);
    r.line(left, top, left, top + height, COLORS.black);
    r.line(left + width, top, left + width, top + height, COLORS.black);
    if (options.title) r.text(left + width / 2 - Raster.textWidth(options.title, 2) / 2, top - 22, options.title, COLORS.black, 2);
    if (options.xlabel) r.text(left + width / 2 - Raster.textWidth(options.xlabel) / 2, top + height + 20, options.xlabel, COLORS.black);
    if (options.ylabel) r.text(Math.max(2, left - 45), top - 12, options.ylabel, COLORS.black);
  }

  /** A polyline in data coordinates, clipped to the panel by skipping points outside. */
  line(xs: readonly number[], ys: readonly number[], c: Color, width = 1.5): void {
    const inside = (i: number) => xs[i] >= this.xlim[0] && xs[i] <= this.xlim[1] && ys[i] >= this.ylim[0] && ys[i] <= this.ylim[1];
    this.raster.polyline(
      xs.map((x, i) => (inside(i) ? this.px(x) : NaN)),
      ys.map((y, i) => (inside(i) ? this.py(y) : NaN)),
      c,
      width,
    );
  }

  /** Dots in data coordinates (outside points are skipped). */
  scatter(xs: readonly number[], ys: readonly number[], c: Color, radius = 1.5): void {
    for (let i = 0; i < xs.length; i++) {
      const X = this.px(xs[i]);
      const Y = this.py(ys[i]);
      if (X >= this.left && X <= this.left + this.width && Y >= this.top && Y <= this.top + this.height) this.raster.dot(X, Y, radius, c);
    }
  }

  /** A legend box in the panel's top-right corner. */
  legend(entries: readonly { label: string; color: Color }[]): void {
    const w = Math.max(...entries.map((e) => Raster.textWidth(e.label))) + 30;
    const x = this.left + this.width - w - 6;
    let y = this.top + 6;
    this.raster.fillRect(x, y, w, entries.length * 14 + 6, [255, 255, 255, 0.85]);
    for (const e of entries) {
      this.raster.line(x + 5, y + 7, x + 20, y + 7, e.color, 3);
      this.raster.text(x + 25, y + 4, e.label, COLORS.black);
      y += 14;
    }
  }
}
