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

/**
 * Labels for ticks on one 1-2-5 grid: as many decimals as the spacing needs, thousands as `k` and
 * millions as `M` (15000 reads "15k", never a rounded "2e+4"), tiny values in a shared power of ten.
 * Every label differs from the others.
 */
export function formatTicks(ticks: readonly number[]): string[] {
  if (ticks.length === 0) return [];
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(ticks[0]) || 1;
  const max = Math.max(...ticks.map(Math.abs));
  let scale = 1;
  let suffix = '';
  if (max >= 1e9 || (max > 0 && max < 1e-3)) {
    const exponent = Math.floor(Math.log10(max));
    scale = 10 ** exponent;
    suffix = `e${exponent}`;
  } else if (max >= 1e6) {
    [scale, suffix] = [1e6, 'M'];
  } else if (max >= 1e4) {
    [scale, suffix] = [1e3, 'k'];
  }
  const decimals = Math.min(10, Math.max(0, -Math.floor(Math.log10(step / scale) + 1e-9)));
  return ticks.map((v) => (v === 0 ? '0' : `${(v / scale).toFixed(decimals)}${suffix}`));
}

/** Where {@link Axes.legend} goes. */
export type LegendPlacement = 'best' | 'outside';

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

  /** Pixel positions of what was drawn, so a legend can go where it hides the least. */
  private readonly drawn: [number, number][] = [];

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
      const xTicks = niceTicks(this.xlim[0], this.xlim[1]);
      formatTicks(xTicks).forEach((label, k) => {
        const X = this.px(xTicks[k]);
        if (options.grid !== false) r.line(X, top, X, top + height, COLORS.light);
        r.line(X, top + height, X, top + height + 4, COLORS.black);
        r.text(X - Raster.textWidth(label) / 2, top + height + 7, label, COLORS.black);
      });
      const yTicks = niceTicks(this.ylim[0], this.ylim[1]);
      formatTicks(yTicks).forEach((label, k) => {
        const Y = this.py(yTicks[k]);
        if (options.grid !== false) r.line(left, Y, left + width, Y, COLORS.light);
        r.line(left - 4, Y, left, Y, COLORS.black);
        r.text(left - 7 - Raster.textWidth(label), Y - 3, label, COLORS.black);
      });
    }
    r.line(left, top, left + width, top, COLORS.black);
    r.line(left, top + height, left + width, top + height, COLORS.black);
    r.line(left, top, left, top + height, COLORS.black);
    r.line(left + width, top, left + width, top + height, COLORS.black);
    if (options.title) r.text(left + width / 2 - Raster.textWidth(options.title, 2) / 2, top - 22, options.title, COLORS.black, 2);
    if (options.xlabel) r.text(left + width / 2 - Raster.textWidth(options.xlabel) / 2, top + height + 20, options.xlabel, COLORS.black);
    if (options.ylabel) r.text(Math.max(2, left - 45), top - 12, options.ylabel, COLORS.black);
  }

  /** A polyline in data coordinates, each segment clipped to the panel (nothing crosses the frame). */
  line(xs: readonly number[], ys: readonly number[], c: Color, width = 1.5): void {
    this.clipped(() => {
      for (let i = 1; i < xs.length; i++) {
        const segment = clipSegment(xs[i - 1], ys[i - 1], xs[i], ys[i], this.xlim, this.ylim);
        if (!segment) continue;
        const [X0, Y0, X1, Y1] = [this.px(segment[0]), this.py(segment[1]), this.px(segment[2]), this.py(segment[3])];
        this.raster.line(X0, Y0, X1, Y1, c, width);
        this.remember(X0, Y0);
        this.remember(X1, Y1);
      }
    });
  }

  /** An arrow from (x0, y0) to (x1, y1) in data coordinates, its head `head` pixels long. */
  arrow(x0: number, y0: number, x1: number, y1: number, c: Color, width = 1.5, head = 5): void {
    this.line([x0, x1], [y0, y1], c, width);
    const [X0, Y0, X1, Y1] = [this.px(x0), this.py(y0), this.px(x1), this.py(y1)];
    const length = Math.hypot(X1 - X0, Y1 - Y0);
    if (length < 1 || !this.contains(X1, Y1)) return;
    const [ux, uy] = [(X1 - X0) / length, (Y1 - Y0) / length];
    const size = Math.min(head, length * 0.6);
    this.clipped(() => {
      for (const side of [-1, 1]) {
        this.raster.line(X1, Y1, X1 - size * (ux - 0.5 * side * uy), Y1 - size * (uy + 0.5 * side * ux), c, width);
      }
    });
  }

  /** Dots in data coordinates (outside points are skipped). */
  scatter(xs: readonly number[], ys: readonly number[], c: Color, radius = 1.5): void {
    this.clipped(() => {
      for (let i = 0; i < xs.length; i++) {
        const X = this.px(xs[i]);
        const Y = this.py(ys[i]);
        if (!this.contains(X, Y)) continue;
        this.raster.dot(X, Y, radius, c);
        this.remember(X, Y);
      }
    });
  }

  /**
   * A legend. `'best'`: the inside corner that hides the fewest drawn points (matplotlib's "best");
   * `'outside'`: to the right of the frame (leave room for it).
   */
  legend(entries: readonly { label: string; color: Color }[], placement: LegendPlacement = 'best'): void {
    const w = Math.max(...entries.map((e) => Raster.textWidth(e.label))) + 30;
    const h = entries.length * 14 + 6;
    const corners: [number, number][] = [
      [this.left + this.width - w - 6, this.top + 6],
      [this.left + 6, this.top + 6],
      [this.left + this.width - w - 6, this.top + this.height - h - 6],
      [this.left + 6, this.top + this.height - h - 6],
    ];
    const hidden = ([x, y]: [number, number]) => this.drawn.filter(([X, Y]) => X >= x - 2 && X <= x + w + 2 && Y >= y - 2 && Y <= y + h + 2).length;
    const scored = corners.map((corner) => ({ corner, hides: hidden(corner) })).sort((a, b) => a.hides - b.hides);
    const [x, y0] = placement === 'outside' ? [this.left + this.width + 10, this.top] : scored[0].corner;
    let y = y0;
    this.raster.fillRect(x, y, w, h, [255, 255, 255, 0.9]);
    for (const e of entries) {
      this.raster.line(x + 5, y + 7, x + 20, y + 7, e.color, 3);
      this.raster.text(x + 25, y + 4, e.label, COLORS.black);
      y += 14;
    }
  }

  private contains(X: number, Y: number): boolean {
    return X >= this.left && X <= this.left + this.width && Y >= this.top && Y <= this.top + this.height;
  }

  private remember(X: number, Y: number): void {
    if (this.drawn.length < 200_000) this.drawn.push([X, Y]);
  }

  /** Draws with the raster clipped to the panel, so line widths and dots stop at the frame. */
  private clipped(draw: () => void): void {
    const previous = this.raster.clip;
    this.raster.clip = { x0: this.left, y0: this.top, x1: this.left + this.width + 1, y1: this.top + this.height + 1 };
    try {
      draw();
    } finally {
      this.raster.clip = previous;
    }
  }
}

/**
 * The part of the segment (x0, y0)–(x1, y1) inside the box (Liang–Barsky), or undefined when none
 * is; non-finite ends give undefined.
 */
export function clipSegment(
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  xlim: readonly [number, number],
  ylim: readonly [number, number],
): [number, number, number, number] | undefined {
  if (![x0, y0, x1, y1].every(Number.isFinite)) return undefined;
  const dx = x1 - x0;
  const dy = y1 - y0;
  let t0 = 0;
  let t1 = 1;
  for (const [p, q] of [[-dx, x0 - xlim[0]], [dx, xlim[1] - x0], [-dy, y0 - ylim[0]], [dy, ylim[1] - y0]]) {
    if (p === 0) {
      if (q < 0) return undefined;
      continue;
    }
    const r = q / p;
    if (p < 0) t0 = Math.max(t0, r);
    else t1 = Math.min(t1, r);
    if (t0 > t1) return undefined;
  }
  return [x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy];
}
