#!/usr/bin/env node
/**
 * The `cnfkit` command line: train, eval, sample, plot, merge.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import './index.node.js'; // model folders on disk for CNF.save and CNF.load
import { ready, type BackendChoice } from './backend.js';
import { CnfkitError } from './errors.js';
import { UsageError, givenOptions, parseOptions, usage, type OptionSpec, type ParsedOptions } from './cli/args.js';
import { EVAL_OPTIONS, PLOT_OPTIONS, SAMPLE_OPTIONS, evaluate, plot, sample } from './cli/evaluate.js';
import { MERGE_OPTIONS, merge } from './cli/merge_shards.js';
import { TRAIN_OPTIONS, train } from './cli/train.js';

/**
 * A command: `run` gets the parsed options (defaults filled in) and the names given on the command
 * line; `files` commands only read and write files, without a tfjs backend.
 */
type Command = { summary: string; options: readonly OptionSpec[]; run: (o: ParsedOptions, log: (l: string) => void, given: ReadonlySet<string>) => Promise<number>; files?: true };

const COMMANDS: Record<string, Command> = {
  train: { summary: 'Train a CNF on a toy data set or a CSV of points of any width; writes <out>/model, checkpoints and (2-D) pictures.', options: TRAIN_OPTIONS, run: train },
  eval: { summary: 'Held-out NLL of a trained model (exact trace), beside the entropy bound where known.', options: EVAL_OPTIONS, run: evaluate },
  sample: { summary: 'Draw samples from a trained model into a CSV file.', options: SAMPLE_OPTIONS, run: sample },
  plot: { summary: 'Pictures of a trained model: data | samples | density, and trajectories.', options: PLOT_OPTIONS, run: plot },
  merge: { summary: "Combine the CSV files of eval or sample shards (--shard k/n) into the unsharded run's file.", options: MERGE_OPTIONS, run: merge, files: true },
};

const MAIN_USAGE = [
  'usage: cnfkit <command> [options]',
  '',
  'commands:',
  ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)}${c.summary}`),
  '',
  "run 'cnfkit <command> --help' for a command's options",
].join('\n');

/** Runs the CLI on `argv` (without node and the script); returns the exit code. */
export async function main(argv: readonly string[], log: (line: string) => void = (l) => console.log(l)): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    log(MAIN_USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`cnfkit: unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(', ')} (cnfkit --help)`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    log(usage(name, command.summary, command.options));
    return 0;
  }
  try {
    const options = parseOptions(rest, command.options);
    if (!command.files) {
      const info = await ready({ backend: options.backend as BackendChoice | undefined });
      log(`backend: ${info.name} (${info.reason}); cnfkit wasm kernels: ${info.kernels}`);
    }
    return await command.run(options, log, givenOptions(rest));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`cnfkit ${name}: ${e.message}\nrun 'cnfkit ${name} --help' for its options`);
      return 2;
    }
    if (e instanceof CnfkitError) {
      console.error(`cnfkit ${name}: ${e.message}`);
      return 1;
    }
    const file = fileSystemProblem(e);
    if (file) {
      console.error(`cnfkit ${name}: ${file}`);
      return 1;
    }
    throw e;
  }
}

/** What the file system refused, in a line (an unreadable CSV printed a stack trace), or undefined. */
function fileSystemProblem(e: unknown): string | undefined {
  const { code, path, syscall } = (e ?? {}) as NodeJS.ErrnoException;
  const meanings: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'no such file or folder',
    EISDIR: 'it is a folder',
    ENOTDIR: 'a part of the path is not a folder',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EROFS: 'read-only file system',
    EMFILE: 'too many open files',
    EIO: 'input/output error',
  };
  if (typeof code !== 'string' || !(code in meanings) || typeof path !== 'string') return undefined;
  return `cannot ${syscall ?? 'use'} ${path}: ${meanings[code]} (${code})`;
}

/** Whether this module is the program (run directly or through the `cnfkit` bin link), not imported by the tests. */
function isProgram(): boolean {
  try {
    return process.argv[1] !== undefined && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isProgram()) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
