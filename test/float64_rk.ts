/**
 * A float64 Runge–Kutta integrator on plain numbers, driven by cnfkit's tableaus. It checks the
 * tableaus' numbers (orders of b, b̂ and the dense output) without float32 rounding in the way, and
 * makes the high-accuracy reference solutions of the work-precision fixture.
 */
import type { ButcherTableau } from '../src/index.js';

export type HostDynamics = (t: number, y: number[]) => number[];

/** One step; returns the solution, the embedded solution and the stages. */
export function hostStep(tab: ButcherTableau, f: HostDynamics, t: number, y: number[], h: number) {
  const ks: number[][] = [];
  for (let i = 0; i < tab.c.length; i++) {
    const yi = y.map((v, n) => v + h * tab.a[i].reduce((s, aij, j) => s + aij * ks[j][n], 0));
    ks.push(f(t + tab.c[i] * h, yi));
  }
  const y1 = y.map((v, n) => v + h * tab.b.reduce((s, bi, i) => s + bi * ks[i][n], 0));
  const yHat = tab.bErr ? y1.map((v, n) => v - h * tab.bErr!.reduce((s, ei, i) => s + ei * ks[i][n], 0)) : undefined;
  return { y1, yHat, ks };
}

/** y at t1 from y0 at t0 with n equal steps, using b (or b̂ when `embedded`). */
export function hostIntegrate(tab: ButcherTableau, f: HostDynamics, y0: number[], t0: number, t1: number, n: number, embedded = false): number[] {
  const h = (t1 - t0) / n;
  let y = y0;
  for (let k = 0; k < n; k++) {
    const step = hostStep(tab, f, t0 + k * h, y, h);
    y = embedded ? step.yHat! : step.y1;
  }
  return y;
}
