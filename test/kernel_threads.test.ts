// cnfkit's wasm kernels on several threads (issue 17, item 3): the module rewritten to import a
// shared memory computes what the plain one does; batches split by rows into near-equal shards; a
// flow-matching fit on 2 threads gives the 1-thread losses to float32 rounding (the gradient is
// summed in another order) and really ran on the workers; bad thread counts are refused.
import { describe, expect, it } from 'vitest';
import { CNF, backendInfo, ready, tf, toyData } from '../src/index.js';
import { kernelThreadPool } from '../src/native/runtime.js';
import { setThreadHost } from '../src/native/kernel_threads.js';
import { nodeThreadHost } from '../src/node_threads.js';
import { splitRows } from '../src/native/kernel_programs.js';
import { withSharedMemory } from '../src/native/shared_memory_module.js';
import { KERNELS_WASM_BASE64 } from '../src/native/kernels_wasm.js';

describe('kernel threads', () => {
  it('the shared-memory module computes what the plain one does', async () => {
    const bytes = Uint8Array.from(atob(KERNELS_WASM_BASE64), (c) => c.charCodeAt(0));
    const product = async (module: WebAssembly.Module, memory: WebAssembly.Memory) => {
      const k = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as { mmNN(a: number, b: number, c: number, m: number, k: number, n: number, acc: boolean): void };
      const f = new Float32Array(memory.buffer);
      for (let i = 0; i < 3 * 5 + 5 * 6; i++) f[256 + i] = Math.sin(i + 1);
      k.mmNN(1024, 1024 + 4 * 15, 2048, 3, 5, 6, false);
      return Array.from(f.subarray(512, 512 + 18));
    };
    const plain = await product(await WebAssembly.compile(bytes), new WebAssembly.Memory({ initial: 1 }));
    const shared = await product(await WebAssembly.compile(withSharedMemory(bytes)), new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }));
    expect(shared).toEqual(plain);
    expect(plain.some((v) => v !== 0)).toBe(true);
    // The plain module refuses a shared memory and the shared one a plain memory: the rewrite is what makes it fit.
    expect(() => new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }) } })).toThrow();
  });

  it('splits rows into contiguous near-equal shards, none under the minimum', () => {
    expect(splitRows(1024, 2, 64)).toEqual([[0, 512], [512, 512]]);
    expect(splitRows(1001, 4, 64)).toEqual([[0, 251], [251, 250], [501, 250], [751, 250]]);
    expect(splitRows(100, 4, 64)).toEqual([[0, 100]]);
    expect(splitRows(130, 8, 64)).toEqual([[0, 65], [65, 65]]);
  });

  it('a flow-matching fit on 2 threads gives the 1-thread losses to float32 rounding, on the workers', async () => {
    const losses = async (threads: number) => {
      const info = await ready({ threads });
      expect(info.kernelThreads).toBe(threads === 1 ? '1 thread' : `${threads} threads`);
      const before = tf.memory().numTensors;
      const data = toyData('8gaussians', 2048, 0);
      const flow = new CNF({ dim: 2, hiddenDims: [32, 32], seed: 0 });
      const runs = kernelThreadPool()?.runs ?? 0;
      const shares = kernelThreadPool()?.sharesOnWorkers ?? 0;
      const report = await flow.fit(data, { objective: 'flow-matching', iterations: 30, batchSize: 512, learningRate: 3e-3, seed: 0 });
      const ran = (kernelThreadPool()?.runs ?? 0) - runs;
      const onWorkers = (kernelThreadPool()?.sharesOnWorkers ?? 0) - shares;
      const points = data.slice([0, 0], [64, 2]);
      const logp = flow.logProb(points);
      const result = { losses: report.history.map((r) => r.loss), logp: Array.from(logp.dataSync()), ran, onWorkers };
      tf.dispose([logp, points, data]);
      flow.dispose();
      expect(tf.memory().numTensors).toBe(before);
      return result;
    };
    const one = await losses(1);
    const two = await losses(2);
    expect(one.ran).toBe(0);
    expect(two.ran).toBe(30);
    // A worker descheduled past the caller's own share has it run by the caller (under this suite's
    // parallel load, half of them at times); the rest ran on the worker.
    expect(two.onWorkers).toBeGreaterThan(0);
    two.losses.forEach((l, i) => expect(Math.abs(l - one.losses[i])).toBeLessThan(1e-5 * Math.abs(one.losses[i])));
    two.logp.forEach((l, i) => expect(Math.abs(l - one.logp[i])).toBeLessThan(1e-3));
    expect(backendInfo().kernelThreads).toBe('2 threads');
  });

  it('log-densities and a maximum-likelihood fit on 2 threads give the 1-thread figures, on the workers', async () => {
    const figures = async (threads: number) => {
      await ready({ threads });
      const before = tf.memory().numTensors;
      const data = toyData('8gaussians', 1024, 0);
      const flow = new CNF({ dim: 2, hiddenDims: [32, 32], seed: 0 });
      const points = data.slice([0, 0], [300, 2]);
      const runs = kernelThreadPool()?.runs ?? 0;
      const first = flow.logProb(points);
      const report = await flow.fit(data, { iterations: 3, batchSize: 300, learningRate: 1e-2, seed: 0 });
      const after = flow.logProb(points, { trace: 'hutchinson', seed: 3 });
      const ran = (kernelThreadPool()?.runs ?? 0) - runs;
      const result = { values: [...first.dataSync(), ...report.history.map((r) => r.loss), ...after.dataSync()], ran };
      tf.dispose([first, after, points, data]);
      flow.dispose();
      expect(tf.memory().numTensors).toBe(before);
      return result;
    };
    const one = await figures(1);
    const two = await figures(2);
    expect(one.ran).toBe(0);
    // Every evaluation of the solves (forward and adjoint) ran split: hundreds of them.
    expect(two.ran).toBeGreaterThan(100);
    two.values.forEach((v, i) => expect(Math.abs(v - one.values[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(one.values[i]))));
  });

  it('a flow made before ready() changes the thread count keeps working, with the same figures', async () => {
    await ready({ threads: 2 });
    const flow = new CNF({ dim: 2, hiddenDims: [16], seed: 1 });
    const points = toyData('moons', 256, 0);
    const values = async (threads: number) => {
      await ready({ threads });
      const logp = flow.logProb(points);
      const v = Array.from(logp.dataSync());
      logp.dispose();
      return v;
    };
    const [a, b, c] = [await values(2), await values(1), await values(2)];
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    tf.dispose(points);
    flow.dispose();
  });

  it('more threads than a fixed table would hold (70): the same losses and log-densities as one thread', async () => {
    const figures = async (threads: number) => {
      await ready({ threads });
      const data = toyData('8gaussians', 70 * 64, 0);
      const flow = new CNF({ dim: 2, hiddenDims: [16], seed: 0 });
      const report = await flow.fit(data, { objective: 'flow-matching', iterations: 3, batchSize: 70 * 64, seed: 0 });
      const logp = flow.logProb(data);
      const result = [...report.history.map((r) => r.loss), tf.sum(logp).dataSync()[0]];
      tf.dispose([data, logp]);
      flow.dispose();
      return result;
    };
    const one = await figures(1);
    const many = await figures(70);
    expect(backendInfo().kernelThreads).toBe('70 threads');
    many.forEach((v, i) => expect(Math.abs(v - one[i])).toBeLessThan(1e-5 * Math.abs(one[i])));
    await ready({ threads: 2 });
  }, 60_000);

  it("a worker that starts late (descheduled) has its share run by the caller: same figures, no wait for it", async () => {
    const slow = 300;
    const figures = async () => {
      const data = toyData('8gaussians', 256, 0);
      const flow = new CNF({ dim: 2, hiddenDims: [16], seed: 0 });
      const report = await flow.fit(data, { objective: 'flow-matching', iterations: 5, batchSize: 256, seed: 0 });
      const result = report.history.map((r) => r.loss);
      tf.dispose(data);
      flow.dispose();
      return result;
    };
    await ready({ threads: 1 });
    const one = await figures();
    // Workers that wait `slow` ms before claiming their share.
    setThreadHost({ ...nodeThreadHost, spawn: (source) => nodeThreadHost.spawn(source.replace('if (Atomics.compareExchange(claims', `{ const s0 = Date.now(); while (Date.now() - s0 < ${slow}); } if (Atomics.compareExchange(claims`)) });
    try {
      await ready({ threads: 2 });
      const pool = kernelThreadPool()!;
      const [runs, shares] = [pool.runs, pool.sharesOnWorkers];
      const started = performance.now();
      const late = await figures();
      expect(pool.runs - runs).toBe(5);
      expect(pool.sharesOnWorkers - shares).toBe(0);
      expect(performance.now() - started).toBeLessThan(5 * slow);
      late.forEach((l, i) => expect(Math.abs(l - one[i])).toBeLessThan(1e-5 * Math.abs(one[i])));
    } finally {
      setThreadHost(nodeThreadHost);
      await ready({ threads: 1 });
      await ready({ threads: 2 });
    }
  });

  it('refuses a bad thread count, naming it', async () => {
    await expect(ready({ threads: 0 })).rejects.toThrow('ready: threads must be an integer in 1…256, but got 0');
    await expect(ready({ threads: 1.5 })).rejects.toThrow('ready: threads must be an integer in 1…256, but got 1.5');
  });
});
