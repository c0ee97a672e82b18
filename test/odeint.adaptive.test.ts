import { describe, expect, it } from 'vitest';
import { METHODS, SOLVERS, StepSizeError, createStats, odeint, tf } from '../src/index.js';
import { PROBLEMS, exactTensor, maxRelativeError, solutionScale } from './problems.js';

const adaptiveMethods = METHODS.filter((m) => SOLVERS[m].adaptive);
const linear = PROBLEMS[2];

function solveEnd(method: (typeof METHODS)[number], ts: number[], options: object) {
  const stats = createStats();
  const y0 = exactTensor(linear, ts[0]);
  const ys = odeint(linear.f, y0, ts, { method, stats, ...options });
  const rows = ys.reshape([ts.length, -1]).arraySync() as number[][];
  tf.dispose([y0, ys]);
  return { rows, stats };
}

/** A few float32 roundings of a state of order one (2^-24 each). */
const FLOAT32_FLOOR = 8 * 2 ** -24;

describe.each(adaptiveMethods)('adaptive %s', (method) => {
  it('has an error that follows the tolerance: below 20·tol, and shrinking as tol shrinks', () => {
    const tols = [1e-3, 1e-4, 1e-5, 1e-6];
    const errs = tols.map((tol) => {
      const { rows } = solveEnd(method, [0, 4], { rtol: tol, atol: tol });
      return maxRelativeError(rows[1], linear.exact(4), solutionScale(linear));
    });
    errs.forEach((e, i) => expect(e).toBeLessThan(20 * tols[i]));
    // Shrinking until float32 resolution: dopri8 reaches it by tol 1e-5 (~3e-8), and below it the
    // error is rounding, which does not shrink.
    for (let i = 1; i < errs.length; i++) expect(errs[i]).toBeLessThan(Math.max(errs[i - 1], FLOAT32_FLOOR));
    // Tighter tolerances need more evaluations.
    const nfe = tols.map((tol) => solveEnd(method, [0, 4], { rtol: tol, atol: tol }).stats.nfe);
    for (let i = 1; i < nfe.length; i++) expect(nfe[i]).toBeGreaterThan(nfe[i - 1]);
  });

  it('gives many output times by dense output at no extra evaluations, each accurate to the tolerance', () => {
    const few = solveEnd(method, [0, 4], { rtol: 1e-5, atol: 1e-5 });
    const ts = Array.from({ length: 101 }, (_, i) => i * 0.04);
    const many = solveEnd(method, ts, { rtol: 1e-5, atol: 1e-5 });
    expect(many.stats.nfe).toBe(few.stats.nfe);
    expect(many.stats.acceptedSteps).toBe(few.stats.acceptedSteps);
    expect(many.stats.acceptedSteps).toBeLessThan(ts.length);
    ts.forEach((t, i) => expect(maxRelativeError(many.rows[i], linear.exact(t), solutionScale(linear))).toBeLessThan(2e-4));
  });

  it('reports its statistics: evaluations = stages per attempted step + start-up', () => {
    const { stats } = solveEnd(method, [0, 4], { rtol: 1e-5, atol: 1e-5 });
    const stages = SOLVERS[method].tableau!.c.length;
    // FSAL: each attempted step costs stages − 1; f(t0) and Hairer's initial-step probe cost one each.
    expect(stats.nfe).toBe((stats.acceptedSteps + stats.rejectedSteps) * (stages - 1) + 2);
    expect(stats.acceptedSteps).toBeGreaterThan(3);
  });

  it('starts with firstStep when given (no probe evaluation)', () => {
    const { stats, rows } = solveEnd(method, [0, 4], { rtol: 1e-5, atol: 1e-5, firstStep: 0.01 });
    const stages = SOLVERS[method].tableau!.c.length;
    expect(stats.nfe).toBe((stats.acceptedSteps + stats.rejectedSteps) * (stages - 1) + 1);
    expect(maxRelativeError(rows[1], linear.exact(4), solutionScale(linear))).toBeLessThan(2e-4);
  });

  it('respects maxStepSize', () => {
    const { stats } = solveEnd(method, [0, 4], { rtol: 1e-3, atol: 1e-3, maxStepSize: 0.1 });
    expect(stats.acceptedSteps).toBeGreaterThanOrEqual(40);
  });

  it('is as accurate from t0 = 1e15 as from 0 (steps of the width t + h rounds to), and says when time is too coarse for the tolerance', () => {
    const y0 = tf.tensor1d([1]);
    const at = (t0: number, tol: number) => tf.tidy(() => odeint((_t, y) => tf.neg(y), y0, [t0, t0 + 1], { method, rtol: tol, atol: tol }).dataSync()[1]);
    expect(Math.abs(at(1e12, 1e-6) - Math.exp(-1))).toBeLessThan(1e-5);
    expect(Math.abs(at(1e15, 1e-3) - Math.exp(-1))).toBeLessThan(1e-3);
    // At 1e18 float64 time moves in steps of 128: the steps y' = −y needs round to nothing, a clear error, not a loop of empty steps.
    expect(() => tf.tidy(() => odeint((_t, y) => tf.neg(y), y0, [1e18, 1e18 + 1024], { method, rtol: 1e-6, atol: 1e-6 }))).toThrow(StepSizeError);
    y0.dispose();
  });
});

describe('step-size controllers', () => {
  it('both the PI and the integral controller meet the tolerance; PI rejects no more steps on a smooth problem', () => {
    const pi = solveEnd('dopri5', [0, 4], { rtol: 1e-6, atol: 1e-6, controller: 'pi' });
    const integral = solveEnd('dopri5', [0, 4], { rtol: 1e-6, atol: 1e-6, controller: 'integral' });
    for (const run of [pi, integral]) expect(maxRelativeError(run.rows[1], linear.exact(4), solutionScale(linear))).toBeLessThan(2e-5);
    expect(pi.stats.rejectedSteps).toBeLessThanOrEqual(integral.stats.rejectedSteps);
  });

  it('handles a stiff-ish transient by rejecting and shrinking, then growing the step again', () => {
    // y' = −50 (y − cos t): fast decay onto the slow manifold y ≈ cos t.
    const f = (t: tf.Scalar, y: tf.Tensor) => tf.mul(-50, tf.sub(y, tf.cos(t)));
    const stats = createStats();
    const y0 = tf.tensor1d([2]);
    const ys = odeint(f, y0, [0, 2], { method: 'dopri5', rtol: 1e-5, atol: 1e-6, stats });
    const end = ys.dataSync()[1];
    // Exact: y = (2500 cos t + 50 sin t)/2501 + C e^{−50t}, C = 2 − 2500/2501.
    const exact = (2500 * Math.cos(2) + 50 * Math.sin(2)) / 2501 + (2 - 2500 / 2501) * Math.exp(-100);
    expect(Math.abs(end - exact)).toBeLessThan(1e-4);
    tf.dispose([y0, ys]);
  });
});

describe('output times', () => {
  it('accepts ts as a Tensor1D, giving the same result as the number[]', () => {
    const y0 = tf.tensor1d([1, 2]);
    const tsTensor = tf.tensor1d([0, 0.5, 2]);
    const a = odeint((_t, y) => tf.neg(y), y0, [0, 0.5, 2]);
    const b = odeint((_t, y) => tf.neg(y), y0, tsTensor);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(b.dataSync()[4]).toBeCloseTo(Math.exp(-2), 5);
    tf.dispose([y0, tsTensor, a, b]);
  });

  it('returns y0 alone for a single output time, evaluating nothing', () => {
    const stats = createStats();
    const y0 = tf.tensor2d([[1, 2]]);
    const ys = odeint((_t, y) => tf.neg(y), y0, [3], { stats });
    expect(ys.shape).toEqual([1, 1, 2]);
    expect(Array.from(ys.dataSync())).toEqual([1, 2]);
    expect(stats.nfe).toBe(0);
    tf.dispose([y0, ys]);
  });
});
