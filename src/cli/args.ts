/**
 * Command-line arguments: `--name value` and `--flag`, checked against each command's declared
 * options. A problem is a UsageError (exit code 2) that names the argument.
 */

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

/** Parses `argv` (after the command) against `specs`. */
export function parseOptions(argv: readonly string[], specs: readonly OptionSpec[]): ParsedOptions {
  const out: ParsedOptions = {};
  for (const s of specs) if (s.default !== undefined) out[s.name] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const [name, inline] = arg.slice(2).split('=', 2);
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.kind === 'flag') {
      out[name] = true;
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined || raw.startsWith('--')) throw new UsageError(`--${name} needs a value`);
    if (spec.kind === 'string') {
      if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}, but got '${raw}'`);
      out[name] = raw;
    } else {
      const value = Number(raw);
      const inRange = spec.range === 'positive' ? value > 0 : spec.range === 'non-negative' ? value >= 0 : true;
      if (raw.trim() === '' || !Number.isFinite(value) || !inRange || (spec.kind === 'integer' && (!Number.isInteger(value) || value < 1))) {
        const expected = spec.kind === 'integer' ? 'a positive integer' : spec.range ? `a ${spec.range} number` : 'a number';
        throw new UsageError(`--${name} must be ${expected}, but got '${raw}'`);
      }
      out[name] = value;
    }
  }
  for (const s of specs) if (s.required && out[s.name] === undefined) throw new UsageError(`--${s.name} is required`);
  return out;
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
