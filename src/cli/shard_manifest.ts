/**
 * What a shard's CSV is part of, written beside it (`<part>.json`) by `eval` and `sample` with
 * `--shard k/n`, so that `merge` can tell a complete, matching set of parts from one with a part cut
 * at a line boundary, a row missing, or a part from another run (another model, data, seed or --n):
 * none of these shows in the CSV rows themselves.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { crc32 } from '../io/crc32.js';
import { UsageError } from './args.js';
import { temporaryName } from './csv_output.js';

export interface ShardManifest {
  readonly kind: 'eval' | 'sample';
  readonly shard: { readonly k: number; readonly n: number };
  /** The rows this part holds. */
  readonly rows: number;
  /** The rows of the whole (unsharded) run: eval's selected points, sample's --n. */
  readonly total: number;
  /** What all parts of one run share: the model, and the data or the sampling settings. */
  readonly run: Record<string, string | number | boolean>;
}

/** The manifest's path beside a part. */
export function manifestPath(part: string): string {
  return `${part}.json`;
}

/**
 * The model's identity for manifests: the CRC-32 of its model.json, which holds its options and the
 * weights' own CRC-32 (a retrained model in the same folder is another model).
 */
export function modelIdentity(modelDir: string): string {
  return crc32(readFileSync(join(modelDir, 'model.json'))).toString(16).padStart(8, '0');
}

/**
 * A CSV's identity for manifests: what it holds (its rows and their fingerprint), not where (paths
 * differ between machines of a cluster; a name and size agree for a file sorted in place).
 */
export function dataIdentity(rows: number, fingerprint: string): string {
  return `a CSV of ${rows} points, fingerprint ${fingerprint}`;
}

/** Writes a part's manifest (under a temporary name, then renamed: whole or absent). */
export function writeShardManifest(part: string, manifest: ShardManifest): void {
  const path = manifestPath(part);
  const partial = temporaryName(path);
  writeFileSync(partial, JSON.stringify({ cnfkitShard: 1, ...manifest }, null, 2) + '\n', { flag: 'wx' });
  renameSync(partial, path);
}

/**
 * The manifests of a merge's parts, checked against each other and against `--shards`: present, of
 * one kind and one run, part k holding shard k/n, and the parts' rows adding up to the run's.
 * @throws UsageError naming the part and what does not fit
 */
export function readShardManifests(parts: readonly string[], n: number): ShardManifest[] {
  const manifests = parts.map((part, k) => {
    const path = manifestPath(part);
    if (!existsSync(path)) throw new UsageError(`--parts: ${part} has no ${basename(path)} beside it: eval and sample --shard write one with each part (was its job stopped before the end?)`);
    let m: ShardManifest & { cnfkitShard?: number };
    try {
      m = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      throw new UsageError(`--parts: ${path} is not a shard manifest (not JSON)`);
    }
    const valid = m && m.cnfkitShard === 1 && (m.kind === 'eval' || m.kind === 'sample') && m.shard && Number.isInteger(m.shard.k) && Number.isInteger(m.shard.n) && Number.isInteger(m.rows) && Number.isInteger(m.total) && m.run && typeof m.run === 'object';
    if (!valid) throw new UsageError(`--parts: ${path} is not a shard manifest`);
    if (m.shard.n !== n || m.shard.k !== k) throw new UsageError(`--parts: ${part} holds shard ${m.shard.k}/${m.shard.n}, but merging ${n} shards needs shard ${k}/${n} there`);
    return m;
  });
  const first = manifests[0];
  manifests.forEach((m, k) => {
    const other = Object.keys({ ...first.run, ...m.run }).find((key) => first.run[key] !== m.run[key]);
    if (m.kind !== first.kind || m.total !== first.total || other !== undefined) {
      const what = m.kind !== first.kind ? `is a part of ${m.kind}, ${parts[0]} of ${first.kind}` : m.total !== first.total ? `is a part of ${m.total} rows, ${parts[0]} of ${first.total}` : `was made with ${other} ${JSON.stringify(m.run[other!])}, ${parts[0]} with ${JSON.stringify(first.run[other!])}`;
      throw new UsageError(`--parts: ${parts[k]} ${what}: parts of different runs`);
    }
  });
  const rows = manifests.reduce((sum, m) => sum + m.rows, 0);
  if (rows !== first.total) throw new UsageError(`--parts: the parts' manifests hold ${rows} rows, but their run has ${first.total}`);
  return manifests;
}
