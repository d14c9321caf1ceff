/** Parsers for command-line values shared by several commands. */
import type { PeerAddress } from '../metainfo/types.js';
import { ENCRYPTION_POLICIES, type EncryptionPolicy, type MismatchNote } from '../mse/index.js';
import { CliError, ExitCode } from './context.js';

/** `host:port` or `[v6]:port`. */
export function parsePeerArg(s: string): PeerAddress {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]]+):(\d{1,5})$/.exec(s);
  const port = m !== null ? Number(m[2]) : NaN;
  if (m === null || !(port > 0 && port <= 65535)) throw new CliError(ExitCode.usage, `--peer wants host:port, got '${s}'`);
  return { host: m[1]!, port };
}

/** `90`, `90s`, `15m`, `2h`, `1d` -> seconds. */
export function parseDuration(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(s.trim());
  if (m === null) throw new CliError(ExitCode.usage, `${flag} wants a duration such as 90, 90s, 15m, 2h or 1d, got '${s}'`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** A TCP/UDP port, 0–65535 (0 lets the system pick). */
export function parsePort(s: string, flag: string): number {
  return parseIntIn(s, flag, 0, 65535);
}

/** A whole number from `min` to `max`. */
export function parseIntIn(s: string, flag: string, min: number, max: number): number {
  const n = Number(s);
  if (!/^\d+$/.test(s.trim()) || n < min || n > max) throw new CliError(ExitCode.usage, `${flag} wants a whole number from ${min} to ${max}, got '${s}'`);
  return n;
}

const RATE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * A transfer rate in bytes per second, as aria2c writes it: `500k`, `20M`, `1.5m`, `65536`;
 * K, M and G are powers of 1024 (an optional trailing `B`, `iB` or `/s` is accepted). `0` means
 * no limit, returned as 0.
 */
export function parseRate(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:\/s)?$/i.exec(s.trim());
  const bytes = m === null ? NaN : Number(m[1]) * RATE_UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isFinite(bytes) || bytes > 2 ** 40) throw new CliError(ExitCode.usage, `${flag} wants a rate such as 500k or 20M (bytes per second, K/M/G = 1024^n), got '${s}'`);
  return Math.round(bytes);
}

/** `--encryption prefer|require|off` (default prefer). */
export function parseEncryption(s: string | undefined): EncryptionPolicy {
  if (s === undefined) return 'prefer';
  if (!(ENCRYPTION_POLICIES as readonly string[]).includes(s)) throw new CliError(ExitCode.usage, `--encryption wants prefer, require or off, got '${s}'`);
  return s as EncryptionPolicy;
}

/** For `--verbose`: one line per peer whose encryption policy did not meet ours. */
export function encryptionNoteLine(note: MismatchNote): string {
  return note.kind === 'requires-encryption'
    ? `peer ${note.address} requires encryption (it opened with MSE, or closed our plaintext handshake)`
    : `peer ${note.address} refuses encryption (it sent a plaintext handshake, or dropped our encrypted one)`;
}
