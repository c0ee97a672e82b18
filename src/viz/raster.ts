/**
 * A small RGBA raster with the drawing the pictures need: antialiased lines and dots, filled
 * rectangles and pixel text. Pure JS, no native canvas.
 */
import { createRequire } from 'node:module';

/** An RGB colour with optional alpha in [0, 1]. */
export type Color = readonly [number, number, number, number?];

interface Glyph {
  offset: number;
  pixels: (0 | 1)[][];
}
const require = createRequire(import.meta.url);
// "Seven plus" from js-pixel-fonts (MIT): 7-pixel-high capitals and digits.
const FONT = require('js-pixel-fonts/data/seven-plus.json') as { lineHeight: number; glyphs: Record<string, Glyph> };
// The font's '|' is one column as tall as an 'l', so "|v|" read as "lvl": a bar from above the
// capitals to below the baseline, with a blank column each side, cannot be mistaken for a letter.
FONT.glyphs['|'] = { offset: -1, pixels: Array.from({ length: 10 }, () => [0, 1, 0] as (0 | 1)[]) };

export class Raster {
  readonly data: Uint8Array;
  /** When set, drawing stops at this rectangle (x1, y1 exclusive). */
  clip?: { x0: number; y0: number; x1: number; y1: number };

  constructor(
    readonly width: number,
    readonly height: number,
    background: Color = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  /** Blends colour c into pixel (x, y) with coverage `alpha`. */
  blend(x: number, y: number, c: Color, alpha = 1): void {
    x = Math.floor(x);
    y = Math.floor(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const clip = this.clip;
    if (clip && (x < clip.x0 || y < clip.y0 || x >= clip.x1 || y >= clip.y1)) return;
    const a = alpha * (c[3] ?? 1);
    const i = (y * this.width + x) * 4;
    for (let k = 0; k < 3; k++) this.data[i + k] = Math.round(this.data[i + k] * (1 - a) + (c[k] as number) * a);
    this.data[i + 3] = 255;
  }

  fillRect(x: number, y: number, w: number, h: number, c: Color): void {
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(this.width, Math.ceil(x + w));
    const y1 = Math.min(this.height, Math.ceil(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.blend(xx, yy, c);
  }

  /** A filled disc of radius r with an antialiased edge. */
  dot(cx: number, cy: number, r: number, c: Color): void {
    for (let y = Math.floor(cy - r - 1); y <= Math.ceil(cy + r + 1); y++) {
      for (let x = Math.floor(cx - r - 1); x <= Math.ceil(cx + r + 1); x++) {
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        const coverage = Math.min(1, Math.max(0, r + 0.5 - d));
        if (coverage > 0) this.blend(x, y, c, coverage);
      }
    }
  }

  /** A line of the given width, drawn as a distance field around the segment (antialiased). */
  line(x0: number, y0: number, x1: number, y1: number, c: Color, width = 1): void {
    const half = width / 2;
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy || 1e-12;
    const xmin = Math.floor(Math.min(x0, x1) - half - 1);
    const xmax = Math.ceil(Math.max(x0, x1) + half + 1);
    const ymin = Math.floor(Math.min(y0, y1) - half - 1);
    const ymax = Math.ceil(Math.max(y0, y1) + half + 1);
    for (let y = ymin; y <= ymax; y++) {
      for (let x = xmin; x <= xmax; x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        const s = Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len2));
        const d = Math.hypot(px - (x0 + s * dx), py - (y0 + s * dy));
        const coverage = Math.min(1, Math.max(0, half + 0.5 - d));
        if (coverage > 0) this.blend(x, y, c, coverage);
      }
    }
  }

  /** A polyline through the points; NaN points break it. */
  polyline(xs: readonly number[], ys: readonly number[], c: Color, width = 1): void {
    for (let i = 1; i < xs.length; i++) {
      if ([xs[i - 1], ys[i - 1], xs[i], ys[i]].every(Number.isFinite)) this.line(xs[i - 1], ys[i - 1], xs[i], ys[i], c, width);
    }
  }

  /** Pixel text with its top-left corner at (x, y); `scale` multiplies the 7-pixel font. */
  text(x: number, y: number, s: string, c: Color, scale = 1): void {
    let cx = x;
    for (const ch of s) {
      const glyph = FONT.glyphs[ch] ?? FONT.glyphs['?'];
      glyph.pixels.forEach((row, r) =>
        row.forEach((on, col) => {
          if (on) this.fillRect(cx + col * scale, y + (r + glyph.offset) * scale, scale, scale, c);
        }),
      );
      cx += ((glyph.pixels[0]?.length ?? 3) + 1) * scale;
    }
  }

  /** Width in pixels of `s` drawn by {@link text}. */
  static textWidth(s: string, scale = 1): number {
    let w = 0;
    for (const ch of s) w += ((FONT.glyphs[ch] ?? FONT.glyphs['?']).pixels[0]?.length ?? 3) + 1;
    return Math.max(0, w - 1) * scale;
  }

}
