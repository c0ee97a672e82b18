/**
 * Dense output: the solution anywhere inside an accepted step, from the stages already computed, so
 * output times cost no extra evaluations of f.
 */
import * as tf from '@tensorflow/tfjs-core';
import { combine, type State } from './state.js';
import type { ButcherTableau } from './tableaus.js';

/**
 * Hermite cubic through (y0, f0) and (y1, f1), written as weights on the stages:
 * y(θ) = y0 + h[h10(θ) f0 + h01(θ) Σ b_i k_i + h11(θ) f1], since y1 − y0 = h Σ b_i k_i.
 * Returns weights on [k_0 … k_{s−1}, f1].
 */
function hermiteWeights(b: readonly number[], theta: number): number[] {
  const t2 = theta * theta;
  const t3 = t2 * theta;
  const h10 = t3 - 2 * t2 + theta;
  const h01 = -2 * t3 + 3 * t2;
  const h11 = t3 - t2;
  const w = b.map((bi) => h01 * bi);
  w[0] += h10;
  w.push(h11);
  return w;
}

/**
 * Dense-output weights w with y(t0 + θh) = y0 + h Σ w_i K_i over K = [k_0 … k_{s−1}, f1]: the
 * tableau's own continuous extension when it has one (then w[s] = 0), else the Hermite cubic.
 */
export function denseWeights(tableau: ButcherTableau, theta: number): number[] {
  return tableau.denseWeights ? [...tableau.denseWeights(theta), 0] : hermiteWeights(tableau.b, theta);
}

/**
 * y(t0 + θh) for θ in [0, 1], from the step's stages `ks` and f1 = f(t0 + h, y1).
 */
export function denseOutput(
  tableau: ButcherTableau,
  y0: State,
  h: number,
  ks: readonly State[],
  f1: State,
  theta: number,
): State {
  return tf.tidy(() => combine(y0, h, denseWeights(tableau, theta), [...ks, f1]));
}
