import { UsageError } from '../errors.js';

/** One command-line option: its type, default and help text. Every option is listed by `--help`. */
export interface OptionSpec {
  name: string;
  type: 'string' | 'number' | 'boolean' | 'list';
  description: string;
  default?: string | number | boolean | string[];
  /** Placeholder shown in help, e.g. `DIR`. */
  value?: string;
  /** Allowed values, checked when parsed. */
  choices?: readonly string[];
}

export type OptionValue = string | number | boolean | string[] | undefined;

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, OptionValue>;
  /** Options the user gave explicitly (not defaults); a config file must not override these. */
  given: Set<string>;
}

/** Parses `--name value`, `--name=value`, `--flag`, `--no-flag` against `specs`; unknown flags are errors. */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command: string): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options: Record<string, OptionValue> = {};
  const given = new Set<string>();
  const positionals: string[] = [];
  for (const s of specs) if (s.default !== undefined) options[s.name] = s.default;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let inline: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let spec = byName.get(name);
    if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean') {
      spec = byName.get(name.slice(3))!;
      name = spec.name;
      inline = 'false';
    }
    if (!spec) {
      throw new UsageError(
        `unknown option --${name} for 'lvseg ${command}'; run 'lvseg ${command} --help' for the options`,
      );
    }
    let raw: string;
    if (spec.type === 'boolean') {
      raw = inline ?? 'true';
      if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${name} takes true or false, not '${raw}'`);
      options[name] = raw === 'true';
      given.add(name);
      continue;
    }
    if (inline !== undefined) raw = inline;
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`--${name} needs a value${spec.value ? ` (${spec.value})` : ''}`);
      }
      raw = next;
      i++;
    }
    options[name] = convert(raw, spec);
    given.add(name);
  }
  return { positionals, options, given };
}

function convert(raw: string, spec: OptionSpec): OptionValue {
  if (spec.type === 'number') {
    const n = parseNumber(raw);
    if (n === undefined) throw new UsageError(`--${spec.name} takes a number, not '${raw}'`);
    return n;
  }
  if (spec.type === 'list') {
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (spec.choices) for (const item of items) checkChoice(item, spec);
    return items;
  }
  if (spec.choices) checkChoice(raw, spec);
  return raw;
}

function checkChoice(value: string, spec: OptionSpec): void {
  if (!spec.choices!.includes(value)) {
    throw new UsageError(`--${spec.name} takes one of ${spec.choices!.join(', ')}, not '${value}'`);
  }
}

/** Numbers as users write them: `0.001`, `1e-3`, and fractions like `1/255`. */
export function parseNumber(raw: string): number | undefined {
  const frac = /^\s*([-+]?\d*\.?\d+(?:e[-+]?\d+)?)\s*\/\s*(\d*\.?\d+(?:e[-+]?\d+)?)\s*$/i.exec(raw);
  const n = frac ? Number(frac[1]) / Number(frac[2]) : raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/** The `--help` text: usage line, description and every option with its default. */
export function formatHelp(usage: string, description: string, specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const left = `--${s.name}${s.type === 'boolean' ? '' : ` ${s.value ?? s.type.toUpperCase()}`}`;
    const def =
      s.default === undefined
        ? ''
        : ` (default: ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})`;
    const choices = s.choices ? ` [${s.choices.join('|')}]` : '';
    return [left, `${s.description}${choices}${def}`] as const;
  });
  const width = Math.max(10, ...rows.map(([l]) => l.length)) + 2;
  const lines = [`Usage: ${usage}`, '', description, ''];
  if (rows.length > 0) {
    lines.push('Options:');
    for (const [l, r] of rows) lines.push(`  ${l.padEnd(width)}${r}`);
  }
  return lines.join('\n');
}
