/**
 * Declarative command lines: each command is described once by a table of its options (name,
 * short letter, value placeholder, default, one line of help), and that table drives both the
 * parser and the `--help` text, so the two cannot drift apart.
 *
 * Every mistake is one line that names the offending flag and exits 2 (`CliError` with
 * `ExitCode.usage`); `-h`/`--help` anywhere before `--` asks for the help text instead
 * (`HelpRequested`, printed by main.ts with exit 0).
 */
import { CliError, ExitCode } from './context.js';
import { ownEntry } from '../util/own.js';

export interface OptionDef {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** May be given several times; the values are collected in order. */
  readonly multiple?: boolean;
  /** Placeholder for the value in the help text (`DIR`, `RATE`). */
  readonly value?: string;
  /** Applied when the option is absent (string options only), and shown in the help. */
  readonly default?: string;
  /** Shown as the default when it is not a literal value ("first free of 6881–6889"). */
  readonly defaultText?: string;
  readonly help: string;
}

export type OptionTable = Readonly<Record<string, OptionDef>>;

export interface CommandSpec<O extends OptionTable = OptionTable> {
  readonly name: string;
  /** The positional part of the synopsis: `<file.torrent|magnet:>`. */
  readonly args: string;
  readonly summary: string;
  /** How many positional arguments the command takes. */
  readonly positionals: { readonly min: number; readonly max: number };
  readonly options: O;
}

type ValueOf<D extends OptionDef> = D extends { readonly type: 'boolean' }
  ? boolean
  : D extends { readonly multiple: true }
    ? string[]
    : D extends { readonly default: string }
      ? string
      : string | undefined;

/** Booleans default to false and repeatable options to `[]`; other strings are undefined unless they have a default. */
export type OptionValues<O extends OptionTable> = { -readonly [K in keyof O]: ValueOf<O[K]> };

export interface ParsedCommandLine<O extends OptionTable> {
  readonly values: OptionValues<O>;
  readonly positionals: string[];
}

/** `-h`/`--help` was given: main prints `text` on standard output and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

/** Options every command accepts; main.ts handles them before the command runs. */
export const GLOBAL_OPTIONS: OptionTable = {
  verbose: { type: 'boolean', short: 'v', help: 'print the details of an error (stack, cause)' },
  help: { type: 'boolean', short: 'h', help: 'show this help and exit' },
};

function usageError(spec: CommandSpec, message: string): CliError {
  return new CliError(ExitCode.usage, `${message} (see 'tessera ${spec.name} --help')`);
}

export function parseCommandLine<O extends OptionTable>(argv: readonly string[], spec: CommandSpec<O>): ParsedCommandLine<O> {
  const byShort = new Map<string, string>();
  for (const [name, def] of Object.entries(spec.options)) if (def.short !== undefined) byShort.set(def.short, name);
  const values: Record<string, string | boolean | string[]> = {};
  for (const [name, def] of Object.entries(spec.options)) {
    if (def.type === 'boolean') values[name] = false;
    else if (def.multiple === true) values[name] = [];
    else if (def.default !== undefined) values[name] = def.default;
  }
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') throw new HelpRequested(helpText(spec));
    if (arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    let shown: string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      shown = `--${name}`;
    } else {
      // `-o DIR`, `-oDIR` or `-o=DIR`.
      shown = arg.slice(0, 2);
      name = byShort.get(arg[1]!);
      if (arg.length > 2) inline = arg[2] === '=' ? arg.slice(3) : arg.slice(2);
    }
    const def = name === undefined ? undefined : ownEntry(spec.options, name);
    if (name === undefined || def === undefined) throw usageError(spec, `unknown option '${shown}' for ${spec.name}`);
    if (def.type === 'boolean') {
      if (inline !== undefined) throw usageError(spec, `${shown} takes no value`);
      values[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      // `-o --json` is a forgotten value, not a folder named "--json"; `--opt=-x` passes one.
      if (next === undefined || (next.startsWith('-') && next !== '-')) throw usageError(spec, `${shown} needs a value${def.value !== undefined ? ` (${def.value})` : ''}`);
      value = next;
      i++;
    }
    if (def.multiple === true) (values[name] as string[]).push(value);
    else values[name] = value;
  }
  const { min, max } = spec.positionals;
  if (positionals.length < min || positionals.length > max) {
    const extra = positionals.length > max ? `unexpected argument '${positionals[max]!}'` : `missing ${spec.args}`;
    throw usageError(spec, `${extra}: usage: tessera ${spec.name} ${spec.args}${spec.args === '' ? '' : ' '}[options]`);
  }
  return { values: values as OptionValues<O>, positionals };
}

function optionLabel(name: string, def: OptionDef): string {
  const value = def.type === 'string' ? ` ${def.value ?? 'VALUE'}` : '';
  return `${def.short !== undefined ? `-${def.short}, ` : '    '}--${name}${value}`;
}

function defaultOf(def: OptionDef): string {
  if (def.defaultText !== undefined) return def.defaultText;
  if (def.default !== undefined) return def.default;
  if (def.type === 'boolean') return 'off';
  return def.multiple === true ? 'none' : 'unset';
}

/** The `--help` text: synopsis, summary, then every option with its default. */
export function helpText(spec: CommandSpec): string {
  const rows: [string, string][] = [];
  const all = { ...spec.options, ...GLOBAL_OPTIONS };
  for (const [name, def] of Object.entries(all)) {
    const repeat = def.multiple === true ? ' (repeatable)' : '';
    rows.push([optionLabel(name, def), `${def.help}${repeat} [default: ${defaultOf(def)}]`]);
  }
  const width = Math.min(34, Math.max(...rows.map(([l]) => l.length)) + 2);
  const lines = rows.map(([label, text]) => (label.length + 2 > width ? `  ${label}\n  ${' '.repeat(width)}${text}` : `  ${label.padEnd(width)}${text}`));
  return `usage: tessera ${spec.name}${spec.args === '' ? '' : ` ${spec.args}`} [options]\n\n${spec.summary}\n\noptions:\n${lines.join('\n')}\n`;
}
