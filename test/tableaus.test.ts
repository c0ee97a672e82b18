import { describe, expect, it } from 'vitest';
import { TABLEAUS } from '../src/index.js';
import { denseWeights } from '../src/ode/interpolate.js';
import { isAdaptive, isFsal, type ButcherTableau } from '../src/ode/tableaus.js';
import { satisfiedOrder } from './butcher_trees.js';
import { hostIntegrate, type HostDynamics } from './float64_rk.js';
import { fittedSlope } from './problems.js';

const tableaus = Object.values(TABLEAUS) as ButcherTableau[];
const sum = (v: readonly number[]) => v.reduce((a, b) => a + b, 0);

// A nonlinear, non-autonomous problem: y' = −2t y², y(0) = 1, exact y = 1/(1 + t²).
const f: HostDynamics = (t, [y]) => [-2 * t * y * y];
const exact = (t: number) => 1 / (1 + t * t);

describe.each(tableaus.map((t) => [t.name, t] as const))('tableau %s', (_name, tab) => {
  it('has consistent shapes and rows that sum to c (1e-12: the coefficients carry 16 digits)', () => {
    expect(tab.a.length).toBe(tab.c.length);
    expect(tab.b.length).toBe(tab.c.length);
    expect(tab.c[0]).toBe(0);
    tab.a.forEach((row, i) => {
      expect(row.length).toBe(i);
      expect(Math.abs(sum(row) - tab.c[i])).toBeLessThan(1e-12);
    });
  });

  it('has weights that sum to 1 and error weights that sum to 0', () => {
    expect(Math.abs(sum(tab.b) - 1)).toBeLessThan(1e-13);
    if (tab.bErr) {
      expect(tab.bErr.length).toBe(tab.b.length);
      expect(Math.abs(sum(tab.bErr))).toBeLessThan(1e-13);
    }
  });

  it('satisfies the order conditions of its stated order and no more (every Butcher tree to order + 1)', () => {
    // 1e-11 leaves room for 16-digit decimals and for dopri8's 10-digit rational approximations.
    expect(satisfiedOrder(tab.a, tab.b, 1, 1e-11, tab.order + 1)).toBe(tab.order);
  });

  it('reaches its order in float64 arithmetic (fitted slope of log error against log h, within 0.3)', () => {
    // y' = −2t y², y(0) = 1, exact 1/(1 + t²); steps small enough to be in the asymptotic regime
    // and errors above float64 rounding (the smallest is ~1e-14 for the fifth-order methods).
    const ns = tab.order >= 8 ? [8, 12, 16, 24] : tab.order >= 5 ? [32, 64, 128, 256] : [64, 128, 256, 512];
    const errs = ns.map((n) => Math.abs(hostIntegrate(tab, f, [1], 0, 2, n)[0] - exact(2)));
    const slope = fittedSlope(ns.map((n) => 2 / n), errs);
    // dopri8 is still pre-asymptotic (slope ~9.2) where float64 can measure it; the order conditions
    // above pin its order to exactly 8, so here it only has to reach it.
    if (tab.order >= 8) expect(slope).toBeGreaterThan(tab.order - 0.3);
    else expect(Math.abs(slope - tab.order)).toBeLessThan(0.3);
  });

  it('is FSAL exactly when its last stage is evaluated at (t1, y1)', () => {
    expect(isFsal(tab)).toBe(['bosh3', 'dopri5', 'tsit5', 'dopri8'].includes(tab.name));
  });
});

describe.each(tableaus.filter(isAdaptive).map((t) => [t.name, t] as const))('adaptive tableau %s', (_name, tab) => {
  it('has an embedded solution b̂ = b − bErr of its stated order', () => {
    const bHat = tab.b.map((bi, i) => bi - tab.bErr![i]);
    expect(satisfiedOrder(tab.a, bHat, 1, 1e-11, tab.order + 1)).toBe(tab.embeddedOrder);
  });

  it('has dense output of its stated order at every θ, equal to y1 at θ = 1 and y0 at θ = 0', () => {
    // Own interpolants: dopri5 and tsit5 fourth order, dopri8 fifth; the Hermite cubic (bosh3) third.
    const expected = tab.denseOrder ?? 3;
    const last = tab.b.length - 1;
    const weightsAt = (theta: number) => {
      // Fold the weight of f1 onto the last stage, which is f1 for these FSAL methods.
      const w = denseWeights(tab, theta);
      const folded = w.slice(0, last + 1);
      folded[last] += w[last + 1];
      return folded;
    };
    for (const theta of [0.2, 0.5, 0.9]) expect(satisfiedOrder(tab.a, weightsAt(theta), theta, 1e-10)).toBe(expected);
    weightsAt(1).forEach((w, i) => expect(Math.abs(w - tab.b[i])).toBeLessThan(1e-12));
    weightsAt(0).forEach((w) => expect(Math.abs(w)).toBe(0));
  });
});
