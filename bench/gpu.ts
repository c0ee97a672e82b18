/**
 * A GPU backend against single-core wasm, by batch size: exact- and Hutchinson-trace logProb, sample,
 * and the flow-matching step, for batches 10² … 10⁶ (as far as time and memory allow), on
 * FFJORD's toy network (2-64-64-64-2, dopri5 rtol = atol = 1e-5). Prints throughput per backend and
 * where the GPU overtakes the CPU. Every case runs through the async forms, so any backend works.
 *
 *   npx tsx bench/gpu.ts [--backend webgpu] [--max-batch 1e6] [--case-seconds 20] [--only gpu|wasm]
 *
 * A case stops growing its batch once one run takes longer than --case-seconds (so the wasm column
 * ends earlier than the GPU's). On Mesa's lavapipe this measures a CPU emulation: correctness only.
 * bench/gpu.sh runs it unattended on a lent GPU machine.
 */
import { CNF, ready, tf, toyData, type BackendChoice } from '../src/index.node.js';
import { machineLine } from './machine.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const gpuBackend = arg('backend', 'webgpu') as BackendChoice;
const maxBatch = Number(arg('max-batch', '1e6'));
const caseSeconds = Number(arg('case-seconds', '20'));
const only = arg('only', 'both');

type Case = { name: string; unit: string; run: (flow: CNF, batch: number) => Promise<number> };

/** Seconds of one awaited run of `work` (its result read back, so the GPU's work is inside). */
async function timed(work: () => Promise<tf.Tensor | tf.Tensor[]>): Promise<number> {
  const started = performance.now();
  const out = await work();
  const outs = Array.isArray(out) ? out : [out];
  await Promise.all(outs.map((t) => t.data()));
  tf.dispose(outs);
  return (performance.now() - started) / 1000;
}

const CASES: Case[] = [
  {
    name: 'logProb, exact trace',
    unit: 'points/s',
    run: async (flow, batch) => {
      const x = toyData('8gaussians', batch, 1);
      const s = await timed(() => flow.logProbAsync(x));
      x.dispose();
      return batch / s;
    },
  },
  {
    name: 'logProb, Hutchinson',
    unit: 'points/s',
    run: async (flow, batch) => {
      const x = toyData('8gaussians', batch, 1);
      const s = await timed(() => flow.logProbAsync(x, { trace: 'hutchinson', seed: 1 }));
      x.dispose();
      return batch / s;
    },
  },
  {
    name: 'sample',
    unit: 'points/s',
    run: async (flow, batch) => batch / (await timed(() => flow.sampleAsync(batch, 2))),
  },
  {
    name: 'flow-matching step',
    unit: 'steps/s',
    run: async (flow, batch) => {
      const data = toyData('8gaussians', Math.max(batch, 1000), 3);
      const iterations = 5;
      await flow.fit(data, { iterations: 1, objective: 'flow-matching', batchSize: batch });
      const started = performance.now();
      await flow.fit(data, { iterations, objective: 'flow-matching', batchSize: batch });
      await Promise.all(flow.trainableVariables.map((v) => v.data()));
      data.dispose();
      return iterations / ((performance.now() - started) / 1000);
    },
  },
];

const batches: number[] = [];
for (let b = 100; b <= maxBatch; b *= 10) batches.push(b);

/** The GPU adapter WebGPU runs on (vendor, architecture, device, description), as the browser says it. */
async function adapterLine(): Promise<string> {
  type Info = { vendor?: string; architecture?: string; device?: string; description?: string };
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<{ info?: Info } | null> } } }).navigator?.gpu;
  const info = (await gpu?.requestAdapter().catch(() => null))?.info;
  return info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unnamed' : 'unknown';
}

/** Throughput per case and batch on `backend` (undefined past the time budget or on failure). */
async function measure(backend: BackendChoice): Promise<{ info: string; figures: Map<string, (number | undefined)[]> }> {
  // wasm on one kernel thread: the baseline is single-core wasm (the machine line says so).
  const info = await ready({ backend, verbose: false, ...(backend === 'wasm' ? { threads: 1 } : {}) });
  if (info.name !== (backend === 'tensorflow-gpu' ? 'tensorflow' : backend)) throw new Error(`bench/gpu.ts: ${backend} is unavailable: ${info.reason}`);
  const line = backend === 'wasm' ? machineLine() : `${machineLine()}; adapter ${await adapterLine()}`;
  console.log(`  ${backend}: ${line}`);
  const figures = new Map<string, (number | undefined)[]>();
  const flow = new CNF({ dim: 2, hiddenDims: [64, 64, 64], seed: 0 });
  for (const c of CASES) {
    await c.run(flow, batches[0]).catch(() => undefined); // warm-up: shader compilation, kernel set-up
    const row: (number | undefined)[] = [];
    let over = false; // the last run took longer than the budget, or failed: larger batches are skipped
    for (const batch of batches) {
      let value: number | undefined;
      if (!over) {
        const started = performance.now();
        try {
          value = await c.run(flow, batch);
          console.log(`  ${backend}: ${c.name}, batch ${batch}: ${value.toFixed(0)} ${c.unit}`);
        } catch (e) {
          console.log(`  ${backend}: ${c.name} at batch ${batch} failed: ${(e as Error).message.split('\n')[0]}`);
        }
        over = value === undefined || (performance.now() - started) / 1000 > caseSeconds;
      }
      row.push(value);
    }
    figures.set(c.name, row);
  }
  flow.dispose();
  return { info: line, figures };
}

console.log(`bench/gpu.ts: ${gpuBackend} against wasm, batches ${batches.join(', ')}, at most ~${caseSeconds} s per run\n`);
// The GPU first: a machine without a usable adapter says so at once, before minutes of wasm runs.
const gpu = only === 'wasm' ? undefined : await measure(gpuBackend);
const cpu = only === 'gpu' ? undefined : await measure('wasm');
console.log('');
if (cpu) console.log(`wasm: ${cpu.info}`);
if (gpu) console.log(`${gpuBackend}: ${gpu.info}`);
const cell = (v: number | undefined) => (v === undefined ? '—' : v >= 100 ? v.toFixed(0) : v.toPrecision(3)).padStart(12);
console.log(`\n${'batch'.padStart(9)}${'wasm'.padStart(12)}${gpuBackend.padStart(12)}${'ratio'.padStart(9)}`);
for (const c of CASES) {
  console.log(`${c.name} (${c.unit})`);
  let overtakes: number | undefined;
  batches.forEach((batch, i) => {
    const w = cpu?.figures.get(c.name)?.[i];
    const g = gpu?.figures.get(c.name)?.[i];
    const ratio = w !== undefined && g !== undefined ? `${(g / w).toFixed(2)}x` : '';
    if (overtakes === undefined && w !== undefined && g !== undefined && g > w) overtakes = batch;
    console.log(`${String(batch).padStart(9)}${cell(w)}${cell(g)}${ratio.padStart(9)}`);
  });
  if (cpu && gpu) console.log(`  ${overtakes === undefined ? `${gpuBackend} does not overtake wasm in the batches both ran` : `${gpuBackend} overtakes wasm from batch ${overtakes}`}`);
}
