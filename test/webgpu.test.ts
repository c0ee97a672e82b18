/**
 * cnfkit on WebGPU (tfjs's WebGPU backend on Dawn, in Node): the async forms give the CPU's numbers;
 * the sync forms, which cannot read there, say which async form to use. Runs where a WebGPU adapter
 * exists (a GPU, or Mesa's lavapipe, which `scripts/install_vulkan.sh` installs and CI requires with
 * CNFKIT_REQUIRE_WEBGPU=1); elsewhere it is skipped with a note.
 */
import { describe, expect, it } from 'vitest';
import { CNF, CnfkitError, METHODS, SOLVERS, backendInfo, odeint, odeintAdjoint, odeintAdjointGrads, odeintAsync, ready, tf, toyData, type MethodName } from '../src/index.js';

async function hasAdapter(): Promise<boolean> {
  const info = await ready({ backend: 'webgpu', verbose: false });
  const ok = info.name === 'webgpu';
  if (!ok && process.env.CNFKIT_REQUIRE_WEBGPU === '1') throw new Error(`CNFKIT_REQUIRE_WEBGPU=1, but WebGPU is unavailable: ${info.reason}`);
  if (!ok) console.warn(`test/webgpu.test.ts: skipped (${info.reason})`);
  await ready({ backend: 'wasm' });
  return ok;
}
const available = await hasAdapter();

describe.skipIf(!available)('cnfkit on WebGPU (Dawn in Node)', () => {
  it('odeintAsync solves on the GPU to the analytic solution; odeint says to use odeintAsync', async () => {
    await ready({ backend: 'webgpu' });
    try {
      expect(backendInfo().name).toBe('webgpu');
      const y0 = tf.tensor1d([1, 2]);
      const ys = await odeintAsync((_t, y) => tf.neg(y), y0, [0, 1], { rtol: 1e-6, atol: 1e-8 });
      const values = await ys.data();
      expect(Math.abs(values[2] - Math.exp(-1))).toBeLessThan(2e-6);
      expect(Math.abs(values[3] - 2 * Math.exp(-1))).toBeLessThan(4e-6);
      expect(() => odeint((_t, y) => tf.neg(y), y0, [0, 1])).toThrow(CnfkitError);
      expect(() => odeint((_t, y) => tf.neg(y), y0, [0, 1])).toThrow(/^odeint: the webgpu backend cannot read values synchronously here .*; use odeintAsync and await it$/);
      tf.dispose([y0, ys]);
    } finally {
      await ready({ backend: 'wasm' });
    }
  });

  it('odeintAsync with every method on the GPU gives the CPU\'s solution (float32 rounding apart)', async () => {
    const f = (t: tf.Scalar, y: tf.Tensor) => tf.tidy(() => tf.sub(tf.mul(tf.cos(t), y), tf.mul(0.2, tf.pow(y, 3))));
    const y0 = tf.tensor1d([0.5, -1.2, 2]);
    const options = (method: MethodName) => ({ method, ...(SOLVERS[method].adaptive ? { rtol: 1e-5, atol: 1e-7 } : { stepSize: 0.05 }) });
    const cpu = new Map(METHODS.map((m) => [m, Array.from(odeint(f, y0, [0, 0.5, 1], options(m)).dataSync())]));
    await ready({ backend: 'webgpu' });
    try {
      for (const method of METHODS) {
        const gpu = Array.from(await (await odeintAsync(f, y0, [0, 0.5, 1], options(method))).data());
        expect(Math.max(...gpu.map((v, i) => Math.abs(v - cpu.get(method)![i]))), method).toBeLessThan(2e-6);
      }
    } finally {
      await ready({ backend: 'wasm' });
    }
    y0.dispose();
  });

  it('odeintAdjointGrads on the GPU: the closed-form gradients of y\' = k·y', async () => {
    await ready({ backend: 'webgpu' });
    try {
      const k = tf.variable(tf.scalar(-0.5));
      const y0 = tf.tensor1d([1, 2]);
      const dLdy = tf.tensor2d([[0, 0], [1, 1]]); // L = Σ y(1) = Σ y0 e^k
      const grads = await odeintAdjointGrads((_t, y) => tf.mul(k, y), y0, tf.tensor1d([0, 1]), dLdy, { params: [k], rtol: 1e-7, atol: 1e-9 });
      const e = Math.exp(-0.5);
      expect(Math.abs((await grads.params[0].data())[0] - 3 * e)).toBeLessThan(1e-5);
      for (const g of await grads.y0.data()) expect(Math.abs(g - e)).toBeLessThan(1e-5);
      const dts = await grads.ts!.data(); // dL/dt1 = Σ k y(1), dL/dt0 = −Σ k y0 e^k
      expect(Math.abs(dts[1] - -0.5 * 3 * e)).toBeLessThan(1e-5);
      expect(Math.abs(dts[0] - 0.5 * 3 * e)).toBeLessThan(1e-5);
      // The taped form cannot read there; its message names the tape-free one.
      expect(() => tf.variableGrads(() => tf.sum(odeintAdjoint((_t, y) => tf.mul(k, y), y0, [0, 1], { params: [k] })) as tf.Scalar)).toThrow(/^odeintAdjoint: the webgpu backend cannot read values synchronously here .*; use odeintAdjointGrads and await it$/);
      tf.dispose([k, y0, dLdy, grads.value, grads.y0, ...grads.params, grads.ts!]);
    } finally {
      await ready({ backend: 'wasm' });
    }
  });

  it("a flow's log-densities and samples on the GPU equal the CPU's (float32 rounding apart)", async () => {
    const flow = new CNF({ dim: 2, hiddenDims: [16, 16], seed: 2 });
    const x = toyData('8gaussians', 64, 3);
    const cpu = Array.from(flow.logProb(x).dataSync());
    const cpuSamples = Array.from(flow.sample(16, 1).dataSync());
    await ready({ backend: 'webgpu' });
    try {
      const gpu = Array.from(await (await flow.logProbAsync(x)).data());
      const worst = Math.max(...gpu.map((v, i) => Math.abs(v - cpu[i])));
      console.log(`webgpu vs wasm: max |Δ log p| = ${worst.toExponential(2)} over 64 points`);
      expect(worst).toBeLessThan(1e-5); // 1e-6 measured on lavapipe: float32 rounding in a different op order
      const samples = Array.from(await (await flow.sampleAsync(16, 1)).data());
      expect(Math.max(...samples.map((v, i) => Math.abs(v - cpuSamples[i])))).toBeLessThan(1e-4);
      expect(() => flow.logProb(x)).toThrow(/^CNF.logProb: the webgpu backend cannot read values synchronously here .*; use CNF.logProbAsync and await it$/);
    } finally {
      await ready({ backend: 'wasm' });
    }
    flow.dispose();
  });

  it.each(['maximum-likelihood', 'flow-matching'] as const)('fit by %s on the GPU: the steps of the CPU (the same losses and weights, float32 rounding apart)', async (objective) => {
    const data = toyData('8gaussians', 400, 1);
    const options = { iterations: 3, batchSize: 64, objective, seed: 2 };
    const train = async () => {
      const flow = new CNF({ dim: 2, hiddenDims: [8, 8], seed: 4 });
      const report = await flow.fit(data, options);
      const weights = await Promise.all(flow.trainableVariables.map(async (v) => Array.from(await v.data())));
      flow.dispose();
      return { losses: report.history.map((r) => r.loss), weights: weights.flat() };
    };
    const cpu = await train();
    await ready({ backend: 'webgpu' });
    let gpu;
    try {
      gpu = await train();
    } finally {
      await ready({ backend: 'wasm' });
    }
    gpu.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i]), `loss ${i}`).toBeLessThan(1e-4 * Math.abs(cpu.losses[i])));
    expect(Math.max(...gpu.weights.map((w, i) => Math.abs(w - cpu.weights[i])))).toBeLessThan(1e-5);
    data.dispose();
  });
});
