import { describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import { Axes, COLORS, niceTicks } from '../src/viz/axes.js';
import { encodePng } from '../src/viz/png.js';
import { Raster } from '../src/viz/raster.js';

describe('pictures', () => {
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
