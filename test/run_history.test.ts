import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHistory, writeHistory } from '../src/cli/run_history.js';
import type { IterationRecord } from '../src/train/fit_options.js';

const dir = mkdtempSync(join(tmpdir(), 'cnfkit-history-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const records = (n: number, loss = 1): IterationRecord[] => Array.from({ length: n }, (_, i) => ({ iteration: i + 1, loss: loss / (i + 1), nfeForward: 26, nfeBackward: 19, seconds: 0.01 * (i + 1), endTimes: [0.5] }));
const lines = () => readFileSync(join(dir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe("a run's history.jsonl", () => {
  it('grows by appending, is read back to a checkpoint\'s count, and is replaced when another writer changed it', () => {
    writeHistory(dir, records(3));
    writeHistory(dir, records(5));
    expect(lines()).toEqual(records(5));
    // A checkpoint of 4 records reads the first 4 (a line past them is a later, unsaved iteration's).
    expect(readHistory(dir, 4)).toEqual(records(4));
    expect(() => readHistory(dir, 6)).toThrow(/history.jsonl:6 is not the record of iteration 6/);
    // Another process (a second resume of the same folder) rewrote it: appending would mix the two runs.
    writeFileSync(join(dir, 'history.jsonl'), records(7, 2).map((r) => JSON.stringify(r) + '\n').join(''));
    writeHistory(dir, records(6));
    expect(lines()).toEqual(records(6));
    // A resumed run with fewer records than the file (it stopped after appending) rewrites it too.
    writeHistory(dir, records(2));
    expect(lines()).toEqual(records(2));
  });
});
