/**
 * A continuous normalizing flow (Chen et al. 2018; FFJORD, Grathwohl et al. 2019): blocks of
 * dx/dt = F(t, x) from data (t = 0) to the base N(0, I) (t = T), with
 *   log p(x) = log N(z(T)) + ∫₀ᵀ tr(∂F/∂x(t)) dt,
 * the trace from forward-mode tangents (exact or Hutchinson) and gradients from the adjoint.
 * Longer than most files: it is the public class, each method with its documented example and its
 * async form (sync and async share one generator per solve, see ode/host_reads.ts); its options are
 * in cnf_options.ts, chunking in chunks.ts, sampling with densities in sampling.ts, the tape-free
 * likelihood gradients in likelihood_grads.ts.
 */
import { shownValue } from '../shown_value.js';
import * as tf from '@tensorflow/tfjs-core';
import { CnfkitError, ModelFileError, InputError, rejectUnknownOptions } from '../errors.js';
import { checkLocation, describeLocation, readModel, writeModel, type ModelLocation } from '../io/model_store.js';
import { assignValues } from '../nn/assign_values.js';
import { DynamicsNet } from '../nn/dynamics_net.js';
import { VjpDynamics } from '../nn/vjp_dynamics.js';
import type { BackwardSettings, StepMemory } from '../ode/adjoint_core.js';
import { resolveOdeintOptions, type ResolvedOdeintOptions } from '../ode/options.js';
import { addStats, createStats, type OdeStats } from '../ode/stats.js';
import { sumOf } from '../ode/state.js';
import { Rng, checkSeed } from '../random.js';
import { yieldToEventLoop } from '../event_loop.js';
import { standardNormalLogProb, standardNormalSample } from './base.js';
import { CnfBlock } from './block.js';
import { checkPointValues, checkPoints, checkPointsShape } from '../input_points.js';
import { noReads, read, readNumber, runAsync, runSync, type Reads } from '../ode/host_reads.js';
import { negativeLogLikelihoodGrads } from './likelihood_grads.js';
import { chunkRows, named, solveInChunks } from './chunks.js';
import { logScale, toDataSpace, toFlowSpace, toFlowSpaceInPlace } from './standardize.js';
import { samplesWithLogProb } from './sampling.js';
import { MAX_TENSOR_FLOATS, checkLayerSizes, checkLogProbOptions, resolveCnfOptions, savedCnfOptions, type CnfOptions, type LogProbOptions, type LogProbTerms, type ResolvedCnfOptions, type SamplesWithLogProb, type SaveOptions, type Trajectory } from './cnf_options.js';
import { fitFlow } from '../train/fit.js';
import type { FitOptions, FitReport, TrainingData } from '../train/fit_options.js';
import type { TrainableFlow } from '../train/trainable_flow.js';
import { DEFAULT_MAX_PARAMETERS, savedFlowWeights } from './saved_flow.js';
import { batchTangents, type BatchTangents } from './trace.js';

/**
 * A continuous normalizing flow on `dim`-dimensional data with a standard normal base.
 *
 * @example
 * ```ts
 * const flow = new CNF({ dim: 2, hiddenDims: [16, 16] });
 * const x = tf.tensor2d([[0.5, -1], [2, 0]]);
 * flow.logProb(x).print();          // log-density in nats, one per row
 * flow.sample(3, 1).print();        // three samples, seed 1
 * flow.dispose();
 * ```
 * @see Grathwohl et al., FFJORD: Free-form Continuous Dynamics for Scalable Reversible Generative Models (ICLR 2019)
 */
export class CNF {
  /** The resolved options (every default filled in). */
  readonly options: ResolvedCnfOptions;
  private readonly blocks: CnfBlock[];
  /** Writes the weights in from where training holds them (the wasm kernels), before anything reads them. */
  private pendingWeights?: () => void;

  /**
   * @param options - the flow's shape, trace and solver; see {@link CnfOptions}
   * @throws InputError for an unknown or invalid option
   */
  constructor(options: CnfOptions) {
    this.options = resolveCnfOptions(options);
    const o = this.options;
    if (!o.dynamics) checkLayerSizes('new CNF', o);
    const rng = new Rng(o.seed);
    this.blocks = Array.from({ length: o.blocks }, () => {
      const net = o.dynamics ? new VjpDynamics(o.dynamics) : new DynamicsNet({ dim: o.dim, hiddenDims: o.hiddenDims, activation: o.activation, layer: o.layer, ...(o.fieldTime === 'flow-matching' ? { timeMap: { scale: -1 / o.T, shift: 1 } } : {}) }, rng);
      return new CnfBlock(net, o.T, o.trainT);
    });
  }

  /** Every trainable variable, with a stable name (`block0.layer1.W`, `block0.sqrtT`, …). */
  namedVariables(): [string, tf.Variable][] {
    this.syncWeights();
    return this.blocks.flatMap((b, i) => b.namedVariables(`block${i}`));
  }

  /** Every trainable variable (network weights, and √T of each block when T is trained). */
  get trainableVariables(): tf.Variable[] {
    return this.namedVariables().map(([, v]) => v);
  }

  /** The integration time T of each block. */
  endTimes(): number[] {
    this.checkAlive('CNF.endTimes');
    return this.blocks.map((b) => b.endTime());
  }

  /**
   * log p(x) in nats, one per row: log N(z(T)) + ∫₀ᵀ tr(∂F/∂x) dt over every block. Differentiable
   * w.r.t. x and every trainable variable (by the adjoint method).
   * @param x - points [B, dim]
   * @param options - the trace (exact by default) and statistics; see {@link LogProbOptions}
   * @returns [B]
   * @throws InputError when x is not a finite float32 [B, dim] tensor
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8] });
   * const x = tf.tensor2d([[0, 1], [2, -1]]);
   * const exact = flow.logProb(x);                                       // [2]
   * const estimate = flow.logProb(x, { trace: 'hutchinson', seed: 3 }); // unbiased, noisier
   * flow.dispose();
   * ```
   * @see Chen et al. 2018, Theorem 1 (instantaneous change of variables)
   */
  logProb(x: tf.Tensor2D, options: LogProbOptions = {}): tf.Tensor1D {
    checkLogProbOptions('CNF.logProb', options);
    const terms = this.terms('CNF.logProb', x, { ...options, trace: options.trace ?? 'exact' }, new Rng(options.seed ?? 0), false);
    return terms.logProb;
  }

  /**
   * {@link logProb} with its host reads awaited: the same solver steps and values, on every backend
   * (WebGPU included) and without blocking a page. Not differentiable (a gradient tape cannot span
   * an await); train with {@link fit}.
   * @param x - points [B, dim]
   * @param options - as for {@link logProb} (`trace`, `seed`, `stats`)
   * @returns a promise of log p(x) [B]
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8] });
   * const logp = await flow.logProbAsync(tf.tensor2d([[0, 1]]));   // equals flow.logProb(...)
   * flow.dispose();
   * ```
   */
  async logProbAsync(x: tf.Tensor2D, options: LogProbOptions = {}): Promise<tf.Tensor1D> {
    const fn = 'CNF.logProbAsync';
    checkLogProbOptions(fn, options);
    checkPointsShape(fn, 'x', x, this.options.dim);
    return fairly(this.logProbSteps(fn, x, options));
  }

  /**
   * log p(x) with RNODE's integrals ∫‖F‖² dt and ∫‖∂F/∂x‖²_F dt where the flow regularises them
   * (`kineticEnergy`, `jacobianNorm` > 0): what maximum-likelihood training minimises. The trace
   * defaults to the flow's `trace` option, as in training.
   * @param x - points [B, dim]
   * @param options - the trace, its seed and statistics; see {@link LogProbOptions}
   * @returns log p and, when regularised, the integrals, each [B]
   * @throws InputError when x is not a finite float32 [B, dim] tensor
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8], kineticEnergy: 0.1 });
   * const { logProb, kinetic } = flow.logProbTerms(tf.tensor2d([[0, 1]]));
   * console.log(logProb.shape, kinetic!.shape);   // [1] [1]
   * flow.dispose();
   * ```
   * @see Finlay et al., How to train your neural ODE (ICML 2020)
   */
  logProbTerms(x: tf.Tensor2D, options: LogProbOptions = {}): LogProbTerms {
    checkLogProbOptions('CNF.logProbTerms', options);
    return this.terms('CNF.logProbTerms', x, options, new Rng(options.seed ?? 0), true);
  }

  /**
   * log p(x) and the regularisers' integrals, after the point checks; a large batch chunk by chunk
   * (flows/chunks.ts), its statistics added up over the chunks. Training's minibatches (`memory`
   * given) are solved whole: their size is the caller's batchSize, as on the tape-free path.
   */
  private terms(fn: string, x: tf.Tensor2D, options: LogProbOptions, rng: Rng, withRegularisers: boolean, memory?: readonly StepMemory[]): LogProbTerms {
    this.checkAlive(fn);
    this.syncWeights();
    checkPoints(fn, 'x', x, this.options.dim);
    const size = memory ? x.shape[0] : chunkRows(this.options, this.tangentCount(options.trace));
    const stats = options.stats ?? createStats();
    const tangents = batchTangents(options.trace ?? this.options.trace, this.options.noise, this.options.dim, this.blocks.length, rng);
    return tf.tidy(() => {
      Object.assign(stats, createStats());
      const chunkTerms = (chunk: tf.Tensor2D) => {
        const chunkStats = createStats();
        // Each chunk in its own tidy: its tangents and solver intermediates go before the next chunk
        // (under the outer tidy alone they piled up, memory growing with the batch whatever the
        // memoryLimit). A tape keeps what its backward pass needs (tfjs saves its own copies).
        const part = tf.tidy(() => this.integrateLogProb(chunk, { ...options, stats: chunkStats }, tangents, withRegularisers, memory) as unknown as tf.TensorContainer) as unknown as LogProbTerms;
        addStats(stats, chunkStats);
        return noReads(part);
      };
      // The flow works on standardised points (flows/standardize.ts); log p is reported for x.
      const terms = runSync(fn, solveInChunks(toFlowSpace(x, this.options.standardize), size, chunkTerms));
      if (this.options.standardize) terms.logProb = tf.sub(terms.logProb, logScale(this.options.standardize)) as tf.Tensor1D;
      return terms as unknown as tf.TensorContainer;
    }) as unknown as LogProbTerms;
  }

  /** Tangent vectors a trace carries: dim for the exact trace, one for Hutchinson's. */
  private tangentCount(trace: LogProbOptions['trace']): number {
    return (trace ?? this.options.trace) === 'exact' ? this.options.dim : 1;
  }

  private integrateLogProb(x: tf.Tensor2D, options: LogProbOptions, tangents: BatchTangents, withRegularisers: boolean, memory?: readonly StepMemory[]): LogProbTerms {
    const stats = options.stats ?? createStats();
    const backwardStats = options.backwardStats ?? createStats();
    Object.assign(stats, createStats());
    const terms = { kinetic: withRegularisers && this.options.kineticEnergy > 0, jacobian: withRegularisers && this.options.jacobianNorm > 0 };
    const [rows, dim] = x.shape;
    let z: tf.Tensor = x;
    const deltas: tf.Tensor[] = [];
    const kinetic: tf.Tensor[] = [];
    const jacobian: tf.Tensor[] = [];
    const forward = this.forwardOptions();
    const backward: BackwardSettings = { ...forward, stats: backwardStats, seminorm: true };
    for (const [b, block] of this.blocks.entries()) {
      const v = tangents(b, rows);
      const blockStats = createStats();
      const parts = block.integrateJoint(z as tf.Tensor2D, v, terms, forward, backward, blockStats, memory?.[b]);
      addStats(stats, blockStats);
      z = parts[0].reshape([rows, dim]);
      deltas.push(parts[1]);
      if (terms.kinetic) kinetic.push(parts[2]);
      if (terms.jacobian) jacobian.push(parts[terms.kinetic ? 3 : 2]);
    }
    // dℓ/dt = −tr, so log p(x) = log N(z) − Σ ℓ(T).
    const sum = (ts: tf.Tensor[]) => sumOf(ts) as tf.Tensor1D;
    const result: LogProbTerms = { logProb: tf.sub(standardNormalLogProb(z as tf.Tensor2D), sum(deltas)) as tf.Tensor1D };
    if (terms.kinetic) result.kinetic = sum(kinetic);
    if (terms.jacobian) result.jacobian = sum(jacobian);
    return result;
  }

  /** Runs a deferred weight write (training on the kernels holds newer weights than the variables). */
  private syncWeights(): void {
    const write = this.pendingWeights;
    this.pendingWeights = undefined;
    write?.();
  }

  /** What training needs of this flow (train/ works on this interface and never imports flows/). */
  private trainingView(): TrainableFlow {
    const blocks = this.blocks;
    const single = blocks.length === 1 ? blocks[0] : undefined;
    const { kineticEnergy, jacobianNorm, dim } = this.options;
    const stepMemory: StepMemory[] = blocks.map(() => ({}));
    return {
      dim,
      variables: this.trainableVariables,
      stepMemory,
      endTimes: function* (this: void) {
        const times: number[] = [];
        for (const block of blocks) times.push(yield* block.endTimeSteps());
        return times;
      },
      negativeLogLikelihood: (batch, rng, stats, backwardStats) => {
        const terms = this.terms('CNF.fit', batch, { stats, backwardStats }, rng, true, stepMemory);
        let loss = tf.neg(tf.mean(terms.logProb));
        if (terms.kinetic) loss = tf.add(loss, tf.mul(kineticEnergy, tf.mean(terms.kinetic)));
        if (terms.jacobian) loss = tf.add(loss, tf.mul(jacobianNorm, tf.mean(terms.jacobian)));
        return loss as tf.Scalar;
      },
      negativeLogLikelihoodGrads: (batch, rng, stats, backwardStats) => {
        this.syncWeights();
        const forward = this.forwardOptions();
        const { trace, noise, standardize } = this.options;
        return negativeLogLikelihoodGrads(blocks, { trace, noise, kineticEnergy, jacobianNorm, forward, backward: { ...forward, stats: backwardStats, seminorm: true }, standardize, stepMemory }, batch, rng, stats);
      },
      toFlowSpace: (values) => toFlowSpaceInPlace(values, this.options.standardize),
      regressionField: () =>
        kineticEnergy > 0 || jacobianNorm > 0
          ? { reason: "does not use this flow's kineticEnergy and jacobianNorm (RNODE's regularisers of the likelihood): train by 'maximum-likelihood', or make the flow without them" }
          : single
            ? { net: single.net, endTime: () => single.endTimeSteps() }
            : { reason: `trains one block, but the flow has ${this.blocks.length}` },
      holdWeights: (write) => (this.pendingWeights = write),
      meanNll: (x) => this.meanNllSteps(x),
      readWeights: () => this.readWeightsSteps(),
      writeWeights: (values) => this.trainableVariables.forEach((v, i) => assignValues(v, values[i])),
    };
  }

  /**
   * The flow map: x at t = 0 to z at t = T through every block (no trace).
   * @param x - points [B, dim]
   * @returns z [B, dim]
   * @throws InputError when x is not a finite float32 [B, dim] tensor
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8] });
   * const x = tf.tensor2d([[0.5, -1]]);
   * const back = flow.fromLatent(flow.toLatent(x));   // ≈ x, up to the solver tolerance
   * flow.dispose();
   * ```
   */
  toLatent(x: tf.Tensor2D): tf.Tensor2D {
    checkPointsShape('CNF.toLatent', 'x', x, this.options.dim);
    return runSync('CNF.toLatent', this.transportSteps('CNF.toLatent', x, false));
  }

  /**
   * {@link toLatent} with its host reads awaited: the same steps and result, on every backend
   * (WebGPU included) and without blocking a page.
   * @param x - data points [B, dim]
   * @returns a promise of z [B, dim]
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8] });
   * const z = await flow.toLatentAsync(tf.tensor2d([[0.5, -1]]));   // = flow.toLatent(...), to the bit
   * flow.dispose();
   * ```
   */
  async toLatentAsync(x: tf.Tensor2D): Promise<tf.Tensor2D> {
    checkPointsShape('CNF.toLatentAsync', 'x', x, this.options.dim);
    return fairly(this.transportSteps('CNF.toLatentAsync', x, false));
  }

  /**
   * The inverse flow map: z at t = T back to x at t = 0 through every block, in reverse.
   * @param z - latent points [B, dim]
   * @returns x [B, dim]
   * @throws InputError when z is not a finite float32 [B, dim] tensor
   */
  fromLatent(z: tf.Tensor2D): tf.Tensor2D {
    checkPointsShape('CNF.fromLatent', 'z', z, this.options.dim);
    return runSync('CNF.fromLatent', this.transportSteps('CNF.fromLatent', z, true));
  }

  /**
   * {@link fromLatent} with its host reads awaited (every backend, WebGPU included).
   * @param z - latent points [B, dim]
   * @returns a promise of x [B, dim]
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8] });
   * const x = await flow.fromLatentAsync(tf.tensor2d([[0.1, 0.2]]));
   * flow.dispose();
   * ```
   */
  async fromLatentAsync(z: tf.Tensor2D): Promise<tf.Tensor2D> {
    checkPointsShape('CNF.fromLatentAsync', 'z', z, this.options.dim);
    return fairly(this.transportSteps('CNF.fromLatentAsync', z, true));
  }

  /**
   * The path of latent points back to data space: the states at `frames` equally spaced times of
   * each block, from the base (first) to the data (last). With a `standardize` option every state,
   * the first included, is mapped to data space (u·std + mean), so the path is drawn in x's units.
   * @param z - latent points [B, dim]
   * @param frames - states per block, at least 2
   * @returns the times (descending within each block) and the states [frames·blocks, B, dim]
   * @throws InputError for bad points or frames < 2
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8] });
   * const { times, states } = flow.trajectory(tf.randomNormal([100, 2]) as tf.Tensor2D, 5);
   * console.log(times, states.shape);   // [0.5, 0.375, 0.25, 0.125, 0], [5, 100, 2]
   * flow.dispose();
   * ```
   */
  trajectory(z: tf.Tensor2D, frames = 6): Trajectory {
    this.checkAlive('CNF.trajectory');
    this.syncWeights();
    checkPoints('CNF.trajectory', 'z', z, this.options.dim);
    if (!Number.isInteger(frames) || frames < 2) throw new InputError('CNF.trajectory', 'frames', `must be an integer ≥ 2, but got ${frames}`);
    const forward = this.forwardOptions();
    const stats = createStats();
    const times: number[] = [];
    const states: tf.Tensor[] = [];
    let y: tf.Tensor2D = z;
    for (const block of [...this.blocks].reverse()) {
      const path = block.path(y, frames, forward, stats);
      times.push(...path.times);
      states.push(...path.states);
      y = path.states[frames - 1];
    }
    const s = this.options.standardize;
    // The states in data space (with a standardisation: u·std + mean).
    const stacked = tf.tidy(() => {
      const all = tf.stack(states);
      return (s ? tf.add(tf.mul(all, tf.tensor1d(s.std)), tf.tensor1d(s.mean)) : all) as tf.Tensor3D;
    });
    tf.dispose(states);
    return { times, states: stacked };
  }

  /**
   * n samples: z ~ N(0, I) drawn with `seed`, mapped by {@link fromLatent}.
   * @param n - how many
   * @param seed - the same seed gives the same samples
   * @returns [n, dim]
   * @throws InputError when n is not a positive integer
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8] });
   * const a = flow.sample(100, 1);
   * const b = flow.sample(100, 1);   // identical to a
   * flow.dispose();
   * ```
   */
  sample(n: number, seed = 0): tf.Tensor2D {
    this.checkAlive('CNF.sample');
    checkSampleCount('CNF.sample', n, this.options.dim);
    checkSeed('CNF.sample', 'seed', seed);
    const z = standardNormalSample(n, this.options.dim, new Rng(seed));
    try {
      return runSync('CNF.sample', this.transportSteps('CNF.sample', z, true));
    } finally {
      z.dispose();
    }
  }

  /**
   * {@link sample} with its host reads awaited (every backend, WebGPU included): the same samples.
   * @param n - how many
   * @param seed - the same seed gives the same samples
   * @returns a promise of [n, dim]
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8] });
   * const samples = await flow.sampleAsync(100, 1);   // = flow.sample(100, 1)
   * flow.dispose();
   * ```
   */
  async sampleAsync(n: number, seed = 0): Promise<tf.Tensor2D> {
    this.checkAlive('CNF.sampleAsync');
    checkSampleCount('CNF.sampleAsync', n, this.options.dim);
    checkSeed('CNF.sampleAsync', 'seed', seed);
    const z = standardNormalSample(n, this.options.dim, new Rng(seed));
    try {
      return await fairly(this.transportSteps('CNF.sampleAsync', z, true));
    } finally {
      z.dispose();
    }
  }

  /**
   * n samples and their log-densities from one solve: z ~ N(0, I) drawn with `seed` (the same z as
   * {@link sample}) and carried back to data space together with the trace, so that
   * log p(x) = log N(z) + ∫ tr(∂F/∂x) dt needs no second solve from x. Large n go in chunks.
   * @param n - how many
   * @param seed - the same seed gives the same samples
   * @returns the samples [n, dim] and log p of each [n] (exact trace)
   * @throws InputError when n is not a positive integer
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8] });
   * const { samples, logProb } = flow.sampleWithLogProb(100, 1);   // logProb ≈ flow.logProb(samples)
   * console.log(samples.shape, logProb.shape);   // [100, 2] [100]
   * flow.dispose();
   * ```
   */
  sampleWithLogProb(n: number, seed = 0): SamplesWithLogProb {
    return runSync('CNF.sampleWithLogProb', this.sampleWithLogProbSteps('CNF.sampleWithLogProb', n, seed));
  }

  /**
   * {@link sampleWithLogProb} with its host reads awaited (every backend, WebGPU included).
   * @param n - how many
   * @param seed - the same seed gives the same samples
   * @returns a promise of the samples [n, dim] and log p of each [n]
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8] });
   * const { samples, logProb } = await flow.sampleWithLogProbAsync(100, 1);
   * flow.dispose();
   * ```
   */
  async sampleWithLogProbAsync(n: number, seed = 0): Promise<SamplesWithLogProb> {
    return fairly(this.sampleWithLogProbSteps('CNF.sampleWithLogProbAsync', n, seed));
  }

  /**
   * {@link fromLatent} and the log-densities of its results from the same solve (as
   * {@link sampleWithLogProb} does for latents it draws): for latents you drew, e.g. a slice of a
   * larger sample written out in pieces.
   * @param z - latent points [n, dim]
   * @returns a promise of x [n, dim] and log p(x) [n] (exact trace)
   * @throws InputError when z is not [n, dim] float32 with finite values
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8] });
   * const z = tf.randomNormal([50, 2]) as tf.Tensor2D;
   * const { samples, logProb } = await flow.fromLatentWithLogProbAsync(z);   // samples = fromLatent(z)
   * flow.dispose();
   * ```
   */
  async fromLatentWithLogProbAsync(z: tf.Tensor2D): Promise<SamplesWithLogProb> {
    this.checkAlive('CNF.fromLatentWithLogProbAsync');
    checkPointsShape('CNF.fromLatentWithLogProbAsync', 'z', z, this.options.dim);
    const steps = this.latentsWithLogProbSteps.bind(this);
    return fairly(
      (function* () {
        yield* checkPointValues('CNF.fromLatentWithLogProbAsync', 'z', z);
        return yield* steps(z);
      })(),
    );
  }

  private *sampleWithLogProbSteps(fn: string, n: number, seed: number): Reads<SamplesWithLogProb> {
    this.checkAlive(fn);
    checkSampleCount(fn, n, this.options.dim);
    checkSeed(fn, 'seed', seed);
    const z = standardNormalSample(n, this.options.dim, new Rng(seed));
    try {
      return yield* this.latentsWithLogProbSteps(z);
    } finally {
      z.dispose();
    }
  }

  private *latentsWithLogProbSteps(z: tf.Tensor2D): Reads<SamplesWithLogProb> {
    this.syncWeights();
    const stats = createStats();
    const s = this.options.standardize;
    const { samples, logProb } = yield* solveInChunks(z, chunkRows(this.options, this.options.dim), (chunk) => samplesWithLogProb(this.blocks, chunk, this.options.noise, this.forwardOptions(), stats));
    if (!s) return { samples, logProb };
    const shifted = tf.tidy(() => tf.sub(logProb, logScale(s))) as tf.Tensor1D;
    logProb.dispose();
    return { samples: toDataSpace(samples, s), logProb: shifted };
  }

  /**
   * Trains by maximum likelihood: Adam on −mean log p(batch) (plus RNODE's regularisers when set),
   * gradients by the adjoint method; or by flow matching (`objective: 'flow-matching'`). See
   * {@link FitOptions}.
   * @param data - points [N, dim], or a sampler (batchSize, iteration) => points
   * @param options - iterations, batch size, learning rate, objective, checkpoints; see {@link FitOptions}
   * @returns the loss, evaluations and time of every iteration
   * @throws InputError for bad data or options, or when training diverges
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [16] });
   * const data = toyData('moons', 2000, 0);
   * const ml = await flow.fit(data, { iterations: 2, batchSize: 64 });   // maximum likelihood
   * const fm = await flow.fit(data, { iterations: 5, objective: 'flow-matching', coupling: 'ot' });
   * console.log(ml.history[1].nfeForward, fm.history.length);
   * flow.dispose();
   * ```
   * @see Grathwohl et al. 2019 (FFJORD); Lipman et al. 2023 and Tong et al. 2023 (flow matching)
   */
  async fit(data: TrainingData, options: FitOptions): Promise<FitReport> {
    this.checkAlive('CNF.fit');
    if (!this.blocks.every((b) => b.net.supportsTraining)) {
      throw new CnfkitError('CNF.fit: a flow with custom dynamics cannot be trained (its trace would need second derivatives); use the built-in networks');
    }
    return fitFlow('CNF.fit', this.trainingView(), data, options);
  }

  /**
   * Saves the flow as tf.io model artifacts (`model.json` with the options and a weights manifest,
   * and `weights.bin`, float32), to a folder in Node, to a tf.io URL, or through a tf.io handler:
   * - a folder path or `file://` URL (Node): a new folder, or one holding only a cnfkit model, is
   *   replaced atomically (a crash never leaves a half-written model). Saving never deletes a file it
   *   did not write: a folder holding anything else is refused, unless `overwrite` is set (then only
   *   `model.json` and `weights.bin` are replaced there);
   * - `indexeddb://name`, `localstorage://name`, `downloads://name` (a page), `http(s)://…` (tf.io's
   *   POST of the files);
   * - a `tf.io.IOHandler`, e.g. `tf.io.withSaveHandler(async (artifacts) => …)`.
   * @param target - where to save (see above)
   * @param options - `overwrite: true` to write into a folder that holds other files
   * @throws ModelFileError, before anything is written, when a folder cannot be written (a file in the
   *   way, a read-only or pseudo filesystem) or holds other files, or the handler fails;
   *   CnfkitError for a flow with custom dynamics
   * @example
   * ```ts
   * const flow = new CNF({ dim: 2, hiddenDims: [8] });
   * await flow.save('runs/doc-model');                  // runs/doc-model/model.json, weights.bin
   * const loaded = await CNF.load('runs/doc-model');    // same logProb, bit for bit
   * flow.dispose();
   * loaded.dispose();
   * ```
   */
  async save(target: ModelLocation, options: SaveOptions = {}): Promise<void> {
    const fn = 'CNF.save';
    this.checkAlive(fn);
    if (this.options.dynamics) throw new CnfkitError('CNF.save: a flow with custom dynamics cannot be saved (its function is code, not data)');
    checkLocation(fn, 'target', target);
    if (options === null || typeof options !== 'object' || (options.overwrite !== undefined && typeof options.overwrite !== 'boolean')) {
      throw new InputError(fn, 'options', `must be { overwrite?: boolean }, but got ${JSON.stringify(options)}`);
    }
    rejectUnknownOptions(fn, options, ['overwrite']);
    await writeModel(fn, target, {
      config: { kind: 'CNF', options: this.options },
      // Awaited reads: saving works on every backend, WebGPU included.
      weights: await Promise.all(this.namedVariables().map(async ([name, v]) => ({ name, shape: v.shape, values: (await v.data()) as Float32Array }))),
    }, options);
  }

  /**
   * Loads a flow saved by {@link CNF.save}; it gives the same `logProb` to the last bit. From a folder
   * (Node; also the `config.json` folders of cnfkit 0.2), a tf.io URL (`indexeddb://name`,
   * `localstorage://name`, `http(s)://…/model.json`), or a tf.io handler (in a page,
   * `tf.io.browserFiles([jsonFile, weightsFile])` for files the user picked).
   *
   * A model file is untrusted input: before anything is allocated (and, over http, before the weights
   * are fetched), the config's checksum is verified and its options are checked and must make exactly
   * the weights the manifest lists (names, shapes, at most `maxParameters` of them), and the weight
   * data must have their size; then the weights' checksum and that every weight is finite.
   * @param source - where to load from (see above)
   * @param options - `maxParameters`: the most parameters a loaded flow may have (default 10⁸);
   *   `memoryLimit`: this machine's cap on a solve's memory (default: the one saved with the model,
   *   which is the training machine's; see {@link CnfOptions.memoryLimit}); `signal`: an AbortSignal
   *   that stops an http(s) load, e.g. `AbortSignal.timeout(30_000)` (fetch itself has no time limit)
   * @returns the flow
   * @throws ModelFileError naming the folder, file or URL, the field and the problem when it is
   *   missing, corrupt, edited, too large or not a CNF
   */
  static async load(source: ModelLocation, options: { maxParameters?: number; memoryLimit?: number; signal?: AbortSignal } = {}): Promise<CNF> {
    const fn = 'CNF.load';
    checkLocation(fn, 'source', source);
    if (options === null || typeof options !== 'object') throw new InputError(fn, 'options', `must be { maxParameters?, memoryLimit?, signal? }, but got ${String(options)}`);
    rejectUnknownOptions(fn, options, ['maxParameters', 'memoryLimit', 'signal']);
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new InputError(fn, 'options.signal', `must be an AbortSignal (new AbortController().signal, AbortSignal.timeout(ms)), but got ${shownValue(options.signal)}`);
    const maxParameters = options.maxParameters ?? DEFAULT_MAX_PARAMETERS;
    if (!(Number.isSafeInteger(maxParameters) && maxParameters > 0)) throw new InputError(fn, 'options.maxParameters', `must be a positive integer, but got ${shownValue(maxParameters)}`);
    // Checked before anything is read (the flow's own check would name new CNF).
    if (options.memoryLimit !== undefined) resolveCnfOptions({ dim: 1, memoryLimit: options.memoryLimit }, fn);
    const files = await readModel(fn, source, (config) => savedFlowWeights(config, 'CNF', maxParameters), options.signal);
    const dir = describeLocation(source);
    const saved = savedCnfOptions(files.config.options as CnfOptions);
    const flow = new CNF(options.memoryLimit !== undefined ? { ...saved, memoryLimit: options.memoryLimit } : saved);
    const variables = new Map(flow.namedVariables());
    if (variables.size !== files.weights.length) {
      flow.dispose();
      throw new ModelFileError(fn, dir, `has ${files.weights.length} weights, but its options make ${variables.size}`);
    }
    for (const { name, shape, values } of files.weights) {
      const v = variables.get(name);
      if (!v || v.shape.join() !== shape.join()) {
        flow.dispose();
        throw new ModelFileError(fn, dir, `has weight '${name}' [${shape}], which does not fit the model its options make`);
      }
      assignValues(v, values);
    }
    return flow;
  }

  /** Frees every variable the flow created (not those of custom dynamics, which the caller owns). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pendingWeights = undefined;
    for (const block of this.blocks) block.dispose();
  }

  private disposed = false;

  /** A disposed flow's weights are gone: say so, rather than tfjs's "Tensor is disposed". */
  private checkAlive(fn: string): void {
    if (this.disposed) throw new CnfkitError(`${fn}: this flow was disposed (flow.dispose()); make or load a new one`);
  }

  /** −mean log p(x), exact trace, no gradient: the validation NLL of fit; reads yielded. */
  private *meanNllSteps(x: tf.Tensor2D): Reads<number> {
    const logp = yield* this.logProbSteps('CNF.fit', x, { trace: 'exact' });
    return -(yield* readNumber(tf.tidy(() => {
      const mean = tf.mean(logp);
      logp.dispose();
      return mean;
    })));
  }

  /** Copies of the variables' values (held newer weights first written back); reads yielded. */
  private *readWeightsSteps(): Reads<Float32Array[]> {
    const values: Float32Array[] = [];
    for (const v of this.trainableVariables) values.push((yield* read(v.clone())) as Float32Array);
    return values;
  }

  /**
   * The flow map (or its inverse) through every block, after the finiteness check; reads yielded.
   * Large batches go chunk by chunk (flows/chunks.ts).
   */
  private *transportSteps(fn: string, x: tf.Tensor2D, inverse: boolean): Reads<tf.Tensor2D> {
    this.checkAlive(fn);
    this.syncWeights();
    yield* checkPointValues(fn, inverse ? 'z' : 'x', x);
    const s = this.options.standardize;
    // Data points enter standardised; points leaving for data space are mapped back.
    const input = inverse ? x : toFlowSpace(x, s);
    try {
      const y = (yield* solveInChunks(input, chunkRows(this.options, 0), (chunk) => named('y', this.chunkTransportSteps(chunk, inverse)))).y;
      return inverse ? toDataSpace(y, s) : y;
    } finally {
      if (input !== x) input.dispose();
    }
  }

  /** One chunk of {@link transportSteps}. */
  private *chunkTransportSteps(x: tf.Tensor2D, inverse: boolean): Reads<tf.Tensor2D> {
    const forward = this.forwardOptions();
    const stats = createStats();
    let y = x;
    let completed = false;
    try {
      for (const block of inverse ? [...this.blocks].reverse() : this.blocks) {
        const next = yield* block.transportSteps(y, inverse, forward, stats);
        if (y !== x) y.dispose();
        y = next;
      }
      completed = true;
    } finally {
      if (!completed && y !== x) y.dispose();
    }
    return y;
  }

  /**
   * log p(x) without the adjoint (not differentiable), its reads yielded: {@link logProbAsync}.
   * Large batches go chunk by chunk (flows/chunks.ts).
   */
  private *logProbSteps(fn: string, x: tf.Tensor2D, options: LogProbOptions): Reads<tf.Tensor1D> {
    this.checkAlive(fn);
    this.syncWeights();
    yield* checkPointValues(fn, 'x', x);
    const stats = options.stats ?? createStats();
    Object.assign(stats, createStats());
    const rng = new Rng(options.seed ?? 0);
    // logProb's trace: exact unless asked (the flow's own trace is for training).
    const trace = options.trace ?? 'exact';
    options = { ...options, trace };
    const chunked = options;
    const s = this.options.standardize;
    const u = toFlowSpace(x, s);
    try {
      const tangents = batchTangents(trace, this.options.noise, this.options.dim, this.blocks.length, rng);
      const logProb = (yield* solveInChunks(u, chunkRows(this.options, this.tangentCount(trace)), (chunk) => named('logProb', this.chunkLogProbSteps(chunk, chunked, tangents, stats)))).logProb;
      if (!s) return logProb;
      const shifted = tf.tidy(() => tf.sub(logProb, logScale(s))) as tf.Tensor1D;
      logProb.dispose();
      return shifted;
    } finally {
      if (u !== x) u.dispose();
    }
  }

  /** One chunk of {@link logProbSteps}; adds its evaluations to `stats`. */
  private *chunkLogProbSteps(x: tf.Tensor2D, options: LogProbOptions, tangents: BatchTangents, stats: OdeStats): Reads<tf.Tensor1D> {
    const forward = this.forwardOptions();
    const rows = x.shape[0];
    let z = x;
    let delta: tf.Tensor | undefined;
    try {
      for (const [b, block] of this.blocks.entries()) {
        const v = tangents(b, rows);
        const blockStats = createStats();
        let parts: tf.Tensor[];
        try {
          parts = yield* block.solveJointSteps(z, v, { kinetic: false, jacobian: false }, forward, blockStats);
        } finally {
          v.dispose();
        }
        addStats(stats, blockStats);
        if (z !== x) z.dispose();
        z = parts[0] as tf.Tensor2D;
        const previous = delta;
        delta = previous ? tf.add(previous, parts[1]) : parts[1];
        if (previous) tf.dispose([previous, parts[1]]);
      }
      // dℓ/dt = −tr, so log p(x) = log N(z) − Σ ℓ(T).
      const last = delta!;
      return tf.tidy(() => tf.sub(standardNormalLogProb(z), last) as tf.Tensor1D);
    } finally {
      if (z !== x) z.dispose();
      delta?.dispose();
    }
  }

  private forwardOptions(): ResolvedOdeintOptions {
    const { method, rtol, atol, stepSize, maxSteps } = this.options;
    return resolveOdeintOptions('CNF', { method, rtol, atol, maxSteps, ...(stepSize !== undefined ? { stepSize } : {}) });
  }

}

/**
 * The async forms' driver: the reads awaited, after one turn of the event loop. On host backends the
 * reads resolve on microtasks alone, so a loop awaiting these (a page redrawing its density) never let
 * a `fit` running beside it take its next iteration.
 */
async function fairly<T>(steps: Reads<T>): Promise<T> {
  await yieldToEventLoop();
  return runAsync(steps);
}

/** Checks the number of samples asked for: one tensor of n × dim floats must be able to hold them. */
function checkSampleCount(fn: string, n: unknown, dim: number): asserts n is number {
  if (!Number.isInteger(n) || (n as number) < 1) throw new InputError(fn, 'n', `must be a positive integer, but got ${typeof n === 'number' ? n : typeof n}`);
  if ((n as number) * dim > MAX_TENSOR_FLOATS) {
    throw new InputError(fn, 'n', `is ${n}: ${n} × ${dim} values are more than one tensor holds (2^29 floats, 2 GiB); draw them in batches with different seeds, or stream them with \`cnfkit sample\``);
  }
}

