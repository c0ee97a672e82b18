import { describe, expect, it } from 'vitest';
import { withPeakBytes } from '../bench/peak_memory.js';
import { MaxStepsError, OdeInputError, createStats, matMul, odeint, odeintAdjoint, tf, type Dynamics } from '../src/index.js';
import { backwardSweep, forwardStepTracker, type ListDynamics } from '../src/ode/adjoint_core.js';
import { runSync } from '../src/ode/host_reads.js';
import { solveState } from '../src/ode/odeint.js';
import { resolveOdeintOptions } from '../src/ode/options.js';

/** Max |a − b| over all elements of two tensors (or arrays). */
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('odeintAdjoint: closed-form gradients of a linear ODE', () => {
  // y' = M y with M = aI + bJ (a damped rotation), for a batch of row vectors: y' = y Mᵀ.
  // exp(M s) = e^{as} R(bs); ∂y/∂a = s·y, ∂y/∂b = s·J y with s = t − t0, and ∂y/∂t = M y.
  const ts = [0.2, 0.7, 1.5, 2.0];
  const weights = [0.5, 1, -0.7, 2];
  const Y0 = [[1, 0.5], [-0.3, 2]];
  const A = -0.1;
  const B = 1.3;
  const exact = (s: number, [u, v]: number[]) => {
    const d = Math.exp(A * s);
    return [d * (u * Math.cos(B * s) - v * Math.sin(B * s)), d * (u * Math.sin(B * s) + v * Math.cos(B * s))];
  };
  const J = (y: number[]) => [-y[1], y[0]];
  const M = (y: number[]) => [A * y[0] - B * y[1], B * y[0] + A * y[1]];
  const dot = (p: number[], q: number[]) => p[0] * q[0] + p[1] * q[1];

  // L = Σ_i w_i Σ_rows |y_i|²: ∂L/∂y_i = 2 w_i y_i.
  const ys = ts.map((t) => Y0.map((y0) => exact(t - ts[0], y0)));
  const dLdy = ys.map((rows, i) => rows.map((y) => y.map((v) => 2 * weights[i] * v)));
  const expected = {
    a: ts.reduce((s, t, i) => s + (t - ts[0]) * ys[i].reduce((r, y, k) => r + dot(dLdy[i][k], y), 0), 0),
    b: ts.reduce((s, t, i) => s + (t - ts[0]) * ys[i].reduce((r, y, k) => r + dot(dLdy[i][k], J(y)), 0), 0),
    // exp(M s)ᵀ g = e^{as} R(−bs) g
    y0: Y0.map((_, k) => {
      const g = [0, 0];
      ts.forEach((t, i) => {
        const s = t - ts[0];
        const d = Math.exp(A * s);
        const [p, q] = dLdy[i][k];
        g[0] += d * (p * Math.cos(B * s) + q * Math.sin(B * s));
        g[1] += d * (-p * Math.sin(B * s) + q * Math.cos(B * s));
      });
      return g;
    }),
    ts: ts.map((_, i) => {
      const direct = ys[i].reduce((r, y, k) => r + dot(dLdy[i][k], M(y)), 0);
      if (i > 0) return direct;
      // Moving t0 shifts every later state (not y(t0) = y0 itself): −Σ_{j≥1} ∂L/∂y_j · M y_j.
      return -ts.reduce((s, _t, j) => (j === 0 ? s : s + ys[j].reduce((r, y, k) => r + dot(dLdy[j][k], M(y)), 0)), 0);
    }),
  };

  it.each(['dopri5', 'tsit5', 'rk4'] as const)('%s: dL/dy0, dL/dθ and dL/dt_i for every output time match', (method) => {
    const a = tf.variable(tf.scalar(A), true, `a_${method}`);
    const b = tf.variable(tf.scalar(B), true, `b_${method}`);
    const f: Dynamics = (_t, y) => {
      const m = tf.stack([tf.stack([a, b]), tf.stack([tf.neg(b), a])]) as tf.Tensor2D; // Mᵀ
      return tf.matMul(y as tf.Tensor2D, m);
    };
    const y0 = tf.tensor2d(Y0);
    const tsT = tf.tensor1d(ts);
    const w = tf.tensor1d(weights).reshape([4, 1, 1]);
    const options = method === 'rk4' ? { method, stepSize: 0.01, params: [a, b] } : { method, rtol: 1e-7, atol: 1e-8, params: [a, b] };
    const before = tf.memory().numTensors;
    const loss = (y: tf.Tensor, t: tf.Tensor) => tf.sum(tf.mul(w, tf.square(odeintAdjoint(f, y, t as tf.Tensor1D, options))));
    const [gY0, gTs] = tf.grads(loss)([y0, tsT]);
    const { value, grads } = tf.variableGrads(() => loss(y0, tsT) as tf.Scalar, [a, b]);
    // float32 states with relative error ~1e-6 over two time units: 2e-4 absolute on O(10) gradients.
    const tol = 2e-4;
    expect(Math.abs(grads[a.name].dataSync()[0] - expected.a)).toBeLessThan(tol);
    expect(Math.abs(grads[b.name].dataSync()[0] - expected.b)).toBeLessThan(tol);
    Array.from(gY0.dataSync()).forEach((g, i) => expect(Math.abs(g - expected.y0.flat()[i])).toBeLessThan(tol));
    Array.from(gTs.dataSync()).forEach((g, i) => expect(Math.abs(g - expected.ts[i])).toBeLessThan(tol));
    tf.dispose([gY0, gTs, value, grads[a.name], grads[b.name]]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, y0, tsT, w]);
  });
});

describe('odeintAdjoint agrees with backprop through odeint and with central differences (MLP dynamics)', () => {
  it('for y0 and every weight of a tanh MLP, loss on several output times', () => {
    const W1 = tf.variable(tf.randomNormal([2, 16], 0, 0.7, 'float32', 11) as tf.Tensor2D, true, 'mlp_W1');
    const b1 = tf.variable(tf.randomNormal([16], 0, 0.3, 'float32', 12), true, 'mlp_b1');
    const W2 = tf.variable(tf.randomNormal([16, 2], 0, 0.7, 'float32', 13) as tf.Tensor2D, true, 'mlp_W2');
    const params = [W1, b1, W2];
    const f: Dynamics = (t, y) => matMul(tf.tanh(tf.add(tf.add(matMul(y as tf.Tensor2D, W1), b1), t)) as tf.Tensor2D, W2);
    const y0 = tf.randomNormal([8, 2], 0, 1, 'float32', 14);
    const ts = [0, 0.4, 1];
    const target = tf.randomNormal([3, 8, 2], 0, 1, 'float32', 15);
    const tight = { method: 'dopri5' as const, rtol: 1e-7, atol: 1e-7 };
    const lossOf = (ys: tf.Tensor) => tf.mean(tf.square(tf.sub(ys, target))) as tf.Scalar;

    const adj = tf.variableGrads(() => lossOf(odeintAdjoint(f, y0, ts, { ...tight, params })), params);
    const bp = tf.variableGrads(() => lossOf(odeint(f, y0, ts, tight)), params);
    for (const p of params) {
      const scale = tf.tidy(() => tf.max(tf.abs(bp.grads[p.name])).dataSync()[0]);
      expect(maxDiff(adj.grads[p.name], bp.grads[p.name])).toBeLessThan(1e-4 * Math.max(1, scale));
    }
    const gAdj = tf.grad((y: tf.Tensor) => lossOf(odeintAdjoint(f, y, ts, { ...tight, params })))(y0);
    const gBp = tf.grad((y: tf.Tensor) => lossOf(odeint(f, y, ts, tight)))(y0);
    expect(maxDiff(gAdj, gBp)).toBeLessThan(1e-4);

    // Central differences on three weights of W1 (h = 1e-2 keeps float32 rounding, ~1e-7/h², small).
    const h = 1e-2;
    const w1 = W1.arraySync() as number[][];
    for (const [r, c] of [[0, 0], [1, 5], [0, 11]]) {
      const at = (delta: number) => {
        const copy = w1.map((row) => row.slice());
        copy[r][c] += delta;
        W1.assign(tf.tensor2d(copy));
        return tf.tidy(() => lossOf(odeint(f, y0, ts, tight)).dataSync()[0]);
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      W1.assign(tf.tensor2d(w1));
      const g = (adj.grads[W1.name].arraySync() as number[][])[r][c];
      expect(Math.abs(g - fd)).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
    }
    tf.dispose([adj.value, bp.value, gAdj, gBp, y0, target, ...params, ...Object.values(adj.grads), ...Object.values(bp.grads)]);
  });
});

describe('odeintAdjoint memory does not grow with the number of steps; backprop through the solver does', () => {
  it('peak bytes for 20 and 400 rk4 steps: adjoint within 1.5x, backprop more than 5x', () => {
    const W = tf.variable(tf.randomNormal([64, 64], 0, 0.1, 'float32', 21) as tf.Tensor2D, true, 'mem_W');
    const f: Dynamics = (_t, y) => tf.tanh(matMul(y as tf.Tensor2D, W));
    const y0 = tf.randomNormal([64, 64], 0, 1, 'float32', 22);
    const peak = (steps: number, adjoint: boolean) => {
      const options = { method: 'rk4' as const, stepSize: 1 / steps };
      return withPeakBytes(() => {
        const { value, grads } = tf.variableGrads(() =>
          tf.sum(adjoint ? odeintAdjoint(f, y0, [0, 1], { ...options, params: [W] }) : odeint(f, y0, [0, 1], options)) as tf.Scalar,
        );
        tf.dispose([value, grads[W.name]]);
      }).peakBytes;
    };
    const [adj20, adj400, bp20, bp400] = [peak(20, true), peak(400, true), peak(20, false), peak(400, false)];
    console.log(`peak bytes: adjoint ${adj20} (20 steps) vs ${adj400} (400); backprop ${bp20} vs ${bp400}`);
    expect(adj400 / adj20).toBeLessThan(1.5);
    expect(bp400 / bp20).toBeGreaterThan(5);
    tf.dispose([W, y0]);
  });
});

describe('odeintAdjoint in training and statistics', () => {
  it('works under an optimizer\'s minimize, leaks nothing, and reports backward statistics', () => {
    const k = tf.variable(tf.scalar(0.3), true, 'fit_k');
    const y0 = tf.tensor1d([1, 2]);
    const target = tf.tensor1d([1, 2]).mul(Math.exp(-1)); // y(1) with k = −1
    const optimizer = tf.train.adam(0.05);
    const stats = createStats();
    const backwardStats = createStats();
    const counts: number[] = [];
    for (let i = 0; i < 150; i++) {
      optimizer.minimize(() => {
        const ys = odeintAdjoint((_t, y) => tf.mul(k, y), y0, [0, 1], { params: [k], stats, backwardStats });
        return tf.sum(tf.square(tf.sub(ys.slice([1], [1]).reshape([2]), target))) as tf.Scalar;
      });
      counts.push(tf.memory().numTensors);
    }
    expect(k.dataSync()[0]).toBeCloseTo(-1, 2);
    expect(stats.nfe).toBeGreaterThan(0);
    expect(backwardStats.nfe).toBeGreaterThan(0);
    expect(backwardStats.acceptedSteps).toBeGreaterThan(0);
    expect(new Set(counts.slice(10)).size).toBe(1);
    optimizer.dispose();
    tf.dispose([k, y0, target]);
  });

  it('the seminorm needs no more backward evaluations than the full norm, for the same gradients', () => {
    const W = tf.variable(tf.randomNormal([2, 32], 0, 1, 'float32', 31) as tf.Tensor2D, true, 'semi_W');
    const V = tf.variable(tf.randomNormal([32, 2], 0, 1, 'float32', 32) as tf.Tensor2D, true, 'semi_V');
    const f: Dynamics = (_t, y) => matMul(tf.tanh(matMul(y as tf.Tensor2D, W)) as tf.Tensor2D, V);
    const y0 = tf.randomNormal([64, 2], 0, 1, 'float32', 33);
    const run = (adjointNorm: 'seminorm' | 'full') => {
      const backwardStats = createStats();
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(odeintAdjoint(f, y0, [0, 1], { params: [W, V], rtol: 1e-5, atol: 1e-5, adjointNorm, backwardStats }))) as tf.Scalar, [W, V]);
      value.dispose();
      return { nfe: backwardStats.nfe, grads };
    };
    const semi = run('seminorm');
    const full = run('full');
    console.log(`backward evaluations: seminorm ${semi.nfe}, full ${full.nfe}`);
    expect(semi.nfe).toBeLessThanOrEqual(full.nfe);
    for (const p of [W, V]) expect(maxDiff(semi.grads[p.name], full.grads[p.name])).toBeLessThan(2e-3);
    tf.dispose([W, V, y0, ...Object.values(semi.grads), ...Object.values(full.grads)]);
  });
});

describe('odeintAdjoint at many output times (a loss at each, as latent ODEs have)', () => {
  it('costs the forward solve no more evaluations than with two, and its gradients equal backprop', () => {
    const W = tf.variable(tf.tensor2d([[-0.3, 1.1], [-0.9, -0.2]]));
    const f: Dynamics = (_t, y) => tf.tanh(matMul(y as tf.Tensor2D, W));
    const y0 = tf.tensor2d([[1, 0.5], [-0.4, 0.8]]);
    const few = createStats();
    tf.dispose(odeintAdjoint(f, y0, [0, 3], { params: [W], stats: few }));
    const ts = Array.from({ length: 150 }, (_, i) => (3 * i) / 149);
    const weights = tf.tensor1d(ts.map((t) => Math.cos(t))).reshape([ts.length, 1, 1]);
    const many = createStats();
    const backward = createStats();
    const adjoint = tf.variableGrads(() => tf.sum(tf.mul(weights, odeintAdjoint(f, y0, ts, { params: [W], stats: many, backwardStats: backward }))) as tf.Scalar, [W]);
    expect(many.nfe).toBe(few.nfe);
    expect(many.acceptedSteps).toBeLessThan(ts.length / 4);
    // The backward solve restarts at each output time (a jump in the adjoint): at least one step per interval.
    expect(backward.acceptedSteps).toBeGreaterThanOrEqual(ts.length - 1);
    const tape = tf.variableGrads(() => tf.sum(tf.mul(weights, odeint(f, y0, ts))) as tf.Scalar, [W]);
    expect(maxDiff(adjoint.grads[W.name], tape.grads[W.name])).toBeLessThan(1e-3);
    tf.dispose([W, y0, weights, adjoint.value, tape.value, ...Object.values(adjoint.grads), ...Object.values(tape.grads)]);
  });
});

describe('odeintAdjoint with a fixed-step adjointMethod under an adaptive forward', () => {
  it('takes adjointStepSize steps backwards (one step per interval is far off here), and requires it', () => {
    const A = tf.variable(tf.tensor2d([[0, 2], [-2, -0.1]]));
    const f: Dynamics = (_t, y) => tf.matMul(y as tf.Tensor2D, A);
    const y0 = tf.tensor2d([[1, 0.5]]);
    const times = [0, 0.9, 1.8];
    const grads = (options: object) => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(odeintAdjoint(f, y0, times, { rtol: 1e-7, atol: 1e-7, params: [A], ...options }))) as tf.Scalar);
      const dA = Array.from(grads[A.name].dataSync());
      tf.dispose([value, grads[A.name]]);
      return dA;
    };
    const reference = grads({});
    const off = (dA: number[]) => Math.max(...dA.map((g, i) => Math.abs(g - reference[i]))) / Math.max(...reference.map(Math.abs));
    expect(off(grads({ adjointMethod: 'rk4', adjointStepSize: 0.01 }))).toBeLessThan(1e-4);
    expect(off(grads({ adjointMethod: 'rk4', adjointStepSize: 0.9 }))).toBeGreaterThan(1e-2);
    // Without a step size (or checkpoints) nothing would set its steps: refused, not one step per interval.
    expect(() => odeintAdjoint(f, y0, times, { params: [A], adjointMethod: 'rk4' })).toThrow(
      "odeintAdjoint: 'options.adjointMethod' 'rk4' is fixed-step, and nothing sets its steps after the adaptive 'dopri5': pass adjointStepSize, or adjointCheckpoints: true",
    );
    expect(off(grads({ adjointMethod: 'rk4', adjointCheckpoints: true }))).toBeLessThan(1e-3);
    expect(() => odeintAdjoint(f, y0, times, { params: [A], adjointStepSize: 0.01 })).toThrow("'options.adjointStepSize' applies to a fixed-step adjointMethod; 'dopri5' is adaptive");
    expect(() => odeintAdjoint(f, y0, times, { params: [A], adjointMethod: 'rk4', adjointStepSize: -1 })).toThrow("'options.adjointStepSize' must be a positive finite number");
    tf.dispose([A, y0]);
  });
});

describe('odeintAdjoint with implicit methods', () => {
  it("solves a stiff problem forward with Newton as odeint does (its Jacobian, inside the adjoint's custom gradient, was zero), and says why the backward solve fails", () => {
    const f: Dynamics = (t, y) => tf.mul(-1000, tf.sub(y, tf.cos(t))); // hλ = −10 at stepSize 0.01
    const y0 = tf.zeros([2]);
    const before = tf.memory().numTensors;
    for (const method of ['implicit_euler', 'trapezoid'] as const) {
      const [plain, adjoint] = [createStats(), createStats()];
      const options = { method, stepSize: 0.01, implicitSolver: 'newton' as const };
      const a = odeint(f, y0, [0, 1], { ...options, stats: plain });
      const b = odeintAdjoint(f, y0, [0, 1], { ...options, stats: adjoint, params: [] });
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
      expect(adjoint.implicitIterations).toBe(plain.implicitIterations); // two per step: Newton on a linear f
      tf.dispose([a, b]);
    }
    expect(tf.memory().numTensors).toBe(before);
    // The backward solve iterates by fixed point (Newton there would need second derivatives): a clear
    // error, and nothing left behind (tfjs frees the ops' saved copies only after a backward pass that
    // succeeds: 3-4 tensors leaked per failure).
    expect(() => tf.grad((y: tf.Tensor) => tf.sum(odeintAdjoint(f, y, [0, 1], { method: 'implicit_euler', stepSize: 0.01, params: [] })))(y0)).toThrow(
      /the adjoint's backward solve: fixed-point iteration diverges .*its implicit steps iterate by fixed point .*adjointCheckpoints: true with an explicit adjointMethod/,
    );
    expect(tf.memory().numTensors).toBe(before);
    y0.dispose();
  });

  it("takes a stiff solve's gradient with the guide's recipe: checkpoints and an explicit adjointMethod", () => {
    // y′ = −1000 (y − cos t) + p sin t, L = y(1): dL/dp = ∫₀¹ e^{−1000(1−s)} sin s ds.
    const p = tf.variable(tf.scalar(0.5));
    const f: Dynamics = (t, y) => tf.add(tf.mul(-1000, tf.sub(y, tf.cos(t))), tf.mul(p, tf.sin(t)));
    const y0 = tf.zeros([1]);
    const lambda = 1000;
    const exact = (Math.sin(1) * lambda - Math.cos(1) + Math.exp(-lambda)) / (lambda * lambda + 1);
    const { value, grads } = tf.variableGrads(() => tf.sum(odeintAdjoint(f, y0, [0, 1], { method: 'implicit_euler', stepSize: 0.01, params: [p], adjointMethod: 'dopri5', adjointCheckpoints: true }).slice([1], [1])) as tf.Scalar, [p]);
    expect(Math.abs(grads[p.name].dataSync()[0] - exact)).toBeLessThan(1e-4 * exact);
    // Without them, dopri5's backward solve runs out of steps, and says what does work.
    expect(() => tf.variableGrads(() => tf.sum(odeintAdjoint(f, y0, [0, 1], { params: [p], maxSteps: 2000 }).slice([1], [1])) as tf.Scalar, [p])).toThrow(
      /^the adjoint's backward solve: 2000 steps reached at t=[\d.]+ before t=0; for a stiff forward solve use adjointCheckpoints: true with an explicit adjointMethod such as 'dopri5'/,
    );
    tf.dispose([value, ...Object.values(grads), p, y0]);
  });

  it('says when f reads a tensor made inside the loss function (freed before the backward solve calls f again)', () => {
    const k = tf.variable(tf.scalar(1));
    const data = tf.tensor1d([0.5, 2]);
    const y0 = tf.tensor1d([1, 1]);
    const loss = () => {
      const forcing = data.slice([0], [2]); // made inside: tfjs frees it when this function returns
      return tf.sum(odeintAdjoint((_t, y) => tf.add(tf.mul(tf.neg(k), y), forcing), y0, [0, 1], { params: [k] })) as tf.Scalar;
    };
    expect(() => tf.variableGrads(loss, [k])).toThrow(/^odeintAdjoint: 'f' read a tensor that was disposed before the backward solve: .*Make the tensors f reads outside the loss function/);
    tf.dispose([k, data, y0]);
  });

  it('says when the loss has no finite gradient at the solution (sqrt at 0), not that f(t0, y0) is not finite', () => {
    const k = tf.variable(tf.scalar(1));
    const f: Dynamics = (_t, y) => tf.mul(tf.neg(k), y);
    const y0 = tf.tensor1d([1, 0]);
    expect(() => tf.variableGrads(() => tf.sum(tf.sqrt(odeintAdjoint(f, y0, [0, 1], { params: [k] }).slice([1, 1], [1, 1]))) as tf.Scalar, [k])).toThrow(
      /^non-finite values \(NaN or Inf\) at t=1: the gradient of the loss with respect to the solution at t=1 is not finite, so the adjoint's backward solve cannot start: the loss is not differentiable there/,
    );
    tf.dispose([k, y0]);
  });
});

describe('odeintAdjoint rejects bad params with a clear error', () => {
  it('missing params, non-variables, and variables f uses but params leaves out', () => {
    const y0 = tf.tensor1d([1]);
    const k = tf.variable(tf.scalar(-1), true, 'err_k');
    const f: Dynamics = (_t, y) => tf.mul(k, y);
    expect(() => odeintAdjoint(f, y0, [0, 1], {} as never)).toThrow(OdeInputError);
    expect(() => odeintAdjoint(f, y0, [0, 1], {} as never)).toThrow("odeintAdjoint: 'options.params' must be tf.Variables, a tfjs-layers model or layer (its trainable weights), its trainableWeights, or a list of these ([] if none), but got undefined");
    expect(() => odeintAdjoint(f, y0, [0, 1], { params: [tf.scalar(1) as never] })).toThrow("'options.params[0]' must be tf.Variables, a tfjs-layers model or layer (its trainable weights), its trainableWeights, or a list of these ([] if none), but it is a plain tensor (wrap it in tf.variable)");
    expect(() => odeintAdjoint(f, y0, [0, 1], { params: [] })).toThrow("'options.params' must list every variable f uses, but f also uses 'err_k'");
    // A dynamics function that once passed with [k] is checked again with a list that leaves k out.
    const passed = tf.variableGrads(() => tf.sum(odeintAdjoint(f, y0, [0, 1], { params: [k] })) as tf.Scalar);
    tf.dispose([passed.value, ...Object.values(passed.grads)]);
    expect(() => odeintAdjoint(f, y0, [0, 1], { params: [] })).toThrow("'options.params' must list every variable f uses, but f also uses 'err_k'");
    expect(() => odeintAdjoint(f, y0, [0, 1], { params: [k], adjointNorm: 'l2' as never })).toThrow("'options.adjointNorm' must be 'seminorm' or 'full'");
    expect(() => odeintAdjoint(f, y0, [0, 1], { params: [k], adjointMethod: 'rk45' as never })).toThrow("'options.adjointMethod' must be one of euler");
    tf.dispose([y0, k]);
  });
});

describe('odeintAdjoint with checkpoints', () => {
  it('matches backprop where reconstructing z backwards explodes (a fast, damped mode driven by a slow one)', () => {
    // y1' = −0.5 y1, y2' = k y1 − 60 y2: stable forwards; backwards the fast mode grows like e^{60t},
    // so the plain adjoint's reconstruction of z between t = 3 and t = 0 runs away.
    const k = tf.variable(tf.scalar(5), true, 'ckpt_k');
    const f: Dynamics = (_t, y) => {
      const [a, b] = [y.slice([0], [1]), y.slice([1], [1])];
      return tf.concat([tf.mul(-0.5, a), tf.sub(tf.mul(k, a), tf.mul(60, b))]);
    };
    const y0 = tf.tensor1d([1, 0.3]);
    const weights = tf.tensor2d([[0, 0], [1, 2]]);
    const options = { rtol: 1e-5, atol: 1e-5, maxSteps: 2000 };
    const loss = (ys: tf.Tensor) => tf.sum(tf.mul(ys, weights)) as tf.Scalar;
    const reference = tf.variableGrads(() => loss(odeint(f, y0, [0, 3], options)), [k]);
    const expected = reference.grads[k.name].dataSync()[0];
    expect(() => tf.variableGrads(() => loss(odeintAdjoint(f, y0, [0, 3], { ...options, params: [k] })), [k])).toThrow(MaxStepsError);
    const before = tf.memory().numTensors;
    const stats = createStats();
    const { value, grads } = tf.variableGrads(() => loss(odeintAdjoint(f, y0, [0, 3], { ...options, params: [k], adjointCheckpoints: true, stats })), [k]);
    // Within the solver tolerance of the discretised gradient.
    expect(Math.abs(grads[k.name].dataSync()[0] - expected) / Math.abs(expected)).toBeLessThan(1e-3);
    expect(stats.acceptedSteps).toBeGreaterThan(10); // there were steps to checkpoint
    tf.dispose([value, grads[k.name]]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([reference.value, reference.grads[k.name], k, y0, weights]);
  });

  it('gives the same gradients as the plain adjoint, time gradients included, on a well-behaved problem', () => {
    const w = tf.variable(tf.tensor2d([[-0.3, 1], [-1, -0.2]]), true, 'ckpt_w');
    const f: Dynamics = (_t, y) => tf.tanh(tf.matMul(y as tf.Tensor2D, w));
    const y0 = tf.tensor2d([[1, 0.5], [-0.4, 1.2]]);
    const ts = tf.tensor1d([0, 0.7, 1.5]);
    const run = (adjointCheckpoints: boolean) =>
      tf.grads((y: tf.Tensor, t: tf.Tensor) => tf.sum(tf.square(odeintAdjoint(f, y, t as tf.Tensor1D, { params: [w], rtol: 1e-7, atol: 1e-7, adjointCheckpoints }))))([y0, ts]);
    const [plain, checkpointed] = [run(false), run(true)];
    for (let i = 0; i < 2; i++) expect(maxDiff(plain[i], checkpointed[i])).toBeLessThan(1e-4);
    tf.dispose([...plain, ...checkpointed, w, y0, ts]);
  });
});

describe("the backward solve's first step", () => {
  it('is the larger of the forward solve\'s last two steps', () => {
    const tracker = forwardStepTracker(0);
    expect(tracker.firstBackwardStep()).toBeUndefined();
    for (const t of [0.1, 0.35, 0.7, 0.75]) tracker.onStep(t, []);
    expect(tracker.firstBackwardStep()).toBeCloseTo(0.35, 12);
  });

  it("starting there saves Hairer's probe and a too-small first step: fewer evaluations, the same gradients", () => {
    // y' = k y on [0, 2], L = Σ y(2): dL/dk = 2 Σ y0 e^{2k}, dL/dy0 = e^{2k}.
    const k = tf.variable(tf.scalar(0.4));
    const y0 = tf.tensor1d([1, -0.5, 2]);
    const f: ListDynamics = (_t, [y]) => [tf.mul(k, y)];
    const options = { rtol: 1e-6, atol: 1e-6 };
    const forward = { ...resolveOdeintOptions('test', options) };
    const tracker = forwardStepTracker(0);
    const [start, end] = solveState('test', (t, y) => f(tf.scalar(t), y), [y0], [0, 2], forward, createStats(), undefined, tracker.onStep);
    const sweep = (startStep?: number) => {
      const backward = { ...forward, stats: createStats(), seminorm: true };
      const r = runSync('test', backwardSweep(f, [start.map((c) => c.clone()), end.map((c) => c.clone())], [[tf.zerosLike(y0)], [tf.onesLike(y0)]], [0, 2], [k], false, backward, [true, true], startStep));
      const out = { nfe: backward.stats.nfe, dk: r.params[0].dataSync()[0], dy0: Array.from(r.y0[0].dataSync()) };
      tf.dispose([...r.params, ...r.y0]);
      return out;
    };
    const heuristic = sweep();
    const fromForward = sweep(tracker.firstBackwardStep());
    expect(fromForward.nfe).toBeLessThan(heuristic.nfe);
    const e = Math.exp(0.8);
    for (const run of [heuristic, fromForward]) {
      expect(run.dk).toBeCloseTo(2 * 2.5 * e, 4);
      run.dy0.forEach((g) => expect(g).toBeCloseTo(e, 5));
    }
    tf.dispose([k, y0, ...start, ...end]);
  });
});
