import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { Rng } from '../src/random.js';
import { csvSplit } from '../src/cli/csv_points.js';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'cnfkit-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const root = new URL('..', import.meta.url).pathname;

/** Runs the CLI in-process, capturing what it prints. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((m: string) => void err.push(m));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(args, (l) => out.push(l));
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    spy.mockRestore();
    stderr.mockRestore();
  }
}

const TINY = ['--data', '8gaussians', '--hidden', '8,8', '--batch-size', '32', '--checkpoint-every', '5', '--seed', '3'];

describe('cnfkit command line', () => {
  it('prints help for every command (exit 0) and rejects bad arguments with a usage message (exit 2)', async () => {
    expect((await cli('--help')).out).toMatch(/usage: cnfkit <command>[\s\S]*train[\s\S]*eval[\s\S]*sample[\s\S]*plot/);
    for (const c of ['train', 'eval', 'sample', 'plot', 'merge']) {
      const r = await cli(c, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`usage: cnfkit ${c} \\[options\\]`));
    }
    const cases: [string[], RegExp][] = [
      [['fly'], /unknown command 'fly'/],
      [['train', '--data', 'spiral', '--out', tmp], /--data must be one of swissroll, circles, rings, moons, 8gaussians, pinwheel, 2spirals, checkerboard, or a CSV file \(ending in .csv\), but got 'spiral'/],
      [['train', '--data', '8gaussians'], /--out is required/],
      [['train', '--data', '8gaussians', '--out', tmp, '--iterations', '0'], /--iterations must be a positive integer \(at most 2\^53\), but got '0'/],
      [['sample', '--model', tmp, '--n', '1e20', '--out', join(tmp, 'x.csv')], /--n must be a positive integer \(at most 2\^53\), but got '1e20'/],
      [['sample', '--model', tmp, '--n', '10', '--out', ''], /--out must not be empty/],
      [['train', '--data', '8gaussians', '--out', tmp, '--lr'], /--lr needs a value/],
      [['train', '--data', '8gaussians', '--out', tmp, '--colour', 'red'], /unknown option --colour/],
      [['train', '--data', '8gaussians', '--out', join(tmp, 'ml'), '--sigma', '0.2'], /--sigma applies to --objective flow-matching only/],
      [['eval', '--model', join(tmp, 'nothing')], /--model .* holds no model/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
    }
  });

  it('trains, is interrupted by Ctrl-C with a checkpoint, and resumes to exactly the uninterrupted result', async () => {
    const straight = join(tmp, 'straight');
    const first = await cli('train', ...TINY, '--iterations', '40', '--out', straight, '--eval-every', '20');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/held-out NLL at iteration 40: \d+\.\d{4}/);
    expect(existsSync(join(straight, 'curves.png'))).toBe(true);
    // Folders follow the user's umask like every other file (they were once created 0700).
    const reference = join(tmp, 'mode-reference');
    mkdirSync(reference);
    for (const folder of ['model', 'checkpoint']) expect(statSync(join(straight, folder)).mode & 0o777, folder).toBe(statSync(reference).mode & 0o777);

    // The same run in a child process, interrupted once its first checkpoints exist.
    const interrupted = join(tmp, 'interrupted');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'train', ...TINY, '--iterations', '40', '--out', interrupted], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(join(interrupted, 'checkpoint', 'model.json'))) {
          clearInterval(poll);
          child.kill('SIGINT');
          resolve();
        }
      }, 50);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, output).toBe(130);
    expect(output).toMatch(/interrupted \(SIGINT\) at iteration \d+: checkpoint written to .*checkpoint; continue with --resume/);
    expect(existsSync(join(interrupted, 'train.lock'))).toBe(false); // released on the way out
    const stoppedAt = JSON.parse(readFileSync(join(interrupted, 'checkpoint', 'model.json'), 'utf8')).modelTopology.cnfkit.iteration;
    expect(stoppedAt).toBeLessThan(40);

    expect((await cli('train', ...TINY, '--iterations', '40', '--out', interrupted)).code).toBe(2); // needs --resume
    // --resume needs no other flag: the checkpoint holds the run's settings (run.json is not read).
    writeFileSync(join(interrupted, 'run.json'), 'garbage {');
    // …nor --iterations: the checkpoint holds the run's own 40, not the flag's default (2000).
    const resumed = await cli('train', '--out', interrupted, '--resume');
    expect(resumed.code).toBe(0);
    expect(resumed.out).toMatch(new RegExp(`resuming from iteration ${stoppedAt}`));
    // Bit-identical weights: same minibatches, same noise, same Adam moments.
    expect(readFileSync(join(interrupted, 'model', 'weights.bin')).equals(readFileSync(join(straight, 'model', 'weights.bin')))).toBe(true);
    // The held-out NLLs of both sessions (every 4th iteration) stay in history.jsonl, for curves.png.
    const evaluated = readFileSync(join(interrupted, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.validationNll !== undefined);
    expect(evaluated.map((r) => r.iteration)).toEqual([4, 8, 12, 16, 20, 24, 28, 32, 36, 40]);
    // A run stopped after its last checkpoint but before its model: --resume writes the model from it.
    rmSync(join(interrupted, 'model'), { recursive: true });
    const finished = await cli('train', '--out', interrupted, '--resume');
    expect(finished.code).toBe(0);
    expect(finished.out).toMatch(/checkpoint is at iteration 40: nothing to train for --iterations 40; model in .*model \(written from the checkpoint\)/);
    expect(readFileSync(join(interrupted, 'model', 'weights.bin')).equals(readFileSync(join(straight, 'model', 'weights.bin')))).toBe(true);
  });

  it('writes a checkpoint on SIGTERM too (what Slurm and Kubernetes send before preempting), exit 143', async () => {
    const run = join(tmp, 'terminated');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'train', ...TINY, '--iterations', '400', '--checkpoint-every', '5', '--out', run], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const poll = setInterval(() => existsSync(join(run, 'checkpoint', 'model.json')) && (clearInterval(poll), child.kill('SIGTERM')), 50);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, output).toBe(143);
    expect(output).toMatch(/interrupted \(SIGTERM\) at iteration \d+: checkpoint written/);
    const checkpoint = JSON.parse(readFileSync(join(run, 'checkpoint', 'model.json'), 'utf8')).modelTopology.cnfkit;
    expect(checkpoint.iteration).toBeLessThan(400);
    expect(checkpoint.run.iterations).toBe(400);
    // The iteration records live in history.jsonl, appended as training goes, not in every checkpoint.
    expect(checkpoint.history).toBeUndefined();
    expect(checkpoint.historyLines).toBe(checkpoint.iteration);
    const records = readFileSync(join(run, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.slice(0, checkpoint.iteration).map((r) => r.iteration)).toEqual(Array.from({ length: checkpoint.iteration }, (_, i) => i + 1));
  });

  it("sample stopped by SIGTERM leaves no temporary file; a killed job's old one goes at the next run", async () => {
    const run = join(tmp, 'straight');
    const out = join(tmp, 'stopped.csv');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'sample', '--model', run, '--n', '2000000', '--out', out], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const partials = () => readdirSync(tmp).filter((f) => f.startsWith('stopped.csv.partial-'));
    const poll = setInterval(() => partials().length > 0 && (clearInterval(poll), child.kill('SIGTERM')), 50);
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, s) => resolve(s)));
    clearInterval(poll);
    expect(signal).toBe('SIGTERM');
    expect(partials()).toEqual([]);
    expect(existsSync(out)).toBe(false);
    // SIGKILL runs no handler: what it leaves is removed by the next run once untouched for 10 minutes.
    const abandoned = join(tmp, 'stopped.csv.partial-1-abcd1234');
    const recent = join(tmp, 'stopped.csv.partial-1-recent12');
    const usersOwn = join(tmp, 'stopped.csv.partial-notes'); // not a name cnfkit makes: kept, however old
    writeFileSync(abandoned, 'x,y\n');
    writeFileSync(recent, 'x,y\n');
    writeFileSync(usersOwn, 'mine\n');
    for (const old of [abandoned, usersOwn]) utimesSync(old, new Date(Date.now() - 11 * 60_000), new Date(Date.now() - 11 * 60_000));
    expect((await cli('sample', '--model', run, '--n', '4', '--out', out)).code).toBe(0);
    expect(partials().sort()).toEqual(['stopped.csv.partial-1-recent12', 'stopped.csv.partial-notes']);
    rmSync(recent);
    rmSync(usersOwn);
  });

  it('evaluates, samples and plots a trained model', async () => {
    const run = join(tmp, 'straight');
    const ev = await cli('eval', '--model', run, '--n', '500');
    expect(ev.code).toBe(0);
    expect(ev.out).toMatch(/NLL on 8gaussians held-out points \(500 points, exact trace\): \d+\.\d{4} ± \d\.\d{4} nats; entropy bound 2\.8317/);
    const csv = join(tmp, 'samples.csv');
    expect((await cli('sample', '--model', run, '--n', '64', '--out', csv)).code).toBe(0);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('x,y');
    expect(lines).toHaveLength(65);
    expect(lines.slice(1).every((l) => l.split(',').map(Number).every(Number.isFinite))).toBe(true);
    const withDensity = join(tmp, 'samples-logp.csv');
    expect((await cli('sample', '--model', run, '--n', '16', '--out', withDensity, '--with-log-prob')).code).toBe(0);
    const dense = readFileSync(withDensity, 'utf8').trim().split('\n');
    expect(dense[0]).toBe('x,y,log_prob');
    expect(dense).toHaveLength(17);
    expect(dense.slice(1).map((l) => Number(l.split(',')[2])).every((v) => Number.isFinite(v) && v < 0)).toBe(true);
    // Nothing is written into a model folder (saving there would then be refused), nor through a file.
    const intoModel = await cli('sample', '--model', run, '--n', '4', '--out', join(run, 'checkpoint', 's.csv'));
    expect(intoModel.code).toBe(2);
    expect(intoModel.err).toMatch(/--out .*s.csv would go into the model folder .*checkpoint; a file there would make saving to it refuse/);
    expect((await cli('plot', '--model', run, '--out', join(run, 'checkpoint'))).err).toMatch(/would go into the model folder/);
    expect((await cli('sample', '--model', run, '--n', '10', '--shard', '0/2000000', '--out', join(tmp, 'x.csv'))).err).toMatch(/--shard 0\/2000000: at most 1000000 shards/);
    // A file the system will not read (here /proc/self/mem, EIO even to root): one line naming it, exit 1.
    symlinkSync('/proc/self/mem', join(tmp, 'unreadable.csv'));
    const unreadable = await cli('eval', '--model', run, '--data', join(tmp, 'unreadable.csv'));
    expect(unreadable.code).toBe(1);
    expect(unreadable.err).toMatch(/^cnfkit eval: cannot read .*unreadable.csv: input\/output error \(EIO\)$/);
    const pictures = join(tmp, 'pictures');
    expect((await cli('plot', '--model', run, '--out', pictures)).code).toBe(0);
    for (const name of ['figure.png', 'trajectories.png']) {
      const png = decode(readFileSync(join(pictures, name)));
      expect(png.width).toBeGreaterThan(500);
      const distinct = new Set<number>();
      for (let i = 0; i < png.data.length; i += 4 * 97) distinct.add((png.data[i] << 16) | (png.data[i + 1] << 8) | png.data[i + 2]);
      expect(distinct.size, name).toBeGreaterThan(20); // not blank
    }
    // --model may name the model's model.json; plot refuses points of another width.
    const byFile = await cli('eval', '--model', join(run, 'model', 'model.json'), '--n', '500');
    expect(byFile.out).toMatch(new RegExp(`NLL on 8gaussians held-out points \\(500 points, exact trace\\): ${/NLL[^:]*: (\d+\.\d{4})/.exec(ev.out)![1]}`));
    writeFileSync(join(tmp, 'three.csv'), 'a,b,c\n1,2,3\n4,5,6\n');
    const wide = await cli('plot', '--model', run, '--data', join(tmp, 'three.csv'), '--out', join(tmp, 'wide-pictures'));
    expect(wide.err).toMatch(/--data .*three.csv has 3 columns, but the model is 2-dimensional/);
  });

  it('refuses a corrupt checkpoint with a clear error and leaves it untouched', async () => {
    const run = join(tmp, 'corrupt');
    expect((await cli('train', ...TINY, '--iterations', '5', '--out', run)).code).toBe(0);
    const weights = join(run, 'checkpoint', 'weights.bin');
    writeFileSync(weights, new Uint8Array(12));
    const r = await cli('train', ...TINY, '--iterations', '10', '--out', run, '--resume');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^cnfkit train: cannot resume: .*weights.bin holds 12 bytes, but model.json lists \d+/);
    const none = await cli('train', '--out', join(tmp, 'never-trained'), '--resume');
    expect(none.err).toMatch(/^cnfkit train: cannot resume: .*never-trained holds no checkpoint \(train writes one every --checkpoint-every iterations and on Ctrl-C or SIGTERM\); start the run without --resume/);
    expect(readFileSync(weights)).toHaveLength(12);
    const mismatched = await cli('train', ...TINY.map((a) => (a === '8,8' ? '8,8' : a === '3' ? '4' : a)), '--iterations', '10', '--out', join(tmp, 'straight'), '--resume');
    expect(mismatched.code).toBe(2);
    expect(mismatched.err).toMatch(/was made with --seed 3, but this run has 4/);
    // The size cap on untrusted model files is a flag wherever a model is read.
    const capped = await cli('train', '--out', join(tmp, 'straight'), '--iterations', '50', '--resume', '--max-parameters', '10');
    expect(capped.code).toBe(1);
    expect(capped.err).toMatch(/cannot resume: .*checkpoint\/model.json has options that make [\d.e+]+ parameters, more than maxParameters = 10 /);
    const evalCapped = await cli('eval', '--model', join(tmp, 'straight'), '--n', '10', '--max-parameters', '10');
    expect(evalCapped.code).toBe(1);
    expect(evalCapped.err).toMatch(/model\/model.json has options that make [\d.e+]+ parameters, more than maxParameters = 10 /);
  });

  it('keeps the resolution of a column with a large offset (Unix times): standardised in float64, sampled back in float64', async () => {
    // Second-resolution times over five minutes: float32 holds 1.7e9 in steps of 128 s (3 values here).
    const rng = new Rng('times');
    const lines = ['time,value'];
    for (let i = 0; i < 400; i++) lines.push(`${1_700_000_000 + Math.floor(300 * rng.uniform())},${rng.normals(2)[0].toFixed(5)}`);
    const csv = join(tmp, 'times.csv');
    writeFileSync(csv, lines.join('\n') + '\n');
    const run = join(tmp, 'times-run');
    const trained = await cli('train', '--data', csv, '--out', run, '--iterations', '30', '--objective', 'flow-matching', '--hidden', '16,16', '--eval-every', '30');
    expect(trained.code, trained.err).toBe(0);
    // The saved mean and std are the training nine tenths' own, to float64 rounding (from float32 the std came out 95 s for 87).
    const times = csvSplit(400, 0).train.map((r) => Number(lines[r + 1].split(',')[0]));
    const mean = times.reduce((s, t) => s + t, 0) / times.length;
    const spread = Math.sqrt(times.reduce((s, t) => s + (t - mean) ** 2, 0) / times.length);
    const saved = JSON.parse(readFileSync(join(run, 'model', 'model.json'), 'utf8')).modelTopology.cnfkit.options.standardize;
    expect(Math.abs(saved.mean[0] - mean)).toBeLessThan(1e-6);
    expect(Math.abs(saved.std[0] - spread) / spread).toBeLessThan(1e-9);
    const samples = join(tmp, 'times-samples.csv');
    expect((await cli('sample', '--model', run, '--n', '200', '--out', samples, '--with-log-prob')).code).toBe(0);
    const sampled = readFileSync(samples, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    expect(new Set(sampled.map((r) => r[0])).size).toBeGreaterThan(150); // not multiples of 128
    // eval of the written samples gives the log-densities sample computed (0.2 nats apart before).
    writeFileSync(join(tmp, 'times-points.csv'), ['time,value', ...sampled.map((r) => `${r[0]},${r[1]}`)].join('\n') + '\n');
    const logp = join(tmp, 'times-logp.csv');
    expect((await cli('eval', '--model', run, '--data', join(tmp, 'times-points.csv'), '--out', logp)).code).toBe(0);
    const evaluated = readFileSync(logp, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[1]));
    evaluated.forEach((v, i) => expect(Math.abs(v - sampled[i][2])).toBeLessThan(5e-3));
    // A point whose standardised coordinates pass float32's range (1e37 in a column of std 0.003)
    // has log p = −∞, named, and the others are evaluated (the library refused the whole chunk).
    const narrow = join(tmp, 'narrow.csv');
    writeFileSync(narrow, ['a,b', ...Array.from({ length: 60 }, (_, i) => `${(i % 10) / 1000},${(i % 7) / 7}`)].join('\n') + '\n');
    expect((await cli('train', '--data', narrow, '--out', join(tmp, 'narrow-run'), '--iterations', '3', '--objective', 'flow-matching', '--hidden', '8')).code).toBe(0);
    writeFileSync(join(tmp, 'far.csv'), 'a,b\n1e37,0.5\n0.004,0.2\n');
    const far = await cli('eval', '--model', join(tmp, 'narrow-run'), '--data', join(tmp, 'far.csv'), '--out', join(tmp, 'far-logp.csv'));
    expect(far.code, far.err).toBe(0);
    expect(far.out).toMatch(/warning: 1 point has log p = −∞ .* at index 0; the NLL is infinite/);
    const farLogp = readFileSync(join(tmp, 'far-logp.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[1]));
    expect(farLogp[0]).toBe(-Infinity);
    expect(Number.isFinite(farLogp[1])).toBe(true);
  });

  it('resumes a run whose CSV moved (--data names it anew; its points must be the same)', async () => {
    const run = join(tmp, 'times-run'); // trained by the test above, to 30 iterations
    const moved = join(tmp, 'moved', 'times.csv');
    mkdirSync(join(tmp, 'moved'));
    renameSync(join(tmp, 'times.csv'), moved);
    const lost = await cli('train', '--out', run, '--resume', '--iterations', '32');
    expect(lost.err).toMatch(/--data .*times.csv does not exist/);
    const resumed = await cli('train', '--out', run, '--resume', '--iterations', '32', '--data', moved);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toMatch(/--data .*moved\/times.csv: the run's CSV, read from .*times.csv before \(its points are checked to be the same\)/);
    expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).data).toBe(moved);
    // Another file with the same name is not the run's CSV.
    writeFileSync(moved, readFileSync(moved, 'utf8').replace(/\n(\d+),/, '\n$1.5,'));
    const other = await cli('train', '--out', run, '--resume', '--iterations', '34', '--data', moved);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/cannot resume: .*moved\/times.csv has changed since the run started/);
  });

  it('trains on a CSV of any width (standardised, a tenth held out), evaluates it as a stream and in shards that add up, samples in shards of the same latents', async () => {
    const rng = new Rng('csv');
    const lines = ['a,b,c,d,e'];
    for (let i = 0; i < 600; i++) lines.push(Array.from(rng.normals(5), (v, k) => (100 + 10 * k + (k + 1) * v).toFixed(4)).join(','));
    const csv = join(tmp, 'points.csv');
    writeFileSync(csv, lines.join('\n') + '\n');
    const run = join(tmp, 'csv-run');
    const trained = await cli('train', '--data', csv, '--out', run, '--iterations', '40', '--objective', 'flow-matching', '--hidden', '16,16');
    expect(trained.code, trained.err).toBe(0);
    expect(trained.out).toMatch(/pictures: none \(5-D data\)/);
    expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).columns).toEqual(['a', 'b', 'c', 'd', 'e']);
    // The split depends on the CSV's row count (run.json records it): a CSV that grew is refused, not re-split.
    expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'))['data-rows']).toBe(600);
    writeFileSync(csv, lines.join('\n') + '\n1,2,3,4,5\n');
    expect((await cli('eval', '--model', run)).err).toMatch(/points.csv held 600 points when the run trained and holds 601 now: its held-out tenth cannot be rebuilt/);
    // The same rows sorted: the count agrees, the fingerprint does not (it scored training points as held out).
    writeFileSync(csv, [lines[0], ...lines.slice(1).sort()].join('\n') + '\n');
    expect((await cli('eval', '--model', run)).err).toMatch(/points.csv has changed since the run trained \(other values, or its rows in another order\): its held-out tenth cannot be rebuilt/);
    writeFileSync(csv, lines.join('\n') + '\n');
    // --n and --seed choose toy points: given for a CSV they would be ignored, so they are refused.
    expect((await cli('eval', '--model', run, '--n', '100')).err).toMatch(/--n chooses toy data's held-out points; a CSV's points are its rows/);
    // By default eval scores the run's own held-out tenth, as train split it (train printed the same NLL).
    const whole = await cli('eval', '--model', run);
    const nll = Number(/NLL on the held-out points of points.csv \(60 points, exact trace\): ([\d.]+)/.exec(whole.out)?.[1]);
    expect(nll).toBeGreaterThan(5);
    expect(Number(/held-out NLL at iteration 40: ([\d.]+)/.exec(trained.out)?.[1])).toBeCloseTo(nll, 3);
    const sums = await Promise.all(['0/3', '1/3', '2/3'].map(async (k) => Number(/sum of log p (-?[\d.e+-]+) over (\d+) points/.exec((await cli('eval', '--model', run, '--shard', k)).out)?.[1])));
    expect(Math.abs(-sums.reduce((a, b) => a + b, 0) / 60 - nll)).toBeLessThan(2e-3);
    const all = await cli('eval', '--model', run, '--data', csv);
    expect(all.out).toMatch(/NLL on all points of points.csv \(600 points, exact trace\)/);
    // This machine's memory cap: smaller chunks, the same NLL to the solver's tolerance.
    const capped = await cli('eval', '--model', run, '--data', csv, '--memory-limit', '1');
    const nllOf = (out: string) => Number(/exact trace\): (-?[\d.]+)/.exec(out)?.[1]);
    expect(Math.abs(nllOf(capped.out) - nllOf(all.out))).toBeLessThan(1e-3);
    expect((await cli('eval', '--model', run, '--memory-limit', '0.5')).err).toMatch(/--memory-limit is in MiB and must be at least 1, but got 0.5/);
    const full = join(tmp, 'full.csv');
    const part = join(tmp, 'part.csv');
    expect((await cli('sample', '--model', run, '--n', '12', '--out', full)).code).toBe(0);
    expect((await cli('sample', '--model', run, '--n', '12', '--out', part, '--shard', '1/3')).code).toBe(0);
    const rows = (file: string) => readFileSync(file, 'utf8').trim().split('\n');
    expect(rows(full)[0]).toBe('a,b,c,d,e');
    const [fullRows, partRows] = [rows(full).slice(1).map((l) => l.split(',').map(Number)), rows(part).slice(1).map((l) => l.split(',').map(Number))];
    expect(partRows).toHaveLength(4);
    partRows.forEach((r, i) => r.forEach((v, k) => expect(Math.abs(v - fullRows[4 + i][k])).toBeLessThan(1e-3 * Math.abs(v))));
    // A shard with its log-densities: the same points, and log p as eval computes it from them.
    const dense = join(tmp, 'part-logp.csv');
    expect((await cli('sample', '--model', run, '--n', '12', '--out', dense, '--shard', '1/3', '--with-log-prob')).code).toBe(0);
    const denseRows = rows(dense).slice(1).map((l) => l.split(',').map(Number));
    expect(rows(dense)[0]).toBe('a,b,c,d,e,log_prob');
    denseRows.forEach((r, i) => partRows[i].forEach((v, k) => expect(Math.abs(r[k] - v)).toBeLessThan(1e-3 * Math.abs(v))));
    writeFileSync(join(tmp, 'shard-points.csv'), ['a,b,c,d,e', ...denseRows.map((r) => r.slice(0, 5).join(','))].join('\n') + '\n');
    const evalOut = join(tmp, 'shard-logp.csv');
    expect((await cli('eval', '--model', run, '--data', join(tmp, 'shard-points.csv'), '--out', evalOut)).code).toBe(0);
    const evaluated = rows(evalOut).slice(1).map((l) => Number(l.split(',')[1]));
    evaluated.forEach((v, i) => expect(Math.abs(v - denseRows[i][5])).toBeLessThan(2e-3 * Math.max(1, Math.abs(v))));
    // The same points with their columns in another order are read by name; other names are refused.
    writeFileSync(join(tmp, 'reordered.csv'), ['e,d,c,b,a', ...denseRows.map((r) => r.slice(0, 5).reverse().join(','))].join('\n') + '\n');
    const reordered = await cli('eval', '--model', run, '--data', join(tmp, 'reordered.csv'), '--out', join(tmp, 'reordered-logp.csv'));
    expect(reordered.out).toMatch(/reordered.csv: its columns reordered by name to the run's \(a,b,c,d,e\)/);
    expect(rows(join(tmp, 'reordered-logp.csv'))).toEqual(rows(evalOut));
    // A point whose log p overflows float32 is −∞: named, written, and merged.
    writeFileSync(join(tmp, 'outlier.csv'), ['a,b,c,d,e', ...denseRows.slice(0, 3).map((r, i) => r.slice(0, 5).map((v, k) => (i === 1 && k === 2 ? 1e25 : v)).join(','))].join('\n') + '\n');
    for (const k of [0, 1]) {
      const part = await cli('eval', '--model', run, '--data', join(tmp, 'outlier.csv'), '--shard', `${k}/2`, '--out', join(tmp, `outlier-${k}.csv`));
      expect(part.code, part.err).toBe(0);
      if (k === 1) expect(part.out).toMatch(/warning: 1 point has log p = −∞ .* at index 1; the NLL is infinite[\s\S]*exact trace\): ∞ nats/);
    }
    const merged = await cli('merge', '--parts', join(tmp, 'outlier-{k}.csv'), '--shards', '2', '--out', join(tmp, 'outlier-logp.csv'));
    expect(merged.code, merged.err).toBe(0);
    expect(rows(join(tmp, 'outlier-logp.csv'))[2]).toBe('1,-Infinity');
    writeFileSync(join(tmp, 'renamed.csv'), ['a,b,c,d,x', ...denseRows.map((r) => r.slice(0, 5).join(','))].join('\n') + '\n');
    expect((await cli('eval', '--model', run, '--data', join(tmp, 'renamed.csv'))).err).toMatch(/renamed.csv has columns a,b,c,d,x, but the run trained on a,b,c,d,e \(e missing\): rename or reorder them/);
    expect((await cli('eval', '--model', run, '--shard', '3/3')).err).toMatch(/--shard must be k\/n with 0 ≤ k < n/);
    writeFileSync(join(tmp, 'bad.csv'), 'a,b,c,d,e\n1,2,3,4,5\n1,2,3\n');
    expect((await cli('eval', '--model', run, '--data', join(tmp, 'bad.csv'))).err).toMatch(/bad.csv:3: expected 5 comma-separated numbers, got '1,2,3'/);
    writeFileSync(join(tmp, 'blank-cell.csv'), '1,2,3,4,5\n1,,3,4,5\n');
    expect((await cli('eval', '--model', run, '--data', join(tmp, 'blank-cell.csv'))).err).toMatch(/blank-cell.csv:2: column 2 is empty: missing or non-finite values are not supported/);
    // A run on a headerless CSV has no names to hold another CSV's header against.
    writeFileSync(join(tmp, 'headerless.csv'), Array.from({ length: 40 }, (_, i) => `${i % 7},${(i * 13) % 11}`).join('\n') + '\n');
    expect((await cli('train', '--data', join(tmp, 'headerless.csv'), '--out', join(tmp, 'headerless-run'), '--iterations', '2', '--objective', 'flow-matching', '--hidden', '4')).code).toBe(0);
    writeFileSync(join(tmp, 'named.csv'), 'p,q\n1,2\n3,4\n');
    expect((await cli('eval', '--model', join(tmp, 'headerless-run'), '--data', join(tmp, 'named.csv'))).code).toBe(0);
    // A constant column has no density: refused, named (it trained a spike: NLL 23 against 26 without it).
    writeFileSync(join(tmp, 'constant.csv'), ['a,b,c', ...Array.from({ length: 40 }, (_, i) => `${i % 7},7.5,${(i * 13) % 11}`)].join('\n') + '\n');
    const constant = await cli('train', '--data', join(tmp, 'constant.csv'), '--out', join(tmp, 'constant-run'), '--iterations', '2');
    expect(constant.code).toBe(2);
    expect(constant.err).toMatch(/constant.csv: 'b' \(column 2\) holds 7.5 in every training point; a density over a constant is infinite. Drop the column/);
    // 0.1 in every row: its mean is off by an ulp, its std 1e-17, not 0; constant all the same.
    writeFileSync(join(tmp, 'tenths.csv'), ['a,b', ...Array.from({ length: 40 }, (_, i) => `${i % 7},0.1`)].join('\n') + '\n');
    const tenths = await cli('train', '--data', join(tmp, 'tenths.csv'), '--out', join(tmp, 'tenths-run'), '--iterations', '2');
    expect(tenths.code).toBe(2);
    expect(tenths.err).toMatch(/tenths.csv: 'b' \(column 2\) holds 0.1 in every training point/);
    writeFileSync(join(tmp, 'nearly.csv'), ['a,b', ...Array.from({ length: 40 }, (_, i) => `${i % 7},${1000 + (i % 2) * 1e-11}`)].join('\n') + '\n');
    const nearly = await cli('train', '--data', join(tmp, 'nearly.csv'), '--out', join(tmp, 'nearly-run'), '--iterations', '2');
    expect(nearly.err).toMatch(/nearly.csv: 'b' \(column 2\) varies only past its 12th digit \(mean 1000.0000000000\d*, std 5.0e-12\)/);
    // The run's own CSV moved away: said as such (not as a --data the user never passed).
    renameSync(csv, `${csv}.moved`);
    expect((await cli('eval', '--model', run)).err).toMatch(/the run's training data .*points.csv \(named in .*run.json\) does not exist any more; pass --data to use another file/);
    renameSync(`${csv}.moved`, csv);
    // More shards than samples: the empty slices are finished parts (the header alone), as in eval, and they merge.
    for (const k of [0, 1, 2]) expect((await cli('sample', '--model', run, '--n', '2', '--shard', `${k}/3`, '--out', join(tmp, `few-${k}.csv`))).code).toBe(0);
    expect(readFileSync(join(tmp, 'few-0.csv'), 'utf8')).toBe('a,b,c,d,e\n');
    const few = await cli('merge', '--parts', join(tmp, 'few-{k}.csv'), '--shards', '3', '--out', join(tmp, 'few.csv'));
    expect(few.out).toMatch(/merged 3 shards: 2 rows/);
    // The same first two latents as the 12-sample run (each solve takes its own adaptive steps).
    const fewRows = rows(join(tmp, 'few.csv')).slice(1).map((l) => l.split(',').map(Number));
    expect(fewRows).toHaveLength(2);
    fewRows.forEach((r, i) => r.forEach((v, k) => expect(Math.abs(v - fullRows[i][k])).toBeLessThan(1e-3 * Math.max(1, Math.abs(v)))));
  });

  it('merges the shards of an indexed job into what one unsharded run writes, and refuses parts that do not fit', async () => {
    const run = join(tmp, 'csv-run'); // trained by the test above
    const rows = (file: string) => readFileSync(file, 'utf8').trim().split('\n');
    const values = (file: string) => rows(file).slice(1).map((l) => l.split(',').map(Number));
    const near = (a: number[][], b: number[][], tolerance: number) => {
      expect(a).toHaveLength(b.length);
      a.forEach((r, i) => r.forEach((v, k) => expect(Math.abs(v - b[i][k])).toBeLessThan(tolerance * Math.max(1, Math.abs(v)))));
    };
    // eval: parts interleave by index; merged, the same indices in the same order as one run, and log p to the solver's tolerance.
    const whole = join(tmp, 'logp.csv');
    expect((await cli('eval', '--model', run, '--out', whole)).code).toBe(0);
    for (const k of [0, 1, 2]) expect((await cli('eval', '--model', run, '--shard', `${k}/3`, '--out', join(tmp, `logp-${k}.csv`))).code).toBe(0);
    const merged = join(tmp, 'logp-merged.csv');
    const m = await cli('merge', '--parts', join(tmp, 'logp-{k}.csv'), '--shards', '3', '--out', merged);
    expect(m.code, m.err).toBe(0);
    expect(m.out).not.toMatch(/backend/);
    expect(rows(merged)[0]).toBe('index,log_prob');
    expect(values(merged).map((r) => r[0])).toEqual(values(whole).map((r) => r[0]));
    near(values(merged), values(whole), 2e-3);
    const nll = Number(/NLL over them ([\d.]+) nats/.exec(m.out)?.[1]);
    expect(nll).toBeCloseTo(-values(whole).reduce((s, r) => s + r[1], 0) / 60, 2);
    // sample: parts are consecutive slices; merged, the unsharded file, with log p.
    const all = join(tmp, 'samples.csv'); // written by an earlier test: replaced only with --overwrite
    expect((await cli('sample', '--model', run, '--n', '10', '--out', all, '--with-log-prob')).err).toMatch(/--out .*samples.csv exists; nothing was changed. Pass --overwrite to replace it/);
    expect((await cli('sample', '--model', run, '--n', '10', '--out', all, '--with-log-prob', '--overwrite')).code).toBe(0);
    for (const k of [0, 1, 2]) expect((await cli('sample', '--model', run, '--n', '10', '--shard', `${k}/3`, '--out', join(tmp, `samples-${k}.csv`), '--with-log-prob')).code).toBe(0);
    const mergedSamples = join(tmp, 'samples-merged.csv');
    expect((await cli('merge', '--parts', join(tmp, 'samples-{k}.csv'), '--shards', '3', '--out', mergedSamples)).out).toMatch(/merged 3 shards: 10 rows into .*; their mean −log p [\d.]+ nats \(the model's entropy, estimated\)/);
    expect(rows(mergedSamples)[0]).toBe('a,b,c,d,e,log_prob');
    near(values(mergedSamples), values(all), 2e-3);
    // Nothing is written unless every part fits.
    const refused = join(tmp, 'refused.csv');
    const refuse = async (args: string[], message: RegExp) => {
      const r = await cli('merge', '--out', refused, ...args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(existsSync(refused)).toBe(false);
    };
    await refuse(['--parts', join(tmp, 'logp-{k}.csv'), '--shards', '4'], /--parts: shard 3\/4 \(.*logp-3.csv\) does not exist/);
    await refuse(['--parts', join(tmp, 'logp-{k}.csv'), '--shards', '2'], /logp-0.csv holds shard 0\/3, but merging 2 shards needs shard 0\/2 there/);
    await refuse(['--parts', join(tmp, 'logp.csv'), '--shards', '1'], /--parts must contain \{k\}/);
    // Copies of parts, each with its manifest unless said otherwise.
    const copy = (from: string, to: string, text?: string) => {
      writeFileSync(join(tmp, to), text ?? readFileSync(join(tmp, from)));
      writeFileSync(join(tmp, `${to}.json`), readFileSync(join(tmp, `${from}.json`)));
    };
    // A part cut at a line boundary or missing a row: its job wrote more (nothing in the rows shows it).
    [0, 1].forEach((k) => copy(`samples-${k}.csv`, `cut-${k}.csv`));
    copy('samples-2.csv', 'cut-2.csv', rows(join(tmp, 'samples-2.csv')).slice(0, 2).join('\n') + '\n');
    await refuse(['--parts', join(tmp, 'cut-{k}.csv'), '--shards', '3'], /cut-2.csv holds 1 rows, but its job wrote 4; was it cut or edited\?/);
    copy('logp-0.csv', 'gap-0.csv');
    copy('logp-1.csv', 'gap-1.csv', readFileSync(join(tmp, 'logp-1.csv'), 'utf8').replace(/\n[^\n]*\n/, '\n'));
    copy('logp-2.csv', 'gap-2.csv');
    await refuse(['--parts', join(tmp, 'gap-{k}.csv'), '--shards', '3'], /gap-1.csv holds \d+ rows, but its job wrote \d+; was it cut or edited\?/);
    // A part without its manifest (its job stopped between the two files, or an old part).
    writeFileSync(join(tmp, 'bare-0.csv'), readFileSync(join(tmp, 'logp-0.csv')));
    await refuse(['--parts', join(tmp, 'bare-{k}.csv'), '--shards', '1'], /bare-0.csv has no bare-0.csv.json beside it/);
    // A part of another run: another seed, or another --n.
    expect((await cli('sample', '--model', run, '--n', '10', '--seed', '5', '--shard', '1/3', '--out', join(tmp, 'other-1.csv'), '--with-log-prob')).code).toBe(0);
    copy('samples-0.csv', 'other-0.csv');
    copy('samples-2.csv', 'other-2.csv');
    await refuse(['--parts', join(tmp, 'other-{k}.csv'), '--shards', '3'], /other-1.csv was made with seed 5, .*other-0.csv with 0: parts of different runs/);
    expect((await cli('sample', '--model', run, '--n', '11', '--shard', '1/3', '--out', join(tmp, 'other-1.csv'), '--with-log-prob', '--overwrite')).code).toBe(0);
    await refuse(['--parts', join(tmp, 'other-{k}.csv'), '--shards', '3'], /other-1.csv is a part of 11 rows, .*other-0.csv of 10: parts of different runs/);
    // Parts of a CSV that changed in place between jobs (sorted: same name, same size).
    const points = readFileSync(join(run, '..', 'points.csv'), 'utf8').trim().split('\n');
    const shifting = join(tmp, 'shifting.csv');
    writeFileSync(shifting, points.join('\n') + '\n');
    expect((await cli('eval', '--model', run, '--data', shifting, '--shard', '0/2', '--out', join(tmp, 'shift-0.csv'))).code).toBe(0);
    writeFileSync(shifting, [points[0], ...points.slice(1).reverse()].join('\n') + '\n');
    expect((await cli('eval', '--model', run, '--data', shifting, '--shard', '1/2', '--out', join(tmp, 'shift-1.csv'))).code).toBe(0);
    await refuse(['--parts', join(tmp, 'shift-{k}.csv'), '--shards', '2'], /shift-1.csv was made with data "a CSV of 600 points, fingerprint [0-9a-f]{8}", .*shift-0.csv with "a CSV of 600 points, fingerprint [0-9a-f]{8}": parts of different runs/);
    // eval's and sample's parts mixed.
    copy('logp-0.csv', 'mixed-0.csv');
    copy('samples-1.csv', 'mixed-1.csv');
    copy('logp-2.csv', 'mixed-2.csv');
    await refuse(['--parts', join(tmp, 'mixed-{k}.csv'), '--shards', '3'], /mixed-1.csv is a part of sample, .*mixed-0.csv of eval: parts of different runs/);
    // A row cut by a killed job, a row of the wrong width: refused, naming the line.
    copy('samples-2.csv', 'cut-2.csv', readFileSync(join(tmp, 'samples-2.csv'), 'utf8').replace(/\n$/, '').replace(/,[^,]*$/, ','));
    await refuse(['--parts', join(tmp, 'cut-{k}.csv'), '--shards', '3'], /cut-2.csv does not end with a line break: was its job stopped while writing\?/);
    copy('samples-2.csv', 'cut-2.csv', readFileSync(join(tmp, 'samples-2.csv'), 'utf8').replace(/\n([^\n]*)\n$/, '\n1,2\n'));
    await refuse(['--parts', join(tmp, 'cut-{k}.csv'), '--shards', '3'], /cut-2.csv:5: expected 6 comma-separated numbers, got '1,2'/);
    // --out naming a part, directly or through a link: refused, the part untouched.
    const before = readFileSync(join(tmp, 'logp-0.csv'), 'utf8');
    const self = await cli('merge', '--parts', join(tmp, 'logp-{k}.csv'), '--shards', '3', '--out', join(tmp, 'logp-0.csv'));
    expect(self.err).toMatch(/--out .*logp-0.csv is one of the inputs; nothing was changed. Name a new file/);
    symlinkSync(join(tmp, 'logp-0.csv'), join(tmp, 'link.csv'));
    const linked = await cli('merge', '--parts', join(tmp, 'logp-{k}.csv'), '--shards', '3', '--out', join(tmp, 'link.csv'), '--overwrite');
    expect(linked.err).toMatch(/--out .*link.csv is the same file as the input .*logp-0.csv; nothing was changed/);
    expect(readFileSync(join(tmp, 'logp-0.csv'), 'utf8')).toBe(before);
    const manifest = await cli('merge', '--parts', join(tmp, 'logp-{k}.csv'), '--shards', '3', '--out', join(tmp, 'logp-1.csv.json'), '--overwrite');
    expect(manifest.err).toMatch(/--out .*logp-1.csv.json is one of the inputs; nothing was changed/);
    // eval and sample never write onto what they read (the data, the model's files, run.json), even with --overwrite.
    const data = join(run, '..', 'points.csv');
    const other = join(tmp, 'other-points.csv');
    writeFileSync(other, readFileSync(data));
    const cases: [string, string, string[]][] = [
      ['eval', join(tmp, 'logp-0.csv'), ['--data', join(tmp, 'logp-0.csv')]],
      ['eval', data, ['--data', other]], // the run's training CSV, though --data names another file
      ['eval', join(run, 'history.jsonl'), ['--data', other]],
      ['eval', join(run, 'model', 'model.json'), ['--data', other]],
      ['sample', join(run, 'run.json'), ['--n', '3']],
      ['sample', data, ['--n', '3']],
      ['sample', join(run, 'checkpoint', 'weights.bin'), ['--n', '3']],
    ];
    for (const [command, target, args] of cases) {
      const content = readFileSync(target, 'utf8');
      const r = await cli(command, '--model', run, ...args, '--out', target, '--overwrite');
      expect(r.code, `${command} --out ${target}`).toBe(2);
      expect(r.err).toMatch(/is one of the inputs; nothing was changed|is the same file as the input/);
      expect(readFileSync(target, 'utf8')).toBe(content);
    }
    // A folder (existing, or named with a trailing slash) is refused before any work.
    expect((await cli('eval', '--model', run, '--out', tmp)).err).toMatch(/--out .* is a folder; name the file to write/);
    expect((await cli('sample', '--model', run, '--n', '3', '--out', join(tmp, 'new-folder') + '/')).err).toMatch(/--out .*new-folder\/ is a folder; name the file to write/);
    // eval --out is written under a temporary name: a run that fails half-way leaves nothing at --out.
    const rowsOk = Array.from({ length: 12 }, (_, i) => [1, 2, 3, 4, 5].map((v) => v + i).join(','));
    writeFileSync(join(tmp, 'late-bad.csv'), ['a,b,c,d,e', ...rowsOk, '1,2,3'].join('\n') + '\n');
    const failed = await cli('eval', '--model', run, '--data', join(tmp, 'late-bad.csv'), '--out', join(tmp, 'late-logp.csv'));
    expect(failed.err).toMatch(/late-bad.csv:14: expected 5 comma-separated numbers/);
    expect(existsSync(join(tmp, 'late-logp.csv'))).toBe(false);
    // An empty shard (more shards than points) is a finished part: exit 0, the header only, and it merges.
    writeFileSync(join(tmp, 'three.csv'), ['a,b,c,d,e', ...rowsOk.slice(0, 3)].join('\n') + '\n');
    for (const k of [0, 1, 2, 3]) {
      const r = await cli('eval', '--model', run, '--data', join(tmp, 'three.csv'), '--shard', `${k}/4`, '--out', join(tmp, `three-${k}.csv`));
      expect(r.code, r.err).toBe(0);
    }
    expect(readFileSync(join(tmp, 'three-3.csv'), 'utf8')).toBe('index,log_prob\n');
    expect((await cli('merge', '--parts', join(tmp, 'three-{k}.csv'), '--shards', '4', '--out', join(tmp, 'three-all.csv'))).out).toMatch(/merged 4 shards: 3 rows/);
    expect(readdirSync(tmp).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it('train never replaces files it did not write: a folder with other files is refused, every byte kept', async () => {
    const mine = join(tmp, 'my-project');
    mkdirSync(mine);
    writeFileSync(join(mine, 'run.json'), '{"mine": true}');
    writeFileSync(join(mine, 'notes.md'), 'keep');
    const r = await cli('train', ...TINY, '--iterations', '2', '--out', mine);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--out .*my-project holds files cnfkit train did not write \('notes.md'\); nothing was changed/);
    expect(readFileSync(join(mine, 'run.json'), 'utf8')).toBe('{"mine": true}');
    expect(readdirSync(mine).sort()).toEqual(['notes.md', 'run.json']);
    // Files of train's own names are refused too where nothing says train made the folder.
    rmSync(join(mine, 'notes.md'));
    writeFileSync(join(mine, 'figure.png'), 'my picture');
    const named = await cli('train', ...TINY, '--iterations', '2', '--out', mine);
    expect(named.err).toMatch(/--out .*my-project holds 'figure.png', 'run.json' but is no cnfkit run folder/);
    expect(readFileSync(join(mine, 'figure.png'), 'utf8')).toBe('my picture');
    // plot --out elsewhere than the run folder replaces pictures only with --overwrite.
    const plotted = await cli('plot', '--model', join(tmp, 'straight'), '--out', mine);
    expect(plotted.err).toMatch(/--out .*figure.png exists; nothing was changed. Pass --overwrite/);
    expect(readFileSync(join(mine, 'figure.png'), 'utf8')).toBe('my picture');
    // Nothing into a model folder: the pictures there made saving into it fail (train's final model too).
    const modelFolder = join(tmp, 'straight', 'model');
    const files = readdirSync(modelFolder).sort();
    expect((await cli('plot', '--model', modelFolder)).err).toMatch(/--model .*model is a model folder, not a run folder: pass --out <folder> for the pictures/);
    expect((await cli('plot', '--model', join(tmp, 'straight'), '--out', modelFolder)).err).toMatch(/--out .*model is the model folder/);
    expect(readdirSync(modelFolder).sort()).toEqual(files);
  });
});
