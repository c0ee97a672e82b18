/**
 * Work-precision table of the adaptive methods on the non-stiff test set, beside torchdiffeq 0.2.5
 * (float32, measured by bench/reference/torchdiffeq_work_precision.py on a machine like ours).
 *
 *   npm run bench:ode            # add --controller integral to try the classic controller
 *
 * Per problem, method and tolerance (rtol = atol): evaluations of f, error at t1 against the float64
 * reference of test/fixtures/work_precision.json, and wall time. The summary compares each method
 * with torchdiffeq's same method: geometric means of the evaluation and error ratios.
 */
import { readFileSync } from 'node:fs';
import { METHODS, SOLVERS, createStats, odeint, ready, tf, type ControllerKind, type MethodName } from '../src/index.node.js';
import { NONSTIFF_PROBLEMS, WORK_PRECISION_TOLERANCES, endError } from '../test/nonstiff_problems.js';
import { machineLine } from './machine.js';

interface Run { problem: string; method: string; tol: number; nfe: number; error: number | null }

const controller = (process.argv.includes('--controller') ? process.argv[process.argv.indexOf('--controller') + 1] : 'pi') as ControllerKind;
await ready();
const fixture = JSON.parse(readFileSync(new URL('../test/fixtures/work_precision.json', import.meta.url), 'utf8'));
const torch: { runs: Run[]; torch: string } = JSON.parse(readFileSync(new URL('./reference/torchdiffeq_work_precision.json', import.meta.url), 'utf8'));
const reference = (problem: string) => fixture.problems.find((p: { name: string }) => p.name === problem).reference as number[];

console.log(`bench/ode.ts: ${machineLine()}; controller ${controller}`);
console.log(`reference: torchdiffeq 0.2.5 on torch ${torch.torch}, float32 (bench/reference/)\n`);
console.log('problem          method   tol    nfe  torch   error     torch     ms');
const ours: Run[] = [];
for (const p of NONSTIFF_PROBLEMS) {
  for (const method of METHODS.filter((m) => SOLVERS[m].adaptive) as MethodName[]) {
    for (const tol of WORK_PRECISION_TOLERANCES) {
      const stats = createStats();
      const y0 = tf.tensor1d(p.y0);
      const start = performance.now();
      const ys = odeint(p.f, y0, [0, p.t1], { method, rtol: tol, atol: tol, stats, controller });
      const end = ys.slice([1], [1]).dataSync();
      const ms = performance.now() - start;
      tf.dispose([y0, ys]);
      const run = { problem: p.name, method, tol, nfe: stats.nfe, error: endError(end, reference(p.name)) };
      ours.push(run);
      const t = torch.runs.find((r) => r.problem === p.name && r.method === method && r.tol === tol);
      const tErr = t?.error == null ? 'failed' : t.error.toExponential(2);
      console.log(
        `${p.name.padEnd(16)} ${method.padEnd(7)} ${tol.toExponential(0)} ${String(run.nfe).padStart(5)} ${String(t?.nfe ?? '-').padStart(6)}  ` +
          `${run.error.toExponential(2)}  ${tErr.padEnd(8)} ${ms.toFixed(1).padStart(6)}`,
      );
    }
  }
}

console.log('\nsummary against torchdiffeq (geometric means over problems and tolerances where both succeeded):');
for (const method of ['bosh3', 'dopri5', 'tsit5', 'dopri8']) {
  const pairs = ours
    .filter((r) => r.method === method)
    .map((r) => [r, torch.runs.find((t) => t.problem === r.problem && t.method === method && t.tol === r.tol)] as const)
    .filter(([, t]) => t && t.error != null);
  const gmean = (xs: number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
  const nfeRatio = gmean(pairs.map(([r, t]) => r.nfe / t!.nfe));
  const errRatio = gmean(pairs.map(([r, t]) => Math.max(r.error!, 1e-9) / Math.max(t!.error!, 1e-9)));
  const failures = torch.runs.filter((t) => t.method === method && t.error == null).length;
  console.log(
    `  ${method.padEnd(7)} evaluations x${nfeRatio.toFixed(3)}, error x${errRatio.toFixed(3)} of torchdiffeq's` +
      (failures ? `; torchdiffeq failed ${failures} run(s) (float32 time underflow), cnfkit none` : ''),
  );
}

const byMethod = (m: string) => ours.filter((r) => r.method === m);
const [d5, t5] = [byMethod('dopri5'), byMethod('tsit5')];
const gm = (xs: number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
console.log(
  `\ntsit5 against cnfkit's dopri5: evaluations x${gm(t5.map((r, i) => r.nfe / d5[i].nfe)).toFixed(3)}, ` +
    `error x${gm(t5.map((r, i) => r.error! / d5[i].error!)).toFixed(3)}`,
);
