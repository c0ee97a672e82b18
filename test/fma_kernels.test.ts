// cnfkit's kernels with relaxed SIMD (issue 17): where the engine validates the relaxed-SIMD build
// (Node 22+, current browsers; Node 20 behind --experimental-wasm-relaxed-simd), the products use
// fused multiply-adds. Node 20 is run with the flag in a child process: the build is picked, a
// flow-matching fit and an exact log-density equal the plain build's to float32 rounding, and
// `fusedMultiplyAdd: false` keeps the plain build.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

const script = `
import { CNF, ready, tf, toyData } from '${join(root, 'src/index.node.ts')}';
const out = {};
for (const fma of [false, true]) {
  const info = await ready({ fusedMultiplyAdd: fma, threads: 1, verbose: false });
  const data = toyData('8gaussians', 2048, 0);
  const flow = new CNF({ dim: 2, hiddenDims: [32, 32], seed: 0 });
  const report = await flow.fit(data, { objective: 'flow-matching', iterations: 20, batchSize: 512, learningRate: 3e-3, seed: 0 });
  const points = data.slice([0, 0], [64, 2]);
  const logp = flow.logProb(points);
  out[fma] = { kernelFma: info.kernelFma, kernels: info.kernels, losses: report.history.map((r) => r.loss), logp: Array.from(logp.dataSync()) };
  tf.dispose([logp, points, data]);
  flow.dispose();
}
console.log(JSON.stringify(out));
`;

const file = join(mkdtempSync(join(tmpdir(), 'cnfkit-fma-')), 'fma.mts');
writeFileSync(file, script);

function run(flags: string[]): Promise<Record<string, { kernelFma: boolean; kernels: string; losses: number[]; logp: number[] }>> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [...flags, '--import', 'tsx', file], { cwd: root, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').at(-1)!)),
    ),
  );
}

describe('fused multiply-adds in the kernels (relaxed SIMD)', () => {
  it('are used where the engine has relaxed SIMD, with the plain build\'s figures to float32 rounding', async () => {
    const node20 = Number(process.versions.node.split('.')[0]) < 22;
    const out = await run(node20 ? ['--experimental-wasm-relaxed-simd'] : []);
    expect(out.false.kernelFma).toBe(false);
    expect(out.true.kernelFma).toBe(true);
    expect(out.true.kernels).toBe('in use');
    out.true.losses.forEach((l, i) => expect(Math.abs(l - out.false.losses[i])).toBeLessThan(1e-4 * Math.abs(out.false.losses[i])));
    out.true.logp.forEach((l, i) => expect(Math.abs(l - out.false.logp[i])).toBeLessThan(1e-3));
  });

  it('are not used where the engine has no relaxed SIMD (Node 20 without the flag)', async () => {
    if (Number(process.versions.node.split('.')[0]) >= 22) return;
    const out = await run([]);
    expect(out.true.kernelFma).toBe(false);
    expect(out.true.losses).toEqual(out.false.losses);
  });
});
