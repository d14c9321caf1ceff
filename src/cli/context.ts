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

/** 1536 -> "1.5 KiB". */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
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
