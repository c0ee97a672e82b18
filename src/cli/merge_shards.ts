/**
 * `cnfkit merge`: the per-shard CSV files of `eval --shard k/n --out` or `sample --shard k/n --out`,
 * written by an indexed batch job (a Slurm array, a Kubernetes Indexed Job), combined into the file
 * one unsharded run writes. Everything is checked before a line is written: every shard present, one
 * header, and each shard holding what `--shard k/n` puts there (eval: the indices ≡ k mod n, rising;
 * sample: the k-th of n equal slices). Both passes stream, so parts of any size merge in flat memory.
 */
import { appendFileSync, createReadStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { UsageError, type OptionSpec, type ParsedOptions } from './args.js';

export const MERGE_OPTIONS: readonly OptionSpec[] = [
  { name: 'parts', kind: 'string', required: true, help: "the shard files, with {k} for the shard's index (e.g. 'logp-{k}.csv')" },
  { name: 'shards', kind: 'integer', required: true, help: 'n, the number of shards the job ran (--shard k/n)' },
  { name: 'out', kind: 'string', required: true, help: 'CSV file to write: what one unsharded run writes' },
];

/** The header `eval --out` writes; its parts interleave by index, sample's parts follow each other. */
const EVAL_HEADER = 'index,log_prob';
/** Rows gathered before each append. */
const FLUSH_ROWS = 10_000;

export async function merge(o: ParsedOptions, log: (line: string) => void): Promise<number> {
  const pattern = o.parts as string;
  const n = o.shards as number;
  const out = o.out as string;
  if (!pattern.includes('{k}')) throw new UsageError(`--parts must contain {k} where the shard's index goes (e.g. 'part-{k}.csv'), but got '${pattern}'`);
  const parts = Array.from({ length: n }, (_, k) => pattern.replaceAll('{k}', String(k)));
  parts.forEach((file, k) => {
    if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`--parts: shard ${k}/${n} (${file}) does not exist`);
  });
  if (parts.some((file) => resolve(file) === resolve(out))) throw new UsageError(`--out ${out} is one of the parts; name a new file`);
  if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out ${out} is a folder; name the CSV file to write`);

  const headers: string[] = [];
  for (const file of parts) headers.push(await headerOf(file)); // one file open at a time
  const header = headers[0];
  headers.forEach((h, k) => {
    if (h !== header) throw new UsageError(`--parts: ${parts[k]} has the header '${h}', but ${parts[0]} has '${header}'; parts of one job share it`);
  });
  const byIndex = header === EVAL_HEADER;
  const scans = [];
  for (const [k, file] of parts.entries()) scans.push(await scanPart(file, k, n, byIndex));
  const total = scans.reduce((sum, s) => sum + s.rows, 0);
  if (!byIndex) {
    // sample --shard k/n writes rows floor(kN/n) … floor((k+1)N/n) − 1 of the N samples.
    scans.forEach((s, k) => {
      const expected = Math.floor(((k + 1) * total) / n) - Math.floor((k * total) / n);
      if (s.rows !== expected) {
        throw new UsageError(`--parts: ${parts[k]} holds ${s.rows} rows, but shard ${k}/${n} of ${total} samples has ${expected}; is a part missing, or from another run?`);
      }
    });
  }

  writeFileSync(out, header + '\n');
  const logProbColumn = header.split(',').indexOf('log_prob');
  let sum = 0;
  const writer = lineWriter(out, (line) => {
    if (logProbColumn >= 0) sum += Number(line.split(',')[logProbColumn]);
  });
  if (byIndex) await interleave(parts, writer.add);
  else for (const file of parts) for await (const line of dataLines(file)) writer.add(line);
  writer.flush();
  const nll = logProbColumn >= 0 && total > 0 ? `; NLL over them ${(-sum / total).toFixed(4)} nats` : '';
  log(`merged ${n} shards: ${total} rows into ${out}${nll}`);
  return 0;
}

/** The data lines of a CSV part after its header. */
async function* dataLines(file: string): AsyncGenerator<string> {
  let first = true;
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    if (first) {
      first = false;
      continue;
    }
    if (line.trim()) yield line;
  }
}

/** A part's first line: the header eval and sample --out write. */
async function headerOf(file: string): Promise<string> {
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    const header = line.replace(/^\uFEFF/, '').trim();
    if (!/[a-z_]/i.test(header)) break;
    return header;
  }
  throw new UsageError(`--parts: ${file} has no header line; expected the CSV that eval or sample --out wrote`);
}

/** A part's row count; for eval's parts (`byIndex`), a check that its indices are shard k's, rising. */
async function scanPart(file: string, k: number, n: number, byIndex: boolean): Promise<{ rows: number }> {
  let rows = 0;
  let last = -1;
  let lineNumber = 0;
  for await (const raw of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    lineNumber++;
    if (lineNumber === 1 || !raw.trim()) continue;
    rows++;
    if (!byIndex) continue;
    const cell = raw.split(',', 1)[0];
    const index = Number(cell);
    if (!Number.isInteger(index) || index <= last || index % n !== k) {
      throw new UsageError(`--parts: ${file}:${lineNumber} holds index ${cell}, but shard ${k}/${n} holds rising indices ≡ ${k} mod ${n}; was it written with --shard ${k}/${n}?`);
    }
    last = index;
  }
  return { rows };
}

/** Appends lines to `out` in batches, each seen by `onLine` first. */
function lineWriter(out: string, onLine: (line: string) => void): { add: (line: string) => void; flush: () => void } {
  let batch: string[] = [];
  const flush = () => {
    if (batch.length) appendFileSync(out, batch.join('\n') + '\n');
    batch = [];
  };
  const add = (line: string) => {
    onLine(line);
    batch.push(line);
    if (batch.length === FLUSH_ROWS) flush();
  };
  return { add, flush };
}

/**
 * Merges eval's parts by index (each part rising, as scanPart checked): the unsharded file's order.
 * Every part is open at once, so a job of more shards than the process may open files needs `ulimit -n`.
 */
async function interleave(parts: string[], add: (line: string) => void): Promise<void> {
  const readers = parts.map((file) => dataLines(file));
  const heads = await Promise.all(readers.map((r) => r.next()));
  const indexOf = (h: IteratorResult<string>) => (h.done ? Infinity : Number(h.value.split(',', 1)[0]));
  for (;;) {
    let best = -1;
    for (let k = 0; k < heads.length; k++) if (!heads[k].done && (best < 0 || indexOf(heads[k]) < indexOf(heads[best]))) best = k;
    if (best < 0) break;
    add(heads[best].value as string);
    heads[best] = await readers[best].next();
  }
}
