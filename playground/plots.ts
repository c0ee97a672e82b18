/**
 * The playground's pictures, drawn on 2D canvases: the data square with its points, the density as
 * a heat map (inferno-like colours), samples, the flow's paths from noise to data, and the loss curve.
 */
import { EXTENT, type ModelView } from './protocol.js';

const BACKGROUND = '#07090d';

/** A square canvas showing [-EXTENT, EXTENT]², sharp on high-DPI screens. */
export class Plot {
  readonly ctx: CanvasRenderingContext2D;
  /** Side in CSS pixels. */
  size = 0;

  constructor(readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('2d')!;
  }

  /** Matches the backing store to the displayed size; returns whether it changed. */
  resize(): boolean {
    const size = Math.max(1, Math.round(this.canvas.clientWidth));
    const ratio = window.devicePixelRatio || 1;
    if (size === this.size && this.canvas.width === Math.round(size * ratio)) return false;
    this.size = size;
    this.canvas.width = this.canvas.height = Math.round(size * ratio);
    this.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return true;
  }

  /** Data x to CSS pixels. */
  px(x: number): number {
    return ((x + EXTENT) / (2 * EXTENT)) * this.size;
  }

  /** Data y to CSS pixels (y up). */
  py(y: number): number {
    return ((EXTENT - y) / (2 * EXTENT)) * this.size;
  }

  /** A pointer position (CSS pixels in the canvas) to data coordinates. */
  toData(offsetX: number, offsetY: number): [number, number] {
    return [(offsetX / this.size) * 2 * EXTENT - EXTENT, EXTENT - (offsetY / this.size) * 2 * EXTENT];
  }

  /** The empty square with faint unit grid lines and axes. */
  backdrop(): void {
    const { ctx, size } = this;
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, size, size);
    ctx.lineWidth = 1;
    for (let k = -EXTENT + 1; k < EXTENT; k++) {
      ctx.strokeStyle = k === 0 ? '#1c2230' : '#11151d';
      const at = Math.round(this.px(k)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(at, 0);
      ctx.lineTo(at, size);
      ctx.moveTo(0, at);
      ctx.lineTo(size, at);
      ctx.stroke();
    }
  }

  /** Dots at x y pairs. */
  points(xy: ArrayLike<number>, color: string, radius: number): void {
    const { ctx } = this;
    ctx.fillStyle = color;
    ctx.beginPath();
    for (let i = 0; i + 1 < xy.length; i += 2) {
      const x = this.px(xy[i]);
      const y = this.py(xy[i + 1]);
      ctx.moveTo(x + radius, y);
      ctx.arc(x, y, radius, 0, 2 * Math.PI);
    }
    ctx.fill();
  }

  /** A centred note on the square (e.g. what to do first). */
  note(text: string): void {
    const { ctx, size } = this;
    ctx.fillStyle = '#5d6678';
    ctx.font = '500 14px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.fillText(text, size / 2, size / 2);
    ctx.textAlign = 'start';
  }
}

/** Matplotlib's inferno at nine stops. */
const INFERNO = [
  [0, 0, 4], [31, 12, 72], [85, 15, 109], [136, 34, 106], [186, 54, 85], [227, 89, 51], [249, 140, 10], [249, 201, 50], [252, 255, 164],
];

function inferno(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, v)) * (INFERNO.length - 1);
  const i = Math.min(INFERNO.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [INFERNO[i], INFERNO[i + 1]];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/** The density exp(log p) on the grid, scaled to its maximum, as a grid×grid image to draw smoothed. */
export function densityImage(logp: Float32Array, grid: number): HTMLCanvasElement {
  const image = document.createElement('canvas');
  image.width = image.height = grid;
  const ctx = image.getContext('2d')!;
  const pixels = ctx.createImageData(grid, grid);
  let top = -Infinity;
  for (const v of logp) if (Number.isFinite(v) && v > top) top = v;
  for (let i = 0; i < grid * grid; i++) {
    const p = Number.isFinite(logp[i]) ? Math.exp(logp[i] - top) : 0;
    const [r, g, b] = inferno(Math.pow(p, 0.8));
    pixels.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(pixels, 0, 0);
  return image;
}

/** Draws the density image over the whole square. */
export function drawDensity(plot: Plot, image: HTMLCanvasElement): void {
  plot.ctx.imageSmoothingEnabled = true;
  plot.ctx.imageSmoothingQuality = 'high';
  plot.ctx.drawImage(image, 0, 0, plot.size, plot.size);
}

/**
 * The paths from noise to data up to `progress` (0: all at the base, 1: all in data space), with a
 * faint trail behind each moving point.
 */
export function drawFlow(plot: Plot, view: ModelView, progress: number, onDensity: boolean): void {
  const { ctx } = plot;
  const { paths, frames, pathCount } = view;
  const at = progress * (frames - 1);
  const whole = Math.floor(at);
  const f = at - whole;
  const xy = (frame: number, i: number) => [paths[2 * (frame * pathCount + i)], paths[2 * (frame * pathCount + i) + 1]];
  ctx.lineWidth = 1;
  ctx.strokeStyle = onDensity ? 'rgba(200, 240, 255, 0.22)' : 'rgba(143, 216, 255, 0.2)';
  ctx.beginPath();
  const heads = new Float32Array(2 * pathCount);
  for (let i = 0; i < pathCount; i++) {
    const [x0, y0] = xy(0, i);
    ctx.moveTo(plot.px(x0), plot.py(y0));
    for (let k = 1; k <= whole; k++) {
      const [x, y] = xy(k, i);
      ctx.lineTo(plot.px(x), plot.py(y));
    }
    const [xa, ya] = xy(whole, i);
    const [xb, yb] = xy(Math.min(frames - 1, whole + 1), i);
    heads[2 * i] = xa + f * (xb - xa);
    heads[2 * i + 1] = ya + f * (yb - ya);
    ctx.lineTo(plot.px(heads[2 * i]), plot.py(heads[2 * i + 1]));
  }
  ctx.stroke();
  plot.points(heads, onDensity ? '#e8fbff' : '#8fd8ff', 1.9);
}

/** A small label in the square's corner with a progress line under it (e.g. how far the flow is). */
export function cornerLabel(plot: Plot, text: string, progress: number): void {
  const { ctx, size } = plot;
  ctx.font = '500 11px system-ui, sans-serif';
  const width = Math.max(64, ctx.measureText(text).width) + 16;
  ctx.fillStyle = 'rgba(7, 9, 13, 0.72)';
  ctx.beginPath();
  ctx.roundRect(8, size - 34, width, 26, 6);
  ctx.fill();
  ctx.fillStyle = '#c9d1e0';
  ctx.fillText(text, 16, size - 19);
  ctx.fillStyle = '#2a3140';
  ctx.fillRect(16, size - 14, width - 16, 2);
  ctx.fillStyle = '#8fd8ff';
  ctx.fillRect(16, size - 14, (width - 16) * progress, 2);
}

/** The loss per iteration (faint) and its moving average (bright), on a robust y range. */
export function drawLossCurve(canvas: HTMLCanvasElement, losses: number[], totalIterations: number): void {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const left = 46;
  const right = 10;
  const top = 10;
  const bottom = 22;
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#5d6678';
  if (losses.length < 2) {
    ctx.fillText('the loss of each iteration appears here', left, height / 2);
    return;
  }
  const smooth: number[] = [];
  const alpha = Math.min(0.2, 20 / losses.length + 0.01);
  losses.forEach((l, i) => smooth.push(i === 0 ? l : smooth[i - 1] + alpha * (l - smooth[i - 1])));
  const sorted = [...losses].sort((a, b) => a - b);
  const low = Math.min(sorted[0], ...smooth.slice(-1));
  const high = Math.max(sorted[Math.floor(0.98 * (sorted.length - 1))], smooth[Math.min(smooth.length - 1, 10)]);
  const span = high - low || 1;
  const n = Math.max(totalIterations, losses.length);
  const X = (i: number) => left + ((i + 1) / n) * (width - left - right);
  const Y = (v: number) => top + (1 - (Math.min(high + 0.05 * span, v) - low) / (span * 1.05)) * (height - top - bottom);
  ctx.strokeStyle = '#1a1f2a';
  ctx.lineWidth = 1;
  for (const v of [low, low + span / 2, high]) {
    ctx.beginPath();
    ctx.moveTo(left, Math.round(Y(v)) + 0.5);
    ctx.lineTo(width - right, Math.round(Y(v)) + 0.5);
    ctx.stroke();
    ctx.fillText(v.toPrecision(3), 4, Y(v) + 4);
  }
  ctx.fillText(`iteration ${losses.length}`, width - right - 90, height - 6);
  ctx.fillText('0', left, height - 6);
  const line = (values: number[], style: string, lineWidth: number) => {
    ctx.strokeStyle = style;
    ctx.lineWidth = lineWidth;
    ctx.beginPath();
    const step = Math.max(1, Math.floor(values.length / (2 * width)));
    for (let i = 0; i < values.length; i += step) (i === 0 ? ctx.moveTo : ctx.lineTo).call(ctx, X(i), Y(values[i]));
    ctx.lineTo(X(values.length - 1), Y(values[values.length - 1]));
    ctx.stroke();
  };
  line(losses, 'rgba(245, 165, 36, 0.25)', 1);
  line(smooth, '#f5a524', 2);
}
