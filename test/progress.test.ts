import { describe, expect, it } from 'vitest';
import { ProgressPrinter, formatSeconds } from '../src/cli/progress.js';
import type { IterationRecord } from '../src/index.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => void writes.push(s) } as unknown as NodeJS.WriteStream };
}
const record = (iteration: number, nfe = 26): IterationRecord => ({ iteration, loss: 3.5, nfeForward: nfe, nfeBackward: nfe, seconds: iteration * 0.1, endTimes: [0.5] });

describe('training progress', () => {
  it('rewrites one line in place on a terminal, ending it at the last iteration', () => {
    const { writes, stream: s } = stream(true);
    const p = new ProgressPrinter(3, 0, s);
    [1, 2, 3].forEach((i) => p.update(record(i)));
    expect(writes.filter((w) => w.startsWith('\r\x1b[K'))).toHaveLength(3);
    expect(writes[0]).toMatch(/^\r\x1b\[Kiteration 1\/3 {2}loss 3\.5000 {2}nfe 26\/26 {2}[\d.]+ it\/s {2}ETA \S+ {2}T 0\.500$/);
    expect(writes[writes.length - 1]).toBe('\n');
  });

  it('prints plain lines every 50 iterations and at the end when not a terminal, and omits evaluations for flow matching', () => {
    const { writes, stream: s } = stream(false);
    const p = new ProgressPrinter(120, 0, s);
    for (let i = 1; i <= 120; i++) p.update(record(i, 0));
    expect(writes.map((w) => w.match(/^iteration (\d+)/)?.[1])).toEqual(['50', '100', '120']);
    expect(writes.every((w) => w.endsWith('\n') && !w.includes('\r') && !w.includes('nfe'))).toBe(true);
  });

  it('formats durations', () => {
    expect([formatSeconds(42), formatSeconds(187), formatSeconds(3900), formatSeconds(Infinity)]).toEqual(['42s', '3m07s', '1h05m', '?']);
  });
});
