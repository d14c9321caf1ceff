/**
 * What every CLI command receives, and the exit codes the CLI documents in README.md.
 * Commands are `(argv, ctx) => Promise<number>`; they throw `CliError` (or any typed
 * `TesseraError`, mapped by main.ts) instead of printing stack traces.
 */
import { readFileSync } from 'node:fs';
import { TesseraError } from '../util/errors.js';

export const ExitCode = {
  ok: 0,
  /** A run that could not finish (no peers in time, tracker failures for `peers`). */
  failed: 1,
  /** Bad command line. */
  usage: 2,
  /** Bad input: an unreadable or invalid torrent file or magnet link. */
  badInput: 3,
  /** A disk error while reading or writing data. */
  disk: 4,
  /** Interrupted by the user (Ctrl-C); the work done so far is kept. */
  interrupted: 130,
} as const;

export interface CliContext {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly verbose: boolean;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly when it fires. */
  readonly signal: AbortSignal;
}

export type Command = (argv: string[], ctx: CliContext) => Promise<number>;

export class CliError extends TesseraError {
  readonly exitCode: number;
  constructor(exitCode: number, message: string, options?: { cause?: unknown }) {
    super('cli', message, options);
    this.exitCode = exitCode;
  }
}

/** Strip C0/C1 controls and bidi overrides before text from a stranger reaches a terminal. */
export function safeText(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 -> "1.50 KiB": three significant digits or more. */
export function humanBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${n} B`;
  const decimals = v < 10 ? 2 : v < 100 ? 1 : 0;
  // `toFixed` is slow enough to show in `info` on 100,000 files. Below 2^40 · 1024 an integer
  // count of bytes rounds exactly in integers (v = n / 2^(10u) exactly, and toFixed rounds the
  // exact value half up), so compute that; anything else goes to toFixed.
  if (u > 4 || !Number.isSafeInteger(n)) return `${v.toFixed(decimals)} ${UNITS[u]}`;
  const unit = 2 ** (10 * u);
  const whole = Math.floor(v);
  const scale = decimals === 2 ? 100 : decimals === 1 ? 10 : 1;
  const fixed = whole * scale + Math.floor(((n - whole * unit) * scale + unit / 2) / unit);
  if (decimals === 0) return `${fixed} ${UNITS[u]}`;
  const fraction = fixed % scale;
  return `${(fixed - fraction) / scale}.${decimals === 2 && fraction < 10 ? '0' : ''}${fraction} ${UNITS[u]}`;
}

/** The version in package.json, which sits three levels above this file in the build (dist/src/cli). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
