/** Parsers for command-line values shared by several commands. */
import type { PeerAddress } from '../metainfo/types.js';
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
