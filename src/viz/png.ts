/**
 * PNG files from rasters, written atomically (temporary file, then rename).
 */
import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { encode } from 'fast-png';
import type { Raster } from './raster.js';

/** The PNG bytes of a raster (8-bit RGBA). */
export function encodePng(raster: Raster): Uint8Array {
  return encode({ width: raster.width, height: raster.height, data: raster.data, channels: 4, depth: 8 });
}

/** Writes the raster to `path` as a PNG, creating the folder; never leaves a half-written file. */
export function writePng(path: string, raster: Raster): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, encodePng(raster));
  renameSync(tmp, path);
}
