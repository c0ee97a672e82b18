// The example scripts answer a user's mistakes with one line and exit code 2, not a stack trace.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'cnfkit-examples-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function density(...args: string[]): Promise<{ code: number; err: string }> {
  return new Promise((resolve) => {
    execFile(join(root, 'node_modules/.bin/tsx'), [join(root, 'examples/density.ts'), ...args], { cwd: work, timeout: 60_000 }, (error, _out, err) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, err }),
    );
  });
}

describe.concurrent('examples/density.ts', () => {
  it('a CSV that does not exist: one line saying so and what to do, exit 2, nothing written', async () => {
    const r = await density('points.csv', '--out', join(work, 'out-missing'));
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('examples/density.ts: points.csv does not exist; pass a CSV of comma-separated points, or no file for a demonstration ring');
    expect(existsSync(join(work, 'out-missing'))).toBe(false);
  });

  it('a bad line: names the file, the line and what it expected', async () => {
    writeFileSync(join(work, 'bad.csv'), 'x,y\n1,2\n3,abc\n');
    const r = await density(join(work, 'bad.csv'), '--out', join(work, 'out-bad'));
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/bad.csv:3: expected 2 comma-separated numbers, got '3,abc'$/);
    writeFileSync(join(work, 'ragged.csv'), '1,2,3\n4,5,6\n7,8\n');
    const ragged = await density(join(work, 'ragged.csv'), '--out', join(work, 'out-ragged'));
    expect(ragged.err.trim()).toMatch(/ragged.csv:3: expected 3 comma-separated numbers, got '7,8'$/);
  });

  it('an empty cell or a NaN: refused, named (they were read as 0, and a NaN first row as the header)', async () => {
    writeFileSync(join(work, 'holes.csv'), 'a,b\n1,100\n2,\n3,101\n');
    const holes = await density(join(work, 'holes.csv'), '--out', join(work, 'out-holes'));
    expect(holes.code).toBe(2);
    expect(holes.err.trim()).toMatch(/holes.csv:3: column 2 is empty: missing or non-finite values are not supported/);
    writeFileSync(join(work, 'nan.csv'), '1.5,NaN\n2,3\n4,5\n');
    const nan = await density(join(work, 'nan.csv'), '--out', join(work, 'out-nan'));
    expect(nan.err.trim()).toMatch(/nan.csv:1: column 2 holds NaN: missing or non-finite values are not supported/);
  });

  it('a constant column: refused, named (it was given a std of 1 and a flow that spent itself on a spike)', async () => {
    writeFileSync(join(work, 'constant.csv'), 'a,b\n1,0.1\n2,0.1\n3,0.1\n');
    const r = await density(join(work, 'constant.csv'), '--out', join(work, 'out-constant'));
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/constant.csv: column 2 \('b'\) holds 0.1 in every point; a density over a constant is infinite. Drop the column$/);
  });
});
