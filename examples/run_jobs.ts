/**
 * Runs an experiment's independent training runs as child processes, one per core at a time (tfjs's
 * wasm backend uses one thread, so a table of runs fills the machine this way), the longest first.
 * Each child is a tsx script that writes its results as JSON to the file passed after `--json`; its
 * output goes to `<log>` and its last line is echoed as it finishes.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** One run: a name, the script and its arguments, and a rough cost to order the queue by. */
export interface Job {
  name: string;
  script: string;
  args: string[];
  cost: number;
}

/**
 * Runs every job, `workers` at a time, and returns each job's JSON results by name.
 * @param folder - where `<name>.json` and `<name>.log` are written
 * @throws Error naming the job and its log when a run fails
 */
export async function runJobs<R>(jobs: Job[], folder: string, workers = os.availableParallelism()): Promise<Map<string, R>> {
  const queue = [...jobs].sort((a, b) => b.cost - a.cost);
  const results = new Map<string, R>();
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) results.set(job.name, await runOne<R>(job, folder));
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, jobs.length)) }, worker));
  return results;
}

function runOne<R>(job: Job, folder: string): Promise<R> {
  const json = join(folder, `${job.name}.json`);
  const log = join(folder, `${job.name}.log`);
  const started = performance.now();
  console.log(`  started ${job.name}`);
  return new Promise((resolve, reject) => {
    const out = openSync(log, 'w');
    // The same node and loader (tsx) as this process.
    const child = spawn(process.execPath, [...process.execArgv, job.script, ...job.args, '--json', json], { stdio: ['ignore', out, out] });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      closeSync(out);
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      if (code !== 0) {
        reject(new Error(`${job.name} failed (${signal ?? `exit ${code}`}); its output is in ${log}:\n${lines.slice(-8).join('\n')}`));
        return;
      }
      console.log(`  finished ${job.name} in ${((performance.now() - started) / 1000).toFixed(0)} s: ${lines.at(-1)}`);
      resolve(JSON.parse(readFileSync(json, 'utf8')) as R);
    });
  });
}
