/**
 * A CSV file the command line writes (eval's log-densities, sample's points, merge's result): written
 * under a temporary name beside its path and renamed onto it only when complete, so a job stopped
 * half-way leaves no half file under the final name (which `cnfkit merge` could not tell from a whole
 * one), and a failed run leaves what was there before. Where it may go is checked before any work
 * ({@link checkOutputFile}): an existing file is replaced only with --overwrite, an input never.
 */
import { appendFileSync, existsSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './args.js';
import { holdsModel } from './run_files.js';

/** The --overwrite option of the commands that write files. */
export const OVERWRITE_OPTION = { name: 'overwrite', kind: 'flag', help: 'replace --out where it exists (never one of the inputs)' } as const;

/**
 * Checks a file a command is about to write, before any work: a path that is not a folder, and, when
 * a file is there, --overwrite and that it is none of the command's `inputs` (eval's --out onto its
 * --data once replaced the user's points with log-densities).
 * @throws UsageError (exit 2) saying why, with nothing changed
 */
export function checkOutputFile(option: string, path: string, inputs: readonly string[], overwrite: boolean): void {
  if (/[\\/]$/.test(path) || (existsSync(path) && statSync(path).isDirectory())) throw new UsageError(`--${option} ${path} is a folder; name the file to write`);
  if (!existsSync(path)) return refuseModelFolder(option, path, dirname(resolve(path)));
  const target = statSync(path);
  // The same file under another name (a link, ./, a case-insensitive file system) counts too.
  const input = inputs.find((file) => existsSync(file) && (resolve(file) === resolve(path) || sameFile(statSync(file), target)));
  if (input !== undefined) throw new UsageError(`--${option} ${path} is ${resolve(input) === resolve(path) ? 'one of the inputs' : `the same file as the input ${input}`}; nothing was changed. Name a new file`);
  refuseModelFolder(option, path, dirname(resolve(path)));
  if (!overwrite) throw new UsageError(`--${option} ${path} exists; nothing was changed. Pass --overwrite to replace it, or name a new file`);
}

/**
 * Refuses output into a model folder (a run's model/ or checkpoint/, or any saved model): a file
 * there beside model.json makes CNF.save, and so train and --resume, refuse the folder.
 */
export function refuseModelFolder(option: string, path: string, folder: string): void {
  if (holdsModel(folder)) {
    throw new UsageError(`--${option} ${path} would go into the model folder ${folder}; a file there would make saving to it refuse (it holds files cnfkit did not write). Write beside it`);
  }
}

/**
 * A file's temporary name beside it while it is written: the process id alone repeats across
 * containers (node as PID 1), where a killed task's leftover would block every retry.
 */
export function temporaryName(path: string): string {
  return `${path}.partial-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Whether two stats are of one file (inode 0: a file system without inodes, never the same). */
export function sameFile(a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean {
  return a.ino !== 0 && a.dev === b.dev && a.ino === b.ino;
}

export class CsvOutput {
  private readonly partial: string;
  private done = false;

  /** Ctrl-C or SIGTERM (a preempted job): the temporary file goes, then the signal does its usual work. */
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.close();
    process.kill(process.pid, signal);
  };

  constructor(readonly path: string, header: string) {
    removeAbandoned(path);
    // 'wx': a file of that name that is not ours is never overwritten.
    this.partial = temporaryName(path);
    writeFileSync(this.partial, header + '\n', { flag: 'wx' });
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /** Appends lines (each without its line break). */
  append(lines: readonly string[]): void {
    if (lines.length) appendFileSync(this.partial, lines.join('\n') + '\n');
  }

  /** Renames the complete file onto its path. */
  commit(): void {
    renameSync(this.partial, this.path);
    this.done = true;
  }

  /** Removes the temporary file unless committed (ours: written just now); for `finally` blocks. */
  close(): void {
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    if (!this.done) rmSync(this.partial, { force: true });
  }
}

/** How long a temporary file may go unwritten before a new writer of its file takes it for abandoned. */
const ABANDONED_MS = 10 * 60_000;

/**
 * Removes the temporary files of `path` that a killed job left (SIGKILL, a machine lost: no handler
 * ran), once untouched for {@link ABANDONED_MS}: a live writer appends far more often than that.
 */
function removeAbandoned(path: string): void {
  const folder = dirname(resolve(path));
  // Only names temporaryName makes (`<file>.partial-<pid>-<random>`): never a file cnfkit did not write.
  const prefix = `${basename(path)}.partial-`;
  for (const name of readdirSync(folder)) {
    if (!name.startsWith(prefix) || !/^\d+-[0-9a-z]{1,8}$/.test(name.slice(prefix.length))) continue;
    const file = join(folder, name);
    try {
      if (Date.now() - statSync(file).mtimeMs > ABANDONED_MS) rmSync(file, { force: true });
    } catch {
      // Gone meanwhile, or not ours to read: left alone.
    }
  }
}
