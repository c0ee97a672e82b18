import { describe, expect, it } from 'vitest';
import { METHODS, SOLVERS, odeint, tf, type MethodName } from '../src/index.js';
import { PROBLEMS, exactTensor, fittedSlope, maxRelativeError, solutionScale } from './problems.js';

/**
 * Per method: options that make it accurate enough on every problem, and the error it must beat
 * (relative to the problem's solution scale). The bounds sit well above each method's error with these settings and
 * far below what a method of lower order would give.
 */
const SETTINGS: Record<MethodName, { options: object; bound: number }> = {
  euler: { options: { stepSize: 1e-3 }, bound: 5e-3 },
  midpoint: { options: { stepSize: 1e-2 }, bound: 2e-4 },
  rk4: { options: { stepSize: 5e-2 }, bound: 3e-6 },
  implicit_euler: { options: { stepSize: 1e-3 }, bound: 5e-3 },
  trapezoid: { options: { stepSize: 1e-2 }, bound: 2e-4 },
  nystrom2: { options: { stepSize: 1e-2 }, bound: 3e-4 },
  bosh3: { options: { rtol: 1e-6, atol: 1e-6 }, bound: 2e-5 },
  dopri5: { options: { rtol: 1e-6, atol: 1e-6 }, bound: 1e-5 },
  tsit5: { options: { rtol: 1e-6, atol: 1e-6 }, bound: 1e-5 },
  dopri8: { options: { rtol: 1e-6, atol: 1e-6 }, bound: 1e-5 },
};

describe.each(METHODS)('odeint with %s', (method) => {
  const { options, bound } = SETTINGS[method];

  it.each(PROBLEMS.map((p) => [p.name, p] as const))('solves %s forwards, at several output times', (_name, p) => {
    const ts = [p.t0, p.t0 + 0.3 * (p.t1 - p.t0), p.t1];
    const y0 = exactTensor(p, p.t0);
    const ys = odeint(p.f, y0, ts, { method, ...options });
    expect(ys.shape).toEqual([3, ...p.shape]);
    const rows = ys.reshape([3, -1]).arraySync() as number[][];
    ts.forEach((t, i) => expect(maxRelativeError(rows[i], p.exact(t), solutionScale(p))).toBeLessThan(bound));
    tf.dispose([y0, ys]);
  });

  it.each(PROBLEMS.map((p) => [p.name, p] as const))('solves %s backwards in time', (_name, p) => {
    const y1 = exactTensor(p, p.t1);
    const ys = odeint(p.f, y1, [p.t1, p.t0], { method, ...options });
    const back = ys.reshape([2, -1]).arraySync() as number[][];
    expect(maxRelativeError(back[1], p.exact(p.t0), solutionScale(p))).toBeLessThan(bound);
    tf.dispose([y1, ys]);
  });
});

describe('convergence order of fixed-step methods', () => {
  // y' = y cos t on [0, 2]. Step sizes are chosen so the errors (1e-2 … 1e-6) stay far above
  // float32 rounding (~1e-7 relative here), which would otherwise flatten the slope: rk4 at h = 1/16
  // is already there (1.4e-7 absolute at |y| = 2.5), so its steps stop at 1/8.
  const p = PROBLEMS[1];
  const fixed = METHODS.filter((m) => !SOLVERS[m].adaptive);
  const STEPS: Partial<Record<MethodName, number[]>> = { rk4: [1, 0.5, 0.25, 0.125] };

  it.each(fixed)('%s: the fitted slope of log error against log h is within 0.3 of its order', (method) => {
    const hs = STEPS[method] ?? [0.1, 0.05, 0.025, 0.0125];
    const y0 = exactTensor(p, 0);
    const errs = hs.map((h) => {
      const ys = odeint(p.f, y0, [0, 2], { method, stepSize: h });
      const end = ys.slice([1], [1]).dataSync();
      ys.dispose();
      return maxRelativeError(end, p.exact(2));
    });
    y0.dispose();
    expect(Math.abs(fittedSlope(hs, errs) - SOLVERS[method].order)).toBeLessThan(0.3);
  });
});
