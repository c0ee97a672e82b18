import { describe, expect, it } from 'vitest';
import {
  ConvergenceError,
  createStats,
  MaxStepsError,
  NonFiniteError,
  OdeInputError,
  StepSizeError,
  odeint,
  tf,
  type Dynamics,
} from '../src/index.js';

const decay: Dynamics = (_t, y) => tf.neg(y);

/** Runs `call` and returns what it threw, checking that no tensor leaked on the way. */
function thrown(call: () => unknown): Error {
  const before = tf.memory().numTensors;
  try {
    call();
  } catch (e) {
    expect(tf.memory().numTensors).toBe(before);
    return e as Error;
  }
  throw new Error('expected an error, but the call returned');
}

describe('odeint rejects bad input with a typed error naming the argument', () => {
  // Built lazily (test collection runs before the backend is ready) and outside the leak count.
  let y0: tf.Tensor;
  let bad: Record<'int' | 'nan' | 'ts2d', tf.Tensor>;
  const cases: [string, () => unknown, RegExp][] = [
    ['y0 not a tensor', () => odeint(decay, [1, 2] as never, [0, 1]), /odeint: 'y0' must be a tf.Tensor, but got an array/],
    ['y0 int32', () => odeint(decay, bad.int, [0, 1]), /'y0' must have dtype float32, but has int32/],
    ['y0 with NaN', () => odeint(decay, bad.nan, [0, 1]), /'y0' must be finite, but contains NaN or Inf/],
    ['ts not an array', () => odeint(decay, y0, 3 as never), /'ts' must be a number\[\] or a tf.Tensor1D, but got number/],
    ['ts empty', () => odeint(decay, y0, []), /'ts' must hold at least one time/],
    ['ts with NaN', () => odeint(decay, y0, [0, NaN]), /'ts' must be finite, but ts\[1\]=NaN/],
    ['ts non-monotonic', () => odeint(decay, y0, [0, 0.5, 0.7, 0.5]), /'ts' must be strictly increasing or strictly decreasing, but ts\[3\]=0.5 follows ts\[2\]=0.7/],
    ['ts repeated', () => odeint(decay, y0, [0, 1, 1]), /ts\[2\]=1 follows ts\[1\]=1/],
    ['ts 2-D tensor', () => odeint(decay, y0, bad.ts2d as never), /'ts' must be a 1-D tensor, but has shape \[1,2\]/],
    ['unknown option', () => odeint(decay, y0, [0, 1], { rtl: 1e-3 } as never), /'options.rtl' is not an option; known options are method, rtol/],
    ['unknown method', () => odeint(decay, y0, [0, 1], { method: 'rk45' as never }), /'options.method' must be one of euler, midpoint, rk4, implicit_euler, trapezoid, nystrom2, bosh3, dopri5, tsit5, dopri8, but got "rk45"/],
    ['rtol = 0', () => odeint(decay, y0, [0, 1], { rtol: 0 }), /'options.rtol' must be a positive finite number, but got 0/],
    ['atol < 0', () => odeint(decay, y0, [0, 1], { atol: -1e-6 }), /'options.atol' must be a positive finite number, but got -0.000001/],
    ['stepSize with an adaptive method', () => odeint(decay, y0, [0, 1], { method: 'dopri5', stepSize: 0.1 }), /'options.stepSize' applies to fixed-step methods only; 'dopri5' is adaptive/],
    ['firstStep with a fixed method', () => odeint(decay, y0, [0, 1], { method: 'rk4', firstStep: 0.1 }), /'options.firstStep' applies to adaptive methods only/],
    ['stepSize ≤ 0', () => odeint(decay, y0, [0, 1], { method: 'rk4', stepSize: 0 }), /'options.stepSize' must be a positive finite number/],
    ['maxSteps not an integer', () => odeint(decay, y0, [0, 1], { maxSteps: 2.5 }), /'options.maxSteps' must be a positive integer, but got 2.5/],
    ['safety ≥ 1', () => odeint(decay, y0, [0, 1], { safety: 1.5 }), /'options.safety' must be in \(0, 1\), but got 1.5/],
    ['unknown controller', () => odeint(decay, y0, [0, 1], { controller: 'pid' as never }), /'options.controller' must be 'pi' or 'integral'/],
    ['f not a function', () => odeint(3 as never, y0, [0, 1]), /'f' must be a function \(t, y\) => dy\/dt, but got number/],
    ['f returning the wrong shape', () => odeint((_t, y) => tf.concat([y, y]), y0, [0, 1]), /'f' must return a float32 tensor of y0's shape \[2\], but returned float32 \[4\] at t=0/],
    ['f returning int32', () => odeint((_t, y) => y.cast('int32'), y0, [0, 1]), /'f' must return a float32 tensor of y0's shape \[2\], but returned int32 \[2\]/],
    ['f returning a number', () => odeint((() => 1) as never, y0, [0, 1]), /'f' must return a tf.Tensor, but returned number at t=0/],
  ];
  it.each(cases)('%s', (_name, call, message) => {
    y0 ??= tf.tensor1d([1, 2]);
    bad ??= { int: tf.tensor1d([1, 2], 'int32'), nan: tf.tensor1d([1, NaN]), ts2d: tf.tensor2d([[0, 1]]) };
    const error = thrown(call);
    expect(error).toBeInstanceOf(OdeInputError);
    expect(error.message).toMatch(message);
  });
});

describe('odeint fails during a solve with a typed error that says where and what to do', () => {
  it('a finite-time blow-up (y\' = y², y(0) = 1, blows up at t = 1) ends in StepSizeError near t = 1, not a hang', () => {
    const y0 = tf.tensor1d([1]);
    const error = thrown(() => odeint((_t, y) => tf.square(y), y0, [0, 2], { maxSteps: 100_000 }));
    expect(error).toBeInstanceOf(StepSizeError);
    expect(error.message).toMatch(/^step size underflow: h=\S+ at t=(0\.999|1\.000)\d*; \|y\| reached \S+: the solution may blow up in finite time/);
    // float32 carries the solution a hair past the true singularity, but no further.
    expect(Math.abs((error as StepSizeError).t - 1)).toBeLessThan(1e-3);
    y0.dispose();
  });

  it('too many steps end in MaxStepsError naming the limit and the time reached (a fixed-step solve says so before stepping)', () => {
    const y0 = tf.tensor1d([1]);
    const before = tf.memory().numTensors;
    const error = thrown(() => odeint(decay, y0, [0, 50, 100], { method: 'rk4', stepSize: 0.01, maxSteps: 50 }));
    expect(error).toBeInstanceOf(MaxStepsError);
    expect(error.message).toBe('stepSize 0.01 takes 10000 steps from t=0 to t=100, more than maxSteps (50); raise maxSteps or take a larger stepSize');
    expect(tf.memory().numTensors).toBe(before);
    const adaptive = thrown(() => odeint(decay, y0, [0, 100], { rtol: 1e-6, maxSteps: 5 }));
    expect(adaptive).toBeInstanceOf(MaxStepsError);
    expect(adaptive.message).toMatch(/^5 steps reached at t=[\d.]+ before t=100/);
    y0.dispose();
  });

  it('f that is NaN at the start gives NonFiniteError', () => {
    const y0 = tf.tensor1d([1]);
    const error = thrown(() => odeint((_t, y) => tf.div(y, 0).mul(0), y0, [0, 1]));
    expect(error).toBeInstanceOf(NonFiniteError);
    expect(error.message).toMatch(/f\(t0, y0\) is not finite/);
    y0.dispose();
  });

  it('a fixed-step solution that overflows gives NonFiniteError naming the interval', () => {
    const y0 = tf.tensor1d([1]);
    // Euler on y' = y⁴ with h = 0.5: y = 1, 1.5, 4.03, 136, 1.7e8 (t = 2), 4e32, then Inf at t = 3.
    const error = thrown(() => odeint((_t, y) => tf.pow(y, 4), y0, [0, 1, 2, 3], { method: 'euler', stepSize: 0.5 }));
    expect(error).toBeInstanceOf(NonFiniteError);
    expect(error.message).toMatch(/the solution became NaN\/Inf between t=2 and t=3/);
    y0.dispose();
  });

  it('a fixed-point iteration that cannot converge gives ConvergenceError; Newton solves the same stiff step', () => {
    const stiff: Dynamics = (_t, y) => tf.mul(-100, y);
    const y0 = tf.tensor1d([1]);
    const error = thrown(() => odeint(stiff, y0, [0, 1], { method: 'implicit_euler', stepSize: 0.1, implicitSolver: 'fixed-point' }));
    expect(error).toBeInstanceOf(ConvergenceError);
    expect(error.message).toMatch(/^implicit_euler: the implicit equation at t=0.1 did not converge \(fixed-point iteration diverges/);
    // Newton: implicit Euler on a linear problem gives y_{n+1} = y_n / (1 + 100h) exactly.
    const ys = odeint(stiff, y0, [0, 1], { method: 'implicit_euler', stepSize: 0.1, implicitSolver: 'newton' });
    expect(Math.abs(ys.dataSync()[1] / Math.pow(1 / 11, 10) - 1)).toBeLessThan(1e-5);
    tf.dispose([ys, y0]);
  });

  it("'auto' on a state above 100 elements hands a stiff solve to Newton when fixed point cannot take a step (it failed)", () => {
    const stiff: Dynamics = (t, y) => tf.mul(-1000, tf.sub(y, tf.cos(t)));
    const [one, many] = [tf.zeros([1]), tf.zeros([150])];
    const options = { method: 'implicit_euler' as const, stepSize: 0.01 };
    const [a, b] = [odeint(stiff, one, [0, 0.2], options), odeint(stiff, many, [0, 0.2], options)];
    const [small, large] = [a.dataSync()[1], b.dataSync()];
    expect(Math.abs(small - Math.cos(0.2))).toBeLessThan(1e-3);
    expect(Math.max(...Array.from(large.subarray(150), (v) => Math.abs(v - small)))).toBeLessThan(1e-6);
    expect(() => odeint(stiff, many, [0, 0.2], { ...options, implicitSolver: 'fixed-point' })).toThrow(/fixed-point iteration diverges/);
    tf.dispose([one, many, a, b]);
  });

  it("Newton takes the Jacobian again where the start's stops contracting: y′ = −1000 y³ at h = 0.1 (it failed below h = 0.003)", () => {
    const cubic: Dynamics = (_t, y) => tf.mul(-1000, tf.pow(y, 3));
    const y0 = tf.tensor1d([1]);
    const stats = createStats();
    const ys = odeint(cubic, y0, [0, 0.1], { method: 'implicit_euler', stepSize: 0.1, implicitSolver: 'newton', stats });
    // One implicit Euler step: y1 + 100 y1³ = 1, whose root is 0.1994…; found to the iteration's tolerance.
    const y1 = ys.dataSync()[1];
    expect(Math.abs(y1 + 100 * y1 ** 3 - 1)).toBeLessThan(1e-4);
    expect(stats.implicitIterations).toBeLessThan(15);
    tf.dispose([ys, y0]);
  });
});
