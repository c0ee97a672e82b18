import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createStats, odeint, tf, type MethodName } from '../src/index.js';
import { NONSTIFF_PROBLEMS, endError } from './nonstiff_problems.js';

/** Made by test/fixtures/make_work_precision.ts (float64 references; cnfkit's figures at the time). */
const fixture = JSON.parse(readFileSync(new URL('./fixtures/work_precision.json', import.meta.url), 'utf8')) as {
  problems: { name: string; reference: number[]; referenceError: number }[];
  runs: { problem: string; method: MethodName; tol: number; nfe: number; error: number }[];
};

describe('work-precision fixture (non-stiff test set)', () => {
  it('has float64 references converged far below every tolerance', () => {
    for (const p of fixture.problems) expect(p.referenceError).toBeLessThan(1e-11);
  });

  it.each(fixture.runs.map((r) => [r.problem, r.method, r.tol, r] as const))('%s with %s at tol %s: evaluations and error as recorded', (_p, _m, _t, run) => {
    const problem = NONSTIFF_PROBLEMS.find((p) => p.name === run.problem)!;
    const reference = fixture.problems.find((p) => p.name === run.problem)!.reference;
    const stats = createStats();
    const y0 = tf.tensor1d(problem.y0);
    const ys = odeint(problem.f, y0, [0, problem.t1], { method: run.method, rtol: run.tol, atol: run.tol, stats });
    const error = endError(ys.slice([1], [1]).dataSync(), reference);
    tf.dispose([y0, ys]);
    // Evaluations are deterministic on one backend; 10% leaves room for another backend's rounding
    // to flip a few accept/reject decisions. The error may not grow by more than 2x (same reason),
    // and stays within 1000·tol (global error of local error control over these spans).
    expect(Math.abs(stats.nfe - run.nfe)).toBeLessThanOrEqual(Math.ceil(0.1 * run.nfe));
    expect(error).toBeLessThan(2 * run.error + 1e-7);
    expect(error).toBeLessThan(1000 * run.tol);
  });
});
