import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsvPoints } from '../src/cli/csv_points.js';

const dir = mkdtempSync(join(tmpdir(), 'cnfkit-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const file = (text: string) => {
  const path = join(dir, `f${files++}.csv`);
  writeFileSync(path, text);
  return path;
};

describe('CSV points', () => {
  it('reads a header of names, CRLF, a BOM and blank lines; numbers as decimal text', async () => {
    const r = await readCsvPoints(file('\uFEFFa,b\r\n1,2.5\r\n\r\n-3e2,.5\r\n'), 'data');
    expect(r.header).toEqual(['a', 'b']);
    expect(Array.from(r.values)).toEqual([1, 2.5, -300, 0.5]);
  });

  it('refuses what it would misread, naming the line and why', async () => {
    const refuse = (text: string) => expect(readCsvPoints(file(text), 'data')).rejects;
    // Hex, binary and octal are not decimal numbers (Number() would take them).
    await refuse('x,y\n0x10,1\n').toThrow(/:2: expected 2 comma-separated numbers/);
    await refuse('x,y\n1e39,1\n').toThrow(/:2: column 1 holds 1e39, beyond float32's range/);
    await refuse('x,y\n1,2,\n').toThrow(/:2: expected 2 comma-separated numbers, got '1,2,' \(an empty last cell: a trailing comma\?\)/);
    // Missing values: named by column, and what to do.
    await refuse('x,y\n1,NaN\n').toThrow(/:2: column 2 holds NaN: missing or non-finite values are not supported \(drop or impute the row\)/);
    await refuse('x,y\n-Infinity,1\n').toThrow(/:2: column 1 holds -Infinity: missing or non-finite/);
    await refuse('x,y,z\n1,,2\n').toThrow(/:2: column 2 is empty: missing or non-finite values are not supported/);
    // Other separators: the first line reads as a one-column header, the second says why it fails.
    await refuse('x;y\n1;2\n').toThrow(/:2: expected 1 comma-separated numbers, got '1;2' \(the file looks ';'-separated; cnfkit reads comma-separated files\)/);
    await refuse('1\t2\n3\t4\n').toThrow(/looks tab-separated/);
    await refuse('x,y\n"1",2\n').toThrow(/quoted cells are not read/);
  });

  it('takes a first line with any name as the header, numeric names included (years as columns)', async () => {
    const r = await readCsvPoints(file('region,2019,2020\n1,2,3\n'), 'data');
    expect(r.header).toEqual(['region', '2019', '2020']);
    expect(r.rows).toBe(1);
  });

  it('reads a very wide row (no spread of 200,000 arguments onto the stack)', async () => {
    const row = Array.from({ length: 200_000 }, (_, i) => i % 7).join(',');
    const r = await readCsvPoints(file(`${row}\n${row}\n`), 'data');
    expect(r.dim).toBe(200_000);
    expect(r.rows).toBe(2);
    expect(r.values[6]).toBe(6);
  });
});
