/** Narrowing helpers for decoded values: each returns undefined when the type does not match. */
import { BDict, type BValue } from './types.js';

export function isDict(v: BValue | undefined): v is BDict {
  return v instanceof BDict;
}

export function asDict(v: BValue | undefined): BDict | undefined {
  return v instanceof BDict ? v : undefined;
}

export function asList(v: BValue | undefined): BValue[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

export function asBytes(v: BValue | undefined): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : undefined;
}

/** A safe integer, or undefined (bigints beyond 2^53 are not safe lengths or counts). */
export function asInt(v: BValue | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** Bytes decoded as UTF-8 (invalid sequences become U+FFFD: use only for display or ASCII fields). */
export function asText(v: BValue | undefined): string | undefined {
  return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8') : undefined;
}
