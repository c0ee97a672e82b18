/**
 * Command-line arguments: `--name value` and `--flag`, checked against each command's declared
 * options. A problem is a UsageError (exit code 2) that names the argument.
 */
import { parseArgs } from 'node:util';

/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** One option of a command. */
export interface OptionSpec {
  readonly name: string;
  readonly kind: 'string' | 'number' | 'integer' | 'flag';
  readonly help: string;
  readonly default?: string | number | boolean;
  readonly choices?: readonly string[];
  readonly required?: boolean;
  /** For numbers: the values allowed (checked before anything runs). */
  readonly range?: 'positive' | 'non-negative';
}

export type ParsedOptions = Record<string, string | number | boolean | undefined>;

/**
 * Parses `argv` (after the command) against `specs`: Node's util.parseArgs does the parsing (strict:
 * unknown options and stray arguments are errors); the checks of choices, numbers and ranges, the
 * defaults and the required options are cnfkit's, on top.
 */
export function parseOptions(argv: readonly string[], specs: readonly OptionSpec[]): ParsedOptions {
  const raw = parseStrict(argv, specs);
  const out: ParsedOptions = {};
  for (const s of specs) if (s.default !== undefined) out[s.name] = s.default;
  for (const spec of specs) {
    const value = raw[spec.name];
    if (value === undefined) continue;
    if (typeof value === 'boolean') {
      out[spec.name] = value;
    } else if (spec.kind === 'string') {
      if (value.trim() === '') throw new UsageError(`--${spec.name} must not be empty`);
      if (spec.choices && !spec.choices.includes(value)) throw new UsageError(`--${spec.name} must be one of ${spec.choices.join(', ')}, but got '${value}'`);
      out[spec.name] = value;
    } else {
      out[spec.name] = checkedNumber(spec, value);
    }
  }
  for (const s of specs) if (s.required && out[s.name] === undefined) throw new UsageError(`--${s.name} is required`);
  return out;
}

/** util.parseArgs over the specs, its errors as UsageErrors that name the argument. */
function parseStrict(argv: readonly string[], specs: readonly OptionSpec[]): Record<string, string | boolean | undefined> {
  const options = Object.fromEntries(specs.map((s) => [s.name, { type: s.kind === 'flag' ? ('boolean' as const) : ('string' as const) }]));
  try {
    return parseArgs({ args: joinNegativeValues(argv, specs), options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    const { code, message } = e as { code?: string; message: string };
    const option = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${option}`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument '${/'([^']*)'/.exec(message)?.[1] ?? ''}'`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(/does not take an argument/.test(message) ? `${option} takes no value` : `${option} needs a value`);
    }
    throw e;
  }
}

/**
 * `--lr -1` as `--lr=-1`: util.parseArgs refuses a value that starts with a dash as ambiguous, but a
 * negative number is a value here (a wrong one, which the range check then names).
 */
function joinNegativeValues(argv: readonly string[], specs: readonly OptionSpec[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const spec = specs.find((s) => `--${s.name}` === argv[i]);
    const next = argv[i + 1];
    if (spec && spec.kind !== 'flag' && next !== undefined && /^-\d|^-\./.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

/** A number option's value, checked against its kind and range. */
function checkedNumber(spec: OptionSpec, raw: string): number {
  const value = Number(raw);
  const inRange = spec.range === 'positive' ? value > 0 : spec.range === 'non-negative' ? value >= 0 : true;
  // Integers stay exact (2^53 at most): past that, counting to them never ends or skips.
  if (raw.trim() === '' || !Number.isFinite(value) || !inRange || (spec.kind === 'integer' && (!Number.isSafeInteger(value) || value < 1))) {
    const expected = spec.kind === 'integer' ? 'a positive integer (at most 2^53)' : spec.range ? `a ${spec.range} number` : 'a number';
    throw new UsageError(`--${spec.name} must be ${expected}, but got '${raw}'`);
  }
  return value;
}

/** The option names given on the command line (not filled in by defaults). */
export function givenOptions(argv: readonly string[]): Set<string> {
  return new Set(argv.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=', 1)[0]));
}

/** The help text of a command. */
export function usage(command: string, summary: string, specs: readonly OptionSpec[]): string {
  const lines = specs.map((s) => {
    const value = s.kind === 'flag' ? '' : s.choices ? ` <${s.choices.join('|')}>` : ` <${s.kind === 'string' ? 'value' : 'n'}>`;
    const extra = s.required ? ' (required)' : s.default !== undefined ? ` (default ${s.default})` : '';
    // Long choice lists get the help on the next line rather than running into it.
    const head = `  --${s.name}${value}`;
    return (head.length < 43 ? head.padEnd(44) : `${head}\n${' '.repeat(44)}`) + s.help + extra;
  });
  return [`usage: cnfkit ${command} [options]`, '', summary, '', 'options:', ...lines].join('\n');
}
