// The seeds' two experiments as users run them (issue 16): `npx tsx examples/latent_ode.ts --quick`
// and `npx tsx examples/odenet_mnist.ts --quick` run their whole pipelines (one process per run, the
// table, the pictures) in under a minute each on this machine. Loose checks on what so few steps can
// show: both spiral models beat predicting the origin, the MLP beats chance, and the memory
// of a training step grows with the rk4 steps for RK-Net and stays flat for ODE-Net.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'cnfkit-experiments-'));

function run(script: string, out: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(join(root, 'node_modules/.bin/tsx'), [join(root, script), '--quick', '--out', out], { cwd: root, timeout: 240_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${script} failed: ${error.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

/** The rows of the markdown table a script prints, as cells. */
const tableRows = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| model') && !l.startsWith('| observations'))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));

/** Each example takes 45-55 s on the 2-core dev VM, whose speed swings by ±40 %: vitest's default 60 s was no margin. */
const EXAMPLE_TIMEOUT = 180_000;

describe('the seeds\' experiments, --quick', () => {
  it('latent ODE vs RNN on spirals: the table for 30/50/100 observations and a picture each', async () => {
    const out = join(work, 'latent_ode');
    const stdout = await run('examples/latent_ode.ts', out);
    const rows = tableRows(stdout);
    expect(rows.map((r) => r[0])).toEqual(['30', '50', '100']);
    for (const row of rows) {
      const [rnnInterp, rnnExtrap, odeInterp, odeExtrap] = row.slice(1, 5).map(Number);
      // Predicting the origin scores 3.96 on these spirals (each spiral's own centre, (±5, 0), 1.72):
      // forty steps learn at least where the spirals are.
      expect(rnnInterp).toBeLessThan(2.5);
      expect(odeInterp).toBeLessThan(2.5);
      for (const v of [rnnExtrap, odeExtrap]) expect(Number.isFinite(v)).toBe(true);
      expect(row.slice(5)).toEqual({ 30: ['0.3937', '0.1642'], 50: ['0.3202', '0.1502'], 100: ['0.1813', '0.1346'] }[row[0]]);
      expect(existsSync(join(out, `spirals-${row[0]}.png`))).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(out, 'latent-ode-30.json'), 'utf8')).paths).toHaveLength(4);
  }, EXAMPLE_TIMEOUT);

  it('MLP, ResNet, RK-Net and ODE-Net on MNIST digits: the table, with memory flat in the steps for ODE-Net only', async () => {
    const stdout = await run('examples/odenet_mnist.ts', join(work, 'mnist'));
    const rows = Object.fromEntries(tableRows(stdout).map((r) => [r[0], r]));
    expect(Object.keys(rows).sort()).toEqual(['mlp', 'odenet', 'resnet', 'rknet']);
    expect(['mlp', 'resnet', 'rknet', 'odenet'].map((k) => rows[k][2])).toEqual(['0.24 M', '0.58 M', '0.21 M', '0.21 M']);
    expect(parseFloat(rows.mlp[1])).toBeLessThan(60);
    for (const k of ['resnet', 'rknet', 'odenet']) expect(parseFloat(rows[k][1])).toBeLessThanOrEqual(91);
    const memory = (k: string) => rows[k][4].split(', ').map((m) => Number(m.split(': ')[1]));
    const [rk2, rk4] = memory('rknet');
    const [ode2, ode4] = memory('odenet');
    expect(rk4 / rk2).toBeGreaterThan(1.3);
    expect(ode4 / ode2).toBeLessThan(1.05);
    expect(ode4).toBeLessThan(rk4 / 2);
  }, EXAMPLE_TIMEOUT);
});
