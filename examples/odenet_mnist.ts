/**
 * The lecture's MNIST table (Chen et al. 2018, Table 1) on cnfkit: 1-layer MLP, ResNet (6 residual
 * blocks), RK-Net (an ODE block by rk4, backprop through the steps) and ODE-Net (the same block, the
 * adjoint), with test error, parameters, seconds per epoch and the peak memory of a training step
 * against depth or solver steps, beside the paper's figures. The models train in separate processes
 * (examples/mnist/odenet.ts), one per core.
 *
 *   npx tsx examples/odenet_mnist.ts [--quick] [--epochs 1] [--steps 10] [--out runs/examples/odenet_mnist]
 *
 * The default (one epoch of the 8000 training digits, rk4 with 10 steps) takes about 15 minutes on
 * 2 cores; `--quick` (384 digits at batch 32, 4 steps, 500 test digits) checks the pipeline in under a minute.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { runJobs, type Job } from './run_jobs.js';
import type { MnistRow } from './mnist/odenet.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const quick = process.argv.includes('--quick');
const epochs = arg('epochs', '1');
const steps = arg('steps', quick ? '4' : '10');
const out = arg('out', 'runs/examples/odenet_mnist');
mkdirSync(out, { recursive: true });
const sizes = quick ? ['--train', '384', '--test', '500', '--memory-steps', '2,4', '--batch', '32'] : [];

/** The paper's Table 1: test error on MNIST's 10,000, parameters, memory, time. */
const PAPER = { mlp: ['1.60 %', '0.24 M', '-'], resnet: ['0.41 %', '0.60 M', 'O(L)'], rknet: ['0.47 %', '0.22 M', 'O(L~)'], odenet: ['0.42 %', '0.22 M', 'O(1)'] } as const;
/** Rough cost of an epoch, to start the longest runs first. */
const COST = { mlp: 0.01, resnet: 2, rknet: 8, odenet: 10 };
const kinds = ['odenet', 'rknet', 'resnet', 'mlp'] as const;

const script = fileURLToPath(new URL('./mnist/odenet.ts', import.meta.url));
const jobs: Job[] = kinds.map((kind) => ({ name: kind, script, args: ['--models', kind, '--epochs', epochs, '--steps', steps, ...sizes], cost: COST[kind] }));
console.log(`examples/odenet_mnist.ts: 4 models, ${os.availableParallelism()} at a time (${os.cpus()[0]?.model ?? 'unknown CPU'})${quick ? ', quick' : ''}`);
const started = performance.now();
const results = await runJobs<MnistRow[]>(jobs, out);
const minutes = (performance.now() - started) / 60_000;

const first = results.get('odenet')![0];
console.log(`\nTest error on ${quick ? 500 : 2000} held-out digits after ${epochs} epoch(s) of Adam on ${quick ? 384 : 8000} (the paper: 60,000 digits, its schedule); rk4 with ${steps} steps for the ODE`);
console.log(`models; memory = peak MiB of one training step at batch 32 at each depth (ResNet blocks) or rk4 steps. ${minutes.toFixed(1)} minutes in all.\n`);
console.log('| model | test error | parameters | s/epoch (batch) | peak MiB of a step (depth or steps: MiB) | paper: error | paper: parameters | paper: memory |');
console.log('|---|---|---|---|---|---|---|---|');
for (const kind of ['mlp', 'resnet', 'rknet', 'odenet'] as const) {
  const r = results.get(kind)![0];
  const memory = r.memory.map((m) => `${m.size}: ${m.mib.toFixed(0)}`).join(', ') || '-';
  console.log(`| ${kind} | ${(100 * r.error).toFixed(2)} % | ${(r.parameters / 1e6).toFixed(2)} M | ${r.secondsPerEpoch.toFixed(0)} (${r.batch}) | ${memory} | ${PAPER[kind].join(' | ')} |`);
}
const growth = (kind: 'rknet' | 'odenet') => {
  const m = results.get(kind)![0].memory;
  return m[m.length - 1].mib / m[0].mib;
};
console.log(`\nMemory from ${first.memory[0].size} to ${first.memory[first.memory.length - 1].size} rk4 steps: RK-Net x${growth('rknet').toFixed(1)}, ODE-Net x${growth('odenet').toFixed(2)}.`);
