/**
 * Drawing your own data: press and drag on the data canvas to spray points along the stroke.
 */
import type { Plot } from './plots.js';

/** Points sprayed per step along a stroke, the step (data units) and the spray's spread. */
const PER_STEP = 3;
const STEP = 0.07;
const SPREAD = 0.09;
/** The most points a drawing holds. */
export const MAX_DRAWN = 8000;

/** Gaussian from two uniforms (Box–Muller); drawing needs no seed. */
function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

/**
 * Listens for strokes on `plot` while `active()`; adds points to `points` (x y …) and calls
 * `changed` after each addition.
 */
export function enableDrawing(plot: Plot, points: number[], active: () => boolean, changed: () => void): void {
  let last: [number, number] | undefined;
  const spray = (x: number, y: number) => {
    for (let k = 0; k < PER_STEP && points.length < 2 * MAX_DRAWN; k++) points.push(x + SPREAD * gaussian(), y + SPREAD * gaussian());
  };
  const strokeTo = (e: PointerEvent) => {
    const [x, y] = plot.toData(e.offsetX, e.offsetY);
    if (!last) {
      spray(x, y);
    } else {
      const steps = Math.floor(Math.hypot(x - last[0], y - last[1]) / STEP);
      if (steps === 0) return;
      for (let s = 1; s <= steps; s++) spray(last[0] + ((x - last[0]) * s) / steps, last[1] + ((y - last[1]) * s) / steps);
    }
    last = [x, y];
    changed();
  };
  plot.canvas.addEventListener('pointerdown', (e) => {
    if (!active()) return;
    plot.canvas.setPointerCapture(e.pointerId);
    last = undefined;
    strokeTo(e);
  });
  plot.canvas.addEventListener('pointermove', (e) => {
    if (active() && last && plot.canvas.hasPointerCapture(e.pointerId)) strokeTo(e);
  });
  const end = () => (last = undefined);
  plot.canvas.addEventListener('pointerup', end);
  plot.canvas.addEventListener('pointercancel', end);
}
