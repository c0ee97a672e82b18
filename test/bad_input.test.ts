// Bad input through the API and the CLI, as a new user types it: every case must end in cnfkit's own
// error class, name the argument at fault, return promptly and leave no tensor behind (issue 12).
// test/odeint.errors.test.ts pins the exact messages of odeint's own checks.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';
import {
  CNF,
  CnfkitError,
  ModelFileError,
  InputError,
  odeint,
  odeintAdjoint,
  ready,
  tf,
  toyData,
  type Dynamics,
} from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'cnfkit-bad-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Tensors and flows the cases use, made once the backend is ready and outside the leak count. */
const t = {} as {
  y0: tf.Tensor;
  disposed: tf.Tensor;
  xDisposed: tf.Tensor2D;
  empty: tf.Tensor;
  x: tf.Tensor2D;
  x3: tf.Tensor2D;
  xInt: tf.Tensor2D;
  xNaN: tf.Tensor2D;
  xEmpty: tf.Tensor2D;
  flow: CNF;
  twoBlocks: CNF;
  regularised: CNF;
  k: tf.Variable;
  unlisted: tf.Variable;
};
beforeAll(() => {
  t.y0 = tf.tensor1d([1, 2]);
  t.disposed = tf.tensor1d([1]);
  t.disposed.dispose();
  t.xDisposed = tf.tensor2d([[1, 2]]);
  t.xDisposed.dispose();
  t.empty = tf.tensor1d([]);
  t.x = tf.tensor2d([[0.5, -1], [2, 0]]);
  t.x3 = tf.zeros([4, 3]) as tf.Tensor2D;
  t.xInt = tf.tensor2d([[1, 2]], [1, 2], 'int32');
  t.xNaN = tf.tensor2d([[0, NaN], [1, 1]]);
  t.xEmpty = tf.zeros([0, 2]) as tf.Tensor2D;
  t.flow = new CNF({ dim: 2, hiddenDims: [4] });
  t.twoBlocks = new CNF({ dim: 2, hiddenDims: [4], blocks: 2 });
  t.regularised = new CNF({ dim: 2, hiddenDims: [4], kineticEnergy: 0.1 });
  t.k = tf.variable(tf.scalar(-0.5), true, 'bad_input.k');
  t.unlisted = tf.variable(tf.scalar(2), true, 'bad_input.unlisted');
  writeFileSync(join(tmp, 'a-file'), 'x');
});

const decay: Dynamics = (_t, y) => tf.neg(y);
const usesK: Dynamics = (_t, y) => tf.mul(t.k, y);
const usesUnlisted: Dynamics = (_t, y) => tf.mul(t.unlisted, y);

type ErrorClass = new (...args: never[]) => Error;
/** [what, the call, the error class, the text naming the function and argument]. */
type ApiCase = [string, () => unknown, ErrorClass, string];

const API_CASES: ApiCase[] = [
  // odeint: options beyond those test/odeint.errors.test.ts covers.
  ['odeint: y0 disposed', () => odeint(decay, t.disposed, [0, 1]), InputError, "odeint: 'y0'"],
  ['odeint: ts disposed', () => odeint(decay, t.y0, t.disposed as tf.Tensor1D), InputError, "odeint: 'ts' has been disposed"],
  ['odeint: y0 empty', () => odeint(decay, t.empty, [0, 1]), InputError, "odeint: 'y0'"],
  ['odeint: options a number', () => odeint(decay, t.y0, [0, 1], 5 as never), InputError, "odeint: 'options'"],
  ['odeint: maxStepSize < 0', () => odeint(decay, t.y0, [0, 1], { maxStepSize: -1 }), InputError, "odeint: 'options.maxStepSize'"],
  ['odeint: minFactor 2', () => odeint(decay, t.y0, [0, 1], { minFactor: 2 }), InputError, "odeint: 'options.minFactor'"],
  ['odeint: rtol 1', () => odeint(decay, t.y0, [0, 1], { rtol: 1 }), InputError, "odeint: 'options.rtol' must be below 1"],
  ['odeintAdjoint: adjointRtol 2', () => odeintAdjoint(decay, t.y0, [0, 1], { params: [], adjointRtol: 2 }), InputError, "odeintAdjoint: 'options.adjointRtol' must be below 1"],
  ['fit: a sampler returning one tensor every call', () => { const same = tf.tensor2d([[0, 1], [1, 0]]); return t.flow.fit(() => same, { iterations: 2 }); }, InputError, "CNF.fit: 'data' sampler returned a disposed tensor: fit disposes each batch"],
  ['odeint: maxStepSize for a fixed-step method', () => odeint(decay, t.y0, [0, 1], { method: 'rk4', maxStepSize: 0.01 }), InputError, "odeint: 'options.maxStepSize' applies to adaptive methods only; 'rk4' is fixed-step: its steps are set by stepSize"],
  ['odeint: rtol for a fixed-step method', () => odeint(decay, t.y0, [0, 1], { method: 'euler', stepSize: 0.1, rtol: 1e-3 }), InputError, "odeint: 'options.rtol' applies to adaptive methods only"],
  ['odeint: implicitTol for an explicit method', () => odeint(decay, t.y0, [0, 1], { implicitTol: 1e-8 }), InputError, "odeint: 'options.implicitTol' applies to the implicit methods (implicit_euler, trapezoid) only; 'dopri5' is explicit"],
  ['odeintAdjoint: adjointRtol for a fixed-step adjointMethod', () => odeintAdjoint(decay, t.y0, [0, 1], { params: [], adjointMethod: 'rk4', adjointStepSize: 0.1, adjointRtol: 1e-3 }), InputError, "odeintAdjoint: 'options.adjointRtol' applies to an adaptive adjointMethod; 'rk4' is fixed-step"],
  ['odeint: maxFactor 0.5', () => odeint(decay, t.y0, [0, 1], { maxFactor: 0.5 }), InputError, "odeint: 'options.maxFactor'"],
  ['odeint: implicitSolver unknown', () => odeint(decay, t.y0, [0, 1], { method: 'implicit_euler', implicitSolver: 'broyden' as never }), InputError, "odeint: 'options.implicitSolver'"],
  ['odeint: implicitMaxIterations 0', () => odeint(decay, t.y0, [0, 1], { implicitMaxIterations: 0 }), InputError, "odeint: 'options.implicitMaxIterations'"],
  ['odeint: implicitTol NaN', () => odeint(decay, t.y0, [0, 1], { implicitTol: NaN }), InputError, "odeint: 'options.implicitTol'"],
  ['odeint: stats not an object', () => odeint(decay, t.y0, [0, 1], { stats: 3 as never }), InputError, "odeint: 'options.stats'"],
  ['odeint: rtol a string', () => odeint(decay, t.y0, [0, 1], { rtol: '1e-3' as never }), InputError, "odeint: 'options.rtol'"],
  ['odeint: rtol below float32', () => odeint(decay, t.y0, [0, 1], { rtol: 1e-12 }), InputError, "odeint: 'options.rtol' is 1e-12, below what float32 states resolve"],
  ['odeintAdjoint: adjointRtol below float32', () => odeintAdjoint(decay, t.y0, [0, 1], { params: [], adjointRtol: 1e-9 }), InputError, "odeintAdjoint: 'options.adjointRtol' is 1e-9, below what float32 states resolve"],

  // odeintAdjoint
  ['odeintAdjoint: no options', () => odeintAdjoint(usesK, t.y0, [0, 1], undefined as never), InputError, "odeintAdjoint: 'options'"],
  ['odeintAdjoint: params missing', () => odeintAdjoint(usesK, t.y0, [0, 1], {} as never), InputError, "odeintAdjoint: 'options.params'"],
  ['odeintAdjoint: params a plain tensor', () => odeintAdjoint(usesK, t.y0, [0, 1], { params: [t.y0 as tf.Variable] }), InputError, "odeintAdjoint: 'options.params[0]'"],
  ['odeintAdjoint: f uses a variable not in params', () => odeintAdjoint(usesUnlisted, t.y0, [0, 1], { params: [t.k] }), InputError, "odeintAdjoint: 'options.params'"],
  ['odeintAdjoint: adjointMethod unknown', () => odeintAdjoint(usesK, t.y0, [0, 1], { params: [t.k], adjointMethod: 'rk45' as never }), InputError, "odeintAdjoint: 'options.adjointMethod'"],
  ['odeintAdjoint: adjointNorm unknown', () => odeintAdjoint(usesK, t.y0, [0, 1], { params: [t.k], adjointNorm: 'max' as never }), InputError, "odeintAdjoint: 'options.adjointNorm'"],
  ['odeintAdjoint: adjointRtol 0', () => odeintAdjoint(usesK, t.y0, [0, 1], { params: [t.k], adjointRtol: 0 }), InputError, "odeintAdjoint: 'options.adjointRtol'"],
  ['odeintAdjoint: adjointAtol -1', () => odeintAdjoint(usesK, t.y0, [0, 1], { params: [t.k], adjointAtol: -1 }), InputError, "odeintAdjoint: 'options.adjointAtol'"],
  ['odeintAdjoint: adjointCheckpoints "yes"', () => odeintAdjoint(usesK, t.y0, [0, 1], { params: [t.k], adjointCheckpoints: 'yes' as never }), InputError, "odeintAdjoint: 'options.adjointCheckpoints'"],
  ['odeintAdjoint: backwardStats a number', () => odeintAdjoint(usesK, t.y0, [0, 1], { params: [t.k], backwardStats: 1 as never }), InputError, "odeintAdjoint: 'options.backwardStats'"],
  ['odeintAdjoint: y0 an array', () => odeintAdjoint(usesK, [1] as never, [0, 1], { params: [t.k] }), InputError, "odeintAdjoint: 'y0'"],
  ['odeintAdjoint: ts repeated', () => odeintAdjoint(usesK, t.y0, [0, 1, 1], { params: [t.k] }), InputError, "odeintAdjoint: 'ts'"],
  ['odeintAdjoint: unknown option', () => odeintAdjoint(usesK, t.y0, [0, 1], { params: [t.k], adjoint: true } as never), InputError, "odeintAdjoint: 'options.adjoint'"],

  // new CNF
  ['new CNF: no options', () => new CNF(undefined as never), InputError, "new CNF: 'options'"],
  ['new CNF: dim 0', () => new CNF({ dim: 0 }), InputError, "new CNF: 'options.dim'"],
  ['new CNF: dim 2.5', () => new CNF({ dim: 2.5 }), InputError, "new CNF: 'options.dim'"],
  ['new CNF: dim a string', () => new CNF({ dim: '2' as never }), InputError, `new CNF: 'options.dim' must be a positive integer, but got "2"`],
  ['new CNF: rtol below float32', () => new CNF({ dim: 2, rtol: 1e-9 }), InputError, "new CNF: 'options.rtol' is 1e-9, below what float32 states resolve"],
  ['new CNF: maxSteps 0', () => new CNF({ dim: 2, maxSteps: 0 }), InputError, "new CNF: 'options.maxSteps' must be a positive integer"],
  ['odeint: rtol a string', () => odeint(decay, t.y0, [0, 1], { rtol: '1e-6' as never }), InputError, `odeint: 'options.rtol' must be a positive finite number, but got "1e-6"`],
  ['new CNF: hiddenDims a number', () => new CNF({ dim: 2, hiddenDims: 64 as never }), InputError, "new CNF: 'options.hiddenDims'"],
  ['new CNF: hiddenDims [64, 0]', () => new CNF({ dim: 2, hiddenDims: [64, 0] }), InputError, "new CNF: 'options.hiddenDims[1]'"],
  ['new CNF: blocks 0', () => new CNF({ dim: 2, blocks: 0 }), InputError, "new CNF: 'options.blocks'"],
  ['new CNF: activation relu', () => new CNF({ dim: 2, activation: 'relu' as never }), InputError, "new CNF: 'options.activation'"],
  ['new CNF: layer dense', () => new CNF({ dim: 2, layer: 'dense' as never }), InputError, "new CNF: 'options.layer'"],
  ['new CNF: trace approx', () => new CNF({ dim: 2, trace: 'approx' as never }), InputError, "new CNF: 'options.trace'"],
  ['new CNF: noise uniform', () => new CNF({ dim: 2, noise: 'uniform' as never }), InputError, "new CNF: 'options.noise'"],
  ['new CNF: method rk45', () => new CNF({ dim: 2, method: 'rk45' as never }), InputError, "new CNF: 'options.method'"],
  ['new CNF: T 0', () => new CNF({ dim: 2, T: 0 }), InputError, "new CNF: 'options.T'"],
  ['new CNF: rtol NaN', () => new CNF({ dim: 2, rtol: NaN }), InputError, "new CNF: 'options.rtol'"],
  ['new CNF: atol -1', () => new CNF({ dim: 2, atol: -1 }), InputError, "new CNF: 'options.atol'"],
  ['new CNF: kineticEnergy -1', () => new CNF({ dim: 2, kineticEnergy: -1 }), InputError, "new CNF: 'options.kineticEnergy'"],
  ['new CNF: jacobianNorm Infinity', () => new CNF({ dim: 2, jacobianNorm: Infinity }), InputError, "new CNF: 'options.jacobianNorm'"],
  ['new CNF: trainT "yes"', () => new CNF({ dim: 2, trainT: 'yes' as never }), InputError, "new CNF: 'options.trainT'"],
  ['new CNF: seed NaN', () => new CNF({ dim: 2, seed: NaN }), InputError, "new CNF: 'options.seed'"],
  ['new CNF: rk4 without stepSize', () => new CNF({ dim: 2, method: 'rk4' }), InputError, "new CNF: 'options.stepSize'"],
  ['new CNF: dynamics without f', () => new CNF({ dim: 2, dynamics: { params: [] } as never }), InputError, "new CNF: 'options.dynamics'"],
  ['new CNF: unknown option', () => new CNF({ dim: 2, width: 3 } as never), InputError, "new CNF: 'options.width'"],

  // The flow's methods
  ['logProb: x an array', () => t.flow.logProb([[0, 1]] as never), InputError, "CNF.logProb: 'x'"],
  ['logProb: x of width 3', () => t.flow.logProb(t.x3), InputError, "CNF.logProb: 'x'"],
  ['logProb: x int32', () => t.flow.logProb(t.xInt), InputError, "CNF.logProb: 'x'"],
  ['logProb: x with NaN', () => t.flow.logProb(t.xNaN), InputError, "CNF.logProb: 'x'"],
  ['logProb: x empty', () => t.flow.logProb(t.xEmpty), InputError, "CNF.logProb: 'x'"],
  ['logProb: x disposed', () => t.flow.logProb(t.xDisposed), InputError, "CNF.logProb: 'x' has been disposed"],
  ['fromLatentWithLogProbAsync: z disposed', () => t.flow.fromLatentWithLogProbAsync(t.xDisposed), InputError, "CNF.fromLatentWithLogProbAsync: 'z' has been disposed"],
  ['fromLatentWithLogProbAsync: z with NaN', () => t.flow.fromLatentWithLogProbAsync(t.xNaN), InputError, "CNF.fromLatentWithLogProbAsync: 'z' must be finite"],
  ['logProb: trace unknown', () => t.flow.logProb(t.x, { trace: 'approx' as never }), InputError, "CNF.logProb: 'options.trace'"],
  ['logProb: unknown option', () => t.flow.logProb(t.x, { exact: true } as never), InputError, "CNF.logProb: 'options.exact'"],
  ['sample: n 0', () => t.flow.sample(0), InputError, "CNF.sample: 'n'"],
  ['sample: n 2.5', () => t.flow.sample(2.5), InputError, "CNF.sample: 'n'"],
  ['sample: n a string', () => t.flow.sample('10' as never), InputError, "CNF.sample: 'n'"],
  ['sample: seed NaN', () => t.flow.sample(3, NaN), InputError, "CNF.sample: 'seed'"],
  ['toLatent: x of width 3', () => t.flow.toLatent(t.x3), InputError, "CNF.toLatent: 'x'"],
  ['toLatent: x with NaN', () => t.flow.toLatent(t.xNaN), InputError, "CNF.toLatent: 'x'"],
  ['fromLatent: z of width 3', () => t.flow.fromLatent(t.x3), InputError, "CNF.fromLatent: 'z'"],
  ['fromLatent: z with NaN', () => t.flow.fromLatent(t.xNaN), InputError, "CNF.fromLatent: 'z'"],
  ['trajectory: frames 1', () => t.flow.trajectory(t.x, 1), InputError, "CNF.trajectory: 'frames'"],

  // fit
  ['fit: no options', () => (t.flow.fit as (d: unknown) => Promise<unknown>)(t.x), InputError, "CNF.fit: 'options'"],
  ['fit: iterations missing', () => t.flow.fit(t.x, {} as never), InputError, "CNF.fit: 'options.iterations'"],
  ['fit: iterations 0', () => t.flow.fit(t.x, { iterations: 0 }), InputError, "CNF.fit: 'options.iterations'"],
  ['fit: batchSize 0', () => t.flow.fit(t.x, { iterations: 1, batchSize: 0 }), InputError, "CNF.fit: 'options.batchSize'"],
  ['fit: learningRate -1', () => t.flow.fit(t.x, { iterations: 1, learningRate: -1 }), InputError, "CNF.fit: 'options.learningRate'"],
  ['fit: learningRate NaN', () => t.flow.fit(t.x, { iterations: 1, learningRate: NaN }), InputError, "CNF.fit: 'options.learningRate'"],
  ['fit: weightDecay -1', () => t.flow.fit(t.x, { iterations: 1, weightDecay: -1 }), InputError, "CNF.fit: 'options.weightDecay'"],
  ['fit: objective unknown', () => t.flow.fit(t.x, { iterations: 1, objective: 'gan' as never }), InputError, "CNF.fit: 'options.objective'"],
  ['fit: coupling unknown', () => t.flow.fit(t.x, { iterations: 1, objective: 'flow-matching', coupling: 'sinkhorn' as never }), InputError, "CNF.fit: 'options.coupling'"],
  ['fit: sigma -1', () => t.flow.fit(t.x, { iterations: 1, objective: 'flow-matching', sigma: -1 }), InputError, "CNF.fit: 'options.sigma'"],
  ['fit: unknown option', () => t.flow.fit(t.x, { iterations: 1, epochs: 3 } as never), InputError, "CNF.fit: 'options.epochs'"],
  ['fit: weightDecay Infinity', () => t.flow.fit(t.x, { iterations: 1, weightDecay: Infinity }), InputError, "CNF.fit: 'options.weightDecay' must be a finite number ≥ 0, but got Infinity"],
  ['fit: learningRate Infinity', () => t.flow.fit(t.x, { iterations: 1, learningRate: Infinity }), InputError, "CNF.fit: 'options.learningRate'"],
  ['fit: seed NaN', () => t.flow.fit(t.x, { iterations: 1, seed: NaN }), InputError, "CNF.fit: 'options.seed'"],
  ['fit: onProgress a string', () => t.flow.fit(t.x, { iterations: 1, onProgress: 'x' as never }), InputError, `CNF.fit: 'options.onProgress' must be a function, but got "x"`],
  ['fit: signal a string', () => t.flow.fit(t.x, { iterations: 1, signal: 'x' as never }), InputError, "CNF.fit: 'options.signal' must be an AbortSignal"],
  ['fit: checkpointEvery 0', () => t.flow.fit(t.x, { iterations: 1, checkpointEvery: 0 }), InputError, "CNF.fit: 'options.checkpointEvery'"],
  ['fit: sigma for maximum likelihood', () => t.flow.fit(t.x, { iterations: 1, sigma: 0.2 }), InputError, "CNF.fit: 'options.sigma' applies to objective 'flow-matching' only"],
  ['fit: coupling for maximum likelihood', () => t.flow.fit(t.x, { iterations: 1, coupling: 'ot' }), InputError, "CNF.fit: 'options.coupling' applies to objective 'flow-matching' only"],
  ['fit: flow matching of a flow with RNODE regularisers', () => t.regularised.fit(t.x, { iterations: 1, objective: 'flow-matching' }), InputError, "CNF.fit: 'options.objective' 'flow-matching' does not use this flow's kineticEnergy and jacobianNorm"],
  ['fit: data of width 3', () => t.flow.fit(t.x3, { iterations: 1 }), InputError, "CNF.fit: 'data'"],
  ['fit: data empty', () => t.flow.fit(t.xEmpty, { iterations: 1 }), InputError, "CNF.fit: 'data'"],
  ['fit: data with NaN, maximum likelihood', () => t.flow.fit(t.xNaN, { iterations: 1 }), InputError, "CNF.fit: 'data'"],
  ['fit: data with NaN, flow matching', () => t.flow.fit(t.xNaN, { iterations: 1, objective: 'flow-matching' }), InputError, "CNF.fit: 'data'"],
  ['fit: a sampler returning NaN', () => t.flow.fit(() => tf.tensor2d([[NaN, 0]]), { iterations: 1 }), InputError, "CNF.fit: 'data'"],
  ['fit: a sampler returning more than batchSize, maximum likelihood', () => t.flow.fit(() => tf.zeros([3, 2]) as tf.Tensor2D, { iterations: 1, batchSize: 2 }), InputError, "CNF.fit: 'data' sampler returned 3 points, more than batchSize 2"],
  ['fit: a sampler returning width 3', () => t.flow.fit(() => tf.zeros([2, 3]) as tf.Tensor2D, { iterations: 1 }), InputError, "CNF.fit: 'data'"],
  ['fit: data an array', () => t.flow.fit([[0, 1]] as never, { iterations: 1 }), InputError, "CNF.fit: 'data'"],
  ['fit: flow matching with two blocks', () => t.twoBlocks.fit(t.x, { iterations: 1, objective: 'flow-matching' }), InputError, "CNF.fit: 'options.objective'"],
  ['fit: resume without history', () => t.flow.fit(t.x, { iterations: 2, resume: { iteration: 1, rng: { alea: { c: 1, s0: 0.1, s1: 0.2, s2: 0.3 } }, optimizer: [] } as never }), InputError, "CNF.fit: 'options.resume'"],
  ['fit: resume with a NaN step', () => t.flow.fit(t.x, { iterations: 2, resume: { iteration: 0, rng: { alea: { c: 1, s0: 0.1, s1: 0.2, s2: 0.3 } }, history: [], optimizer: [{ shape: [1], values: Float32Array.of(NaN) }, { shape: [1], values: new Float32Array(1) }, { shape: [1], values: new Float32Array(1) }] } }), InputError, "CNF.fit: 'options.resume'"],
  ['logProbTerms: trace unknown', () => t.flow.logProbTerms(t.x, { trace: 'approx' as never }), InputError, "CNF.logProbTerms: 'options.trace'"],
  ['load: maxParameters 0', () => CNF.load(join(tmp, 'nothing'), { maxParameters: 0 }), InputError, "CNF.load: 'options.maxParameters'"],
  ['fit: resume from garbage', () => t.flow.fit(t.x, { iterations: 2, resume: { iteration: 1, rng: { alea: { c: 1, s0: 0.1, s1: 0.2, s2: 0.3 } }, optimizer: [], history: [] } }), InputError, "CNF.fit: 'options.resume'"],

  // Files
  ['save: empty path', () => t.flow.save(''), InputError, "CNF.save: 'target'"],
  ['save: path a number', () => t.flow.save(42 as never), InputError, "CNF.save: 'target'"],
  ['save: parent is a file', () => t.flow.save(join(tmp, 'a-file', 'model')), ModelFileError, 'CNF.save: '],
  ['save: inside /proc', () => t.flow.save('/proc/self/model'), ModelFileError, 'CNF.save: /proc/self/model'],
  ['save: overwrite "yes"', () => t.flow.save(join(tmp, 'm'), { overwrite: 'yes' } as never), InputError, "CNF.save: 'options'"],
  ['save: a misspelt option', () => t.flow.save(join(tmp, 'm'), { overwite: true } as never), InputError, "CNF.save: 'options.overwite' is not an option; known options are overwrite"],
  ['load: a misspelt option', () => CNF.load(join(tmp, 'nothing'), { maxParams: 10 } as never), InputError, "CNF.load: 'options.maxParams' is not an option"],
  ['sample: more values than one tensor holds', () => t.flow.sample(1e12), InputError, "CNF.sample: 'n' is 1000000000000"],
  ['new CNF: stepSize with an adaptive method', () => new CNF({ dim: 2, stepSize: 0.1 }), InputError, "new CNF: 'options.stepSize' applies to fixed-step methods only"],
  ['new CNF: a weight matrix beyond one tensor', () => new CNF({ dim: 100000, hiddenDims: [100000] }), InputError, "new CNF: 'options.hiddenDims' make a 100000 × 100000 weight matrix"],
  ['new CNF: stepSize -0.1', () => new CNF({ dim: 2, method: 'rk4', stepSize: -0.1 }), InputError, "new CNF: 'options.stepSize' must be a finite number > 0"],
  ['a disposed flow', () => { const f = new CNF({ dim: 2, hiddenDims: [4] }); f.dispose(); return f.logProb(t.x); }, CnfkitError, 'CNF.logProb: this flow was disposed'],
  ['a disposed flow, save', () => { const f = new CNF({ dim: 2, hiddenDims: [4] }); f.dispose(); return f.save(join(tmp, 'gone')); }, CnfkitError, 'CNF.save: this flow was disposed'],
  ['load: empty path', () => CNF.load(''), InputError, "CNF.load: 'source'"],
  ['load: missing folder', () => CNF.load(join(tmp, 'nothing')), ModelFileError, 'CNF.load: '],
  ['load: a file', () => CNF.load(join(tmp, 'a-file')), ModelFileError, 'CNF.load: '],

  // Data and backend
  ['toyData: unknown name', () => toyData('spiral' as never, 10), InputError, "toyData: 'name'"],
  ['toyData: n 0', () => toyData('moons', 0), InputError, "toyData: 'n'"],
  ['toyData: n 1.5', () => toyData('moons', 1.5), InputError, "toyData: 'n'"],
  ['toyData: seed NaN', () => toyData('moons', 5, NaN), InputError, "toyData: 'seed'"],
  ['ready: unknown backend', () => ready({ backend: 'gpu' as never }), CnfkitError, 'ready: backend "gpu"'],
  ['ready: wasmKernels "no"', () => ready({ wasmKernels: 'no' as never }), CnfkitError, "ready: 'options.wasmKernels'"],
  ['ready: unknown option', () => ready({ gpu: true } as never), CnfkitError, "ready: 'options.gpu'"],
];

describe('bad input through the API', () => {
  it('OdeInputError (the 0.1 name) is InputError itself: code that caught it catches every case, divergence included', async () => {
    const { OdeInputError, DivergenceError } = await import('../src/index.js');
    expect(OdeInputError).toBe(InputError);
    const flow = new CNF({ dim: 2, hiddenDims: [4] });
    const data = toyData('moons', 64);
    const error = await flow.fit(data, { iterations: 5, batchSize: 32, learningRate: 1e38, objective: 'flow-matching' }).catch((e) => e);
    expect(error).toBeInstanceOf(DivergenceError);
    expect(error).toBeInstanceOf(OdeInputError);
    expect(error.argument).toBe('options.learningRate');
    expect(error.iteration).toBeGreaterThanOrEqual(1);
    flow.dispose();
    data.dispose();
  });

  it('maximum likelihood whose update makes the dynamics unsolvable: a DivergenceError, the update taken back, nothing leaked', async () => {
    const { DivergenceError, StepSizeError } = await import('../src/index.js');
    const flow = new CNF({ dim: 2, hiddenDims: [8] });
    const data = toyData('moons', 100, 0);
    const before = tf.memory().numTensors;
    const weights: number[][][] = [];
    const snapshot = () => flow.trainableVariables.map((v) => Array.from(v.dataSync()));
    weights.push(snapshot());
    const error = await flow.fit(data, { iterations: 20, learningRate: 1e6, onProgress: () => weights.push(snapshot()) }).catch((e) => e);
    expect(error).toBeInstanceOf(DivergenceError);
    expect(error.solverError).toBeInstanceOf(StepSizeError);
    expect(error.message).toMatch(/training diverged at iteration \d+ \(its ODE solve failed \(step size underflow/);
    // The weights before the update whose solve failed: the last good ones, and logProb works on them.
    expect(snapshot()).toEqual(weights[error.iteration - 2]);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.tidy(() => Array.from(flow.logProb(data.slice([0, 0], [4, 2])).dataSync())).every(Number.isFinite)).toBe(true);
    flow.dispose();
    data.dispose();
  });

  it('flow matching whose update makes the validation unsolvable: a DivergenceError, the last weights that solved put back', async () => {
    const { DivergenceError } = await import('../src/index.js');
    const flow = new CNF({ dim: 2, hiddenDims: [8], seed: 1 });
    const data = toyData('moons', 200, 0);
    const validation = toyData('moons', 20, 1);
    const before = tf.memory().numTensors;
    const snapshot = () => flow.trainableVariables.map((v) => Array.from(v.dataSync()));
    let solved = snapshot(); // the start's, then those of each validation that solved
    const onProgress = (r: { validationNll?: number }) => void (r.validationNll !== undefined && (solved = snapshot()));
    const error = await flow.fit(data, { iterations: 5, objective: 'flow-matching', learningRate: 1e6, validation, validateEvery: 1, onProgress }).catch((e) => e);
    expect(error).toBeInstanceOf(DivergenceError);
    expect(snapshot()).toEqual(solved);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.tidy(() => Array.from(flow.logProb(validation).dataSync())).every(Number.isFinite)).toBe(true);
    flow.dispose();
    tf.dispose([data, validation]);
  });

  it('an error thrown by the dynamics reaches the caller unchanged, with nothing left behind, for every kind of solve', () => {
    const broken: Dynamics = (time, y) => {
      if (time.dataSync()[0] > 0.3) throw new RangeError('my dynamics broke');
      return tf.neg(y);
    };
    const before = tf.memory().numTensors;
    for (const method of ['dopri5', 'rk4', 'implicit_euler'] as const) {
      const options = method === 'dopri5' ? { method } : { method, stepSize: 0.1 };
      expect(() => odeint(broken, t.y0, [0, 1], options)).toThrow(RangeError);
      expect(() => tf.grad((y: tf.Tensor) => tf.sum(odeintAdjoint(broken, y, [0, 1], { ...options, params: [] })))(t.y0)).toThrow('my dynamics broke');
    }
    expect(tf.memory().numTensors).toBe(before);
  });


  it('covers enough cases', () => expect(API_CASES.length + CLI_CASES.length).toBeGreaterThanOrEqual(80));

  it.each(API_CASES)('%s', async (_name, call, errorClass, names) => {
    const before = tf.memory().numTensors;
    const started = performance.now();
    let error: unknown;
    try {
      await call();
    } catch (e) {
      error = e;
    }
    expect(performance.now() - started).toBeLessThan(5000);
    expect(error, 'it must throw').toBeInstanceOf(errorClass);
    expect((error as Error).message).toContain(names);
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** Runs the CLI in-process, capturing what it prints. */
async function cli(...args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((m: string) => void err.push(m));
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  try {
    const code = await main(args, () => {});
    return { code, err: err.join('\n') };
  } finally {
    spy.mockRestore();
    warn.mockRestore();
  }
}

/** [the arguments (OUT stands for a fresh run folder), the exit code, what the error line says]. */
type CliCase = [string[], number, RegExp];
const TRAIN = ['train', '--data', '8gaussians', '--out', 'OUT'];
const CLI_CASES: CliCase[] = [
  [['fly'], 2, /^cnfkit: unknown command 'fly'; commands: train, eval, sample, plot/],
  [['train', '--out', 'OUT'], 2, /--data is required/],
  [['train', '--data', '8gaussians'], 2, /--out is required/],
  [['train', '--data', 'spiral', '--out', 'OUT'], 2, /--data must be one of/],
  [[...TRAIN, '--iterations', '0'], 2, /--iterations must be a positive integer \(at most 2\^53\), but got '0'/],
  [[...TRAIN, '--iterations', '1e9.5'], 2, /--iterations must be a positive integer/],
  [[...TRAIN, '--lr', '-1'], 2, /--lr must be a positive number, but got '-1'/],
  [[...TRAIN, '--lr', 'fast'], 2, /--lr must be a positive number, but got 'fast'/],
  [[...TRAIN, '--lr'], 2, /--lr needs a value/],
  [[...TRAIN, '--weight-decay', '-0.1'], 2, /--weight-decay must be a non-negative number/],
  [[...TRAIN, '--sigma', '-1'], 2, /--sigma must be a non-negative number/],
  [[...TRAIN, '--batch-size', '0'], 2, /--batch-size must be a positive integer/],
  [[...TRAIN, '--checkpoint-every', '-5'], 2, /--checkpoint-every must be a positive integer/],
  [[...TRAIN, '--hidden', '8,x'], 2, /--hidden must be comma-separated positive integers, but got '8,x'/],
  [[...TRAIN, '--objective', 'gan'], 2, /--objective must be one of maximum-likelihood, flow-matching/],
  [[...TRAIN, '--colour', 'red'], 2, /unknown option --colour/],
  [[...TRAIN, 'extra'], 2, /unexpected argument 'extra'/],
  [['train', '--data', '8gaussians', '--out', 'FILE/run'], 2, /--out .*a-file\/run cannot be created: .*a-file is a file, not a folder/],
  [['train', '--data', '8gaussians', '--out', '/proc/cnfkit-run'], 2, /--out \/proc\/cnfkit-run is inside the proc filesystem/],
  [['train', '--out', 'OUT', '--resume'], 1, /cannot resume: .* holds no checkpoint/],
  [['eval', '--model', 'OUT'], 2, /--model .* holds no model/],
  [['eval'], 2, /--model is required/],
  [['sample', '--model', 'OUT', '--n', '0', '--out', 'x.csv'], 2, /--n must be a positive integer/],
  [['plot', '--model', 'OUT', '--data', 'spiral'], 2, /--data must be one of/],
];

describe('bad input through the CLI', () => {
  it.each(CLI_CASES)('cnfkit %j', async (args, code, message) => {
    const out = mkdtempSync(join(tmp, 'run-'));
    rmSync(out, { recursive: true });
    const argv = args.map((a) => a.replace('OUT', out).replace('FILE', join(tmp, 'a-file')));
    const before = tf.memory().numTensors;
    const started = performance.now();
    const r = await cli(...argv);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(message);
    // One line on what is wrong and, for usage errors, one on where help is: no screen of usage.
    expect(r.err.split('\n').length).toBeLessThanOrEqual(2);
    if (code === 2 && args[0] !== 'fly') expect(r.err).toMatch(/run 'cnfkit \w+ --help' for its options$/);
    // Nothing was written for a run that never started.
    expect(existsSync(out)).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a garbage run.json does not stop eval from naming the fix', async () => {
    const run = join(tmp, 'garbage-run');
    mkdirSync(join(run, 'model'), { recursive: true });
    await t.flow.save(join(run, 'model'));
    writeFileSync(join(run, 'run.json'), '{ not json');
    const r = await cli('eval', '--model', run);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/run.json is not valid JSON .*; pass --data/);
  });
});
