/**
 * `cnfkit merge`: the per-shard CSV files of `eval --shard k/n --out` or `sample --shard k/n --out`,
 * written by an indexed batch job (a Slurm array, a Kubernetes Indexed Job), combined into the file
 * one unsharded run writes. Everything is checked before a line is written: every shard present with
 * its manifest (shard_manifest.ts: one run, rows adding up to the run's, each part holding the rows
 * its job wrote), one header, every row a full row of finite numbers, and each shard holding what
 * `--shard k/n` puts there (eval: the indices ≡ k mod n, rising; sample: the k-th of n equal slices). The result is
 * written beside `--out` and renamed onto it when complete (csv_output.ts), so a failure leaves no
 * half file and never touches a part. Both passes stream, so parts of any size merge in flat memory.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { UsageError, type OptionSpec, type ParsedOptions } from './args.js';
import { CsvOutput, OVERWRITE_OPTION, checkOutputFile } from './csv_output.js';
import { usableFolder } from './run_files.js';
import { manifestPath, readShardManifests } from './shard_manifest.js';

export const MERGE_OPTIONS: readonly OptionSpec[] = [
  { name: 'parts', kind: 'string', required: true, help: "the shard files, with {k} for the shard's index (e.g. 'logp-{k}.csv')" },
  { name: 'shards', kind: 'integer', required: true, help: 'n, the number of shards the job ran (--shard k/n)' },
  { name: 'out', kind: 'string', required: true, help: 'CSV file to write: what one unsharded run writes' },
  OVERWRITE_OPTION,
];

/** The header `eval --out` writes; its parts interleave by index, sample's parts follow each other (the parts' manifests say which). */
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
  // The parts' manifests are inputs too: one overwritten would lose what identifies its part.
  checkOutputFile('out', out, [...parts, ...parts.map(manifestPath)], o.overwrite === true);
  await usableFolder('out', dirname(resolve(out)), false);

  const manifests = readShardManifests(parts, n);
  const headers: string[] = [];
  for (const file of parts) headers.push(await headerOf(file)); // one file open at a time
  const header = headers[0];
  headers.forEach((h, k) => {
    if (h !== header) throw new UsageError(`--parts: ${parts[k]} has the header '${h}', but ${parts[0]} has '${header}'; parts of one job share it`);
  });
  const byIndex = manifests[0].kind === 'eval';
  if (byIndex && header !== EVAL_HEADER) throw new UsageError(`--parts: ${parts[0]} has the header '${header}', but eval writes '${EVAL_HEADER}'`);
  const columns = header.split(',').length;
  const logProbColumn = header.split(',').indexOf('log_prob');
  const counts: number[] = [];
  for (const [k, file] of parts.entries()) counts.push(await checkPart(file, k, n, columns, byIndex, logProbColumn));
  const total = manifests[0].total;
  // A part cut at a line boundary, or a row lost: the file no longer holds what its job wrote.
  counts.forEach((rows, k) => {
    if (rows !== manifests[k].rows) throw new UsageError(`--parts: ${parts[k]} holds ${rows} rows, but its job wrote ${manifests[k].rows}; was it cut or edited?`);
    // sample --shard k/n writes rows floor(kN/n) … floor((k+1)N/n) − 1 of the N samples.
    const expected = Math.floor(((k + 1) * total) / n) - Math.floor((k * total) / n);
    if (!byIndex && rows !== expected) throw new UsageError(`--parts: ${parts[k]} holds ${rows} rows, but shard ${k}/${n} of ${total} samples has ${expected}`);
  });

  let sum = 0;
  const file = new CsvOutput(out, header);
  try {
    const writer = lineWriter(file, (line) => {
      if (logProbColumn >= 0) sum += Number(line.split(',')[logProbColumn]);
    });
    if (byIndex) await interleave(parts, writer.add);
    else for (const part of parts) for await (const line of dataLines(part)) writer.add(line);
    writer.flush();
    file.commit();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EMFILE' || code === 'ENFILE') throw new UsageError(`--parts: ${n} parts cannot be open at once (${code}); raise the limit on open files (ulimit -n) above ${n + 20}`);
    throw e;
  } finally {
    file.close();
  }
  const summary = logProbColumn < 0 || total === 0 ? '' : byIndex ? `; NLL over them ${(-sum / total).toFixed(4)} nats` : `; their mean −log p ${(-sum / total).toFixed(4)} nats (the model's entropy, estimated)`;
  log(`merged ${n} shards: ${total} rows into ${out}${summary}`);
  return 0;
}

/** The lines of a file, CRLF or LF. */
function linesOf(file: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
}

/** The data lines of a CSV part after its header. */
async function* dataLines(file: string): AsyncGenerator<string> {
  let first = true;
  for await (const line of linesOf(file)) {
    if (first) {
      first = false;
      continue;
    }
    if (line.trim()) yield line;
  }
}

/** A part's first line: the header eval and sample --out write. */
async function headerOf(file: string): Promise<string> {
  for await (const line of linesOf(file)) {
    const header = line.replace(/^\uFEFF/, '').trim();
    if (!/[a-z_]/i.test(header)) break;
    return header;
  }
  throw new UsageError(`--parts: ${file} has no header line; expected the CSV that eval or sample --out wrote`);
}

/**
 * Checks every row of a part (as many finite numbers as the header has columns, −∞ allowed for a
 * log-density; for eval's parts, integer indices of shard k, rising) and that the file ends with a
 * line break (a job killed while writing leaves a cut line); returns its row count.
 */
async function checkPart(file: string, k: number, n: number, columns: number, byIndex: boolean, logProbColumn: number): Promise<number> {
  const size = statSync(file).size;
  if (size > 0) {
    const last = await lastByte(file, size);
    if (last !== 0x0a) throw new UsageError(`--parts: ${file} does not end with a line break: was its job stopped while writing?`);
  }
  let rows = 0;
  let previous = -1;
  let lineNumber = 0;
  for await (const raw of linesOf(file)) {
    lineNumber++;
    if (lineNumber === 1 || !raw.trim()) continue;
    rows++;
    const cells = raw.split(',');
    // A log-density may be −∞ (a point whose log p overflowed float32: eval writes and counts it).
    const number = (c: string, column: number) => c.trim() !== '' && (Number.isFinite(Number(c)) || (column === logProbColumn && c.trim() === '-Infinity'));
    if (cells.length !== columns || !cells.every(number)) {
      throw new UsageError(`--parts: ${file}:${lineNumber}: expected ${columns} comma-separated numbers, got '${raw.slice(0, 80)}'`);
    }
    if (!byIndex) continue;
    const index = Number(cells[0]);
    if (!Number.isInteger(index) || index <= previous || index % n !== k) {
      throw new UsageError(`--parts: ${file}:${lineNumber} holds index ${cells[0]}, but shard ${k}/${n} holds rising indices ≡ ${k} mod ${n}; was it written with --shard ${k}/${n}?`);
    }
    previous = index;
  }
  return rows;
}

async function lastByte(file: string, size: number): Promise<number> {
  for await (const chunk of createReadStream(file, { start: size - 1, end: size - 1 })) return (chunk as Buffer)[0];
  return -1;
}

/** Appends lines to `file` in batches, each seen by `onLine` first. */
function lineWriter(file: CsvOutput, onLine: (line: string) => void): { add: (line: string) => void; flush: () => void } {
  let batch: string[] = [];
  const flush = () => {
    file.append(batch);
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
 * Merges eval's parts by index (each part rising, as checkPart checked) into the unsharded file's
 * order, through a min-heap of the parts' next rows. Every part is open at once.
 */
async function interleave(parts: string[], add: (line: string) => void): Promise<void> {
  const readers = parts.map((file) => dataLines(file)[Symbol.asyncIterator]());
  const heap: { index: number; line: string; part: number }[] = [];
  const push = async (part: number) => {
    const next = await readers[part].next();
    if (!next.done) heapPush(heap, { index: Number(next.value.split(',', 1)[0]), line: next.value, part });
  };
  for (let part = 0; part < readers.length; part++) await push(part);
  while (heap.length) {
    const top = heapPop(heap);
    add(top.line);
    await push(top.part);
  }
}

function heapPush<T extends { index: number }>(heap: T[], item: T): void {
  heap.push(item);
  for (let i = heap.length - 1; i > 0; ) {
    const parent = (i - 1) >> 1;
    if (heap[parent].index <= heap[i].index) break;
    [heap[parent], heap[i]] = [heap[i], heap[parent]];
    i = parent;
  }
}

function heapPop<T extends { index: number }>(heap: T[]): T {
  const top = heap[0];
  const last = heap.pop()!;
  if (heap.length) {
    heap[0] = last;
    for (let i = 0; ; ) {
      const [l, r] = [2 * i + 1, 2 * i + 2];
      let least = i;
      if (l < heap.length && heap[l].index < heap[least].index) least = l;
      if (r < heap.length && heap[r].index < heap[least].index) least = r;
      if (least === i) break;
      [heap[least], heap[i]] = [heap[i], heap[least]];
      i = least;
    }
  }
  return top;
}
