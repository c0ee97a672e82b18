import { describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import { Axes, COLORS, clipSegment, formatTicks, niceTicks } from '../src/viz/axes.js';
import { curvesFigure, threePanelFigure, trajectoryFigure } from '../src/viz/figures.js';
import { movingAverage, randomRows } from '../src/viz/flow_pictures.js';
import { tf } from '../src/index.js';
import { encodePng } from '../src/viz/png.js';
import { Raster } from '../src/viz/raster.js';

describe('pictures', () => {
  it('draw a training curve of 300,000 iterations (spreading them into Math.min overflowed the stack)', () => {
    const xs = Array.from({ length: 300_000 }, (_, i) => i + 1);
    const ys = xs.map((x) => 3 + 1 / Math.sqrt(x));
    const raster = curvesFigure([{ title: 'loss', xlabel: 'iteration', ylabel: 'loss', curves: [{ label: 'loss', xs, ys, color: COLORS.blue }] }]);
    // The curve is drawn: some blue pixels.
    let blue = 0;
    for (let i = 0; i < raster.data.length; i += 4) if (raster.data[i + 2] > 150 && raster.data[i] < 100) blue++;
    expect(blue).toBeGreaterThan(100);
  });

  it('encode to a PNG that decodes to the same size and pixels', () => {
    const r = new Raster(120, 80);
    const ax = new Axes(r, 30, 20, 80, 40, [0, 1], [0, 1]);
    ax.frame({ title: 'T' });
    ax.line([0, 1], [0, 1], COLORS.red, 2);
    const png = decode(encodePng(r));
    expect([png.width, png.height, png.channels]).toEqual([120, 80, 4]);
    expect(Array.from(png.data)).toEqual(Array.from(r.data));
    // The red diagonal crosses the panel's centre.
    const i = (Math.round(ax.py(0.5)) * 120 + Math.round(ax.px(0.5))) * 4;
    expect(png.data[i]).toBeGreaterThan(150);
    expect(png.data[i + 1]).toBeLessThan(120);
  });

  it('draws text: a glyph darkens pixels, a space does not', () => {
    const r = new Raster(40, 12);
    r.text(1, 1, ' ', COLORS.black);
    expect(r.data.every((v) => v === 255)).toBe(true);
    r.text(1, 1, 'A', COLORS.black);
    expect(r.data.some((v) => v === 0)).toBe(true);
    expect(Raster.textWidth('AB')).toBe(11);
  });

  it('chooses ticks at 1-2-5 spacings inside the range', () => {
    expect(niceTicks(0, 30)).toEqual([0, 10, 20, 30]);
    expect(niceTicks(-2.2, 2.2)).toEqual([-2, -1, 0, 1, 2]);
    expect(niceTicks(0, 85)).toEqual([0, 20, 40, 60, 80]);
  });
});

describe('figures that read like a paper\'s (issue 12)', () => {
  it('labels ticks distinctly and readably: 15000 is "15k", never a rounded "2e+4"', () => {
    expect(formatTicks(niceTicks(1, 15000))).toEqual(['5k', '10k', '15k']);
    expect(formatTicks(niceTicks(2.89, 2.95))).toEqual(['2.90', '2.92', '2.94']);
    expect(formatTicks(niceTicks(0, 2.5e6))).toEqual(['0', '0.5M', '1.0M', '1.5M', '2.0M', '2.5M']);
    expect(formatTicks([0, 2e-4, 4e-4])).toEqual(['0', '2e-4', '4e-4']);
    for (const [lo, hi] of [[0, 1], [-3, 7], [1, 123456], [0.001, 0.0042], [10, 10.03], [1, 9e9]]) {
      const ticks = niceTicks(lo, hi);
      const labels = formatTicks(ticks);
      expect(new Set(labels).size, `${lo}..${hi}: ${labels}`).toBe(labels.length);
    }
  });

  it('draws "|" as a bar taller than an "l", so "|error|" cannot read "lerrorl"', () => {
    const pixels = (ch: string) => {
      const r = new Raster(12, 16);
      r.text(2, 3, ch, COLORS.black);
      const rows = new Set<number>();
      for (let i = 0; i < r.data.length; i += 4) if (r.data[i] < 128) rows.add(Math.floor(i / 4 / 12));
      return rows;
    };
    expect(pixels('|').size).toBeGreaterThan(pixels('l').size);
    expect(Raster.textWidth('|')).toBeGreaterThanOrEqual(3);
  });

  it('clips lines to the panel: a segment that leaves the frame ends on it', () => {
    expect(clipSegment(0, 0, 2, 0, [-1, 1], [-1, 1])).toEqual([0, 0, 1, 0]);
    expect(clipSegment(-2, -2, 2, 2, [-1, 1], [-1, 1])).toEqual([-1, -1, 1, 1]);
    expect(clipSegment(2, 2, 3, 3, [-1, 1], [-1, 1])).toBeUndefined();
    const r = new Raster(100, 100);
    const ax = new Axes(r, 20, 20, 60, 60, [0, 1], [0, 1]);
    ax.line([0.5, 3], [0.5, 0.5], COLORS.red, 3);
    for (let x = 82; x < 100; x++) expect(r.data[(50 * 100 + x) * 4 + 1], `pixel ${x}`).toBe(255); // nothing right of the frame
  });

  it('puts the legend in the corner that hides the least', () => {
    const r = new Raster(200, 200);
    const ax = new Axes(r, 20, 20, 160, 160, [0, 1], [0, 1]);
    // Points fill the top half: the legend must go to a bottom corner.
    const xs = Array.from({ length: 400 }, (_, i) => (i % 20) / 19);
    const ys = Array.from({ length: 400 }, (_, i) => 0.55 + 0.45 * Math.floor(i / 20) / 19);
    ax.scatter(xs, ys, COLORS.blue, 1);
    ax.legend([{ label: 'data', color: COLORS.red }]);
    const redAt = (y0: number, y1: number) => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = 0; x < 200; x++) if (r.data[(y * 200 + x) * 4] > 200 && r.data[(y * 200 + x) * 4 + 1] < 80) n++;
      return n;
    };
    expect(redAt(100, 200)).toBeGreaterThan(0);
    expect(redAt(0, 100)).toBe(0);
  });

  it('shows a seeded random subset of the data, so sorted data is drawn whole', () => {
    // A full ring sorted by angle: the first 200 of 2000 rows cover 36 degrees; a random 200 cover all.
    const n = 2000;
    const ring = tf.tensor2d(Array.from({ length: n }, (_, i) => [Math.cos((2 * Math.PI * i) / n), Math.sin((2 * Math.PI * i) / n)]));
    const rows = randomRows(ring, 200, 0);
    const octants = new Set<number>();
    for (let i = 0; i < 200; i++) octants.add(Math.floor(((Math.atan2(rows[2 * i + 1], rows[2 * i]) + Math.PI) / (2 * Math.PI)) * 8) % 8);
    expect(octants.size).toBe(8);
    expect(Array.from(randomRows(ring, 200, 0))).toEqual(Array.from(rows)); // seeded
    ring.dispose();
  });

  it('draws the last trajectory frame (the data) in a colour that stands out on white, and labels the colour bar inside', () => {
    const frames = [0, 1, 2].map(() => Float32Array.from(Array.from({ length: 400 }, (_, i) => (i % 2 ? 0.1 : -0.1) * (i % 7))));
    const r = trajectoryFigure(frames, [0.5, 0.25, 0], 1, 't');
    // Darkest pixel of the last panel: its luminance must be well below white's.
    let darkest = 1;
    for (let y = 55; y < 255; y++) {
      for (let x = 30 + 2 * 225; x < 30 + 2 * 225 + 200; x++) {
        const i = (y * r.width + x) * 4;
        darkest = Math.min(darkest, (0.2126 * r.data[i] + 0.7152 * r.data[i + 1] + 0.0722 * r.data[i + 2]) / 255);
      }
    }
    expect(darkest).toBeLessThan(0.75);
    const density = { n: 2, view: { x: [-1, 1], y: [-1, 1] } as const, values: [0, 0.1, 0.2, 0.05] };
    const figure = threePanelFigure([0, 0], [0, 0], density, 1, 'x');
    // Labels beside the bar between its ends (0.05, 0.10, 0.15): dark pixels right of it, mid-height.
    const barRight = 50 + 2 * 340 + 300 + 15 + 21;
    let inked = 0;
    for (let y = 120; y < 300; y++) for (let x = barRight; x < barRight + 30; x++) if (figure.data[(y * figure.width + x) * 4] < 100) inked++;
    expect(inked).toBeGreaterThan(20);
  });

  it('smooths the loss curve with a trailing mean', () => {
    expect(movingAverage([1, 3, 5, NaN, 7], 2)).toEqual([1, 2, 4, 5, 7]);
  });

  it("looks where a standardised flow's data are (±4 std around their mean, per axis), not at [−4, 4]² (empty panels for data away from the origin)", async () => {
    const { CNF } = await import('../src/index.js');
    const { densityOnGrid, flowView } = await import('../src/viz/flow_pictures.js');
    const flow = new CNF({ dim: 2, hiddenDims: [4], seed: 1, standardize: { mean: [1000, -300], std: [2, 3] } });
    const view = flowView(flow);
    expect(view).toEqual({ x: [992, 1008], y: [-312, -288] });
    const peak = (g: { values: ArrayLike<number> }) => Math.max(...Array.from(g.values));
    // About N((1000, −300), diag(4, 9)) untrained: a visible peak there, nothing in [−4, 4]².
    expect(peak(densityOnGrid(flow, view, 20))).toBeGreaterThan(1e-3);
    expect(peak(densityOnGrid(flow, 4, 20))).toBe(0);
    expect(flowView(new CNF({ dim: 2, hiddenDims: [4] }))).toEqual({ x: [-4, 4], y: [-4, 4] });
    flow.dispose();
  });
});
