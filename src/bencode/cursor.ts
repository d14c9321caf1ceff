/**
 * A reader over bencode that `decode` has already accepted, typically a span from
 * `DecodeResult.skipped`: it walks values in place and builds nothing the caller does not ask
 * for. It trusts the structure it was given, yet still checks bounds, so bytes that were never
 * checked throw `BencodeError` instead of being read past their end.
 */
import { bigDigits, C_0, C_9, C_COLON, C_D, C_E, C_I, C_L, C_MINUS, digitsValue } from './digits.js';
import { BencodeError } from './errors.js';

export type TokenKind = 'int' | 'bytes' | 'list' | 'dict' | 'end';

export class BencodeCursor {
  /** Span of the byte string read last by `bytes()`. */
  from = 0;
  to = 0;

  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  /** The kind of the token at `pos` (`end` for the end marker of a list or dictionary). */
  kind(): TokenKind {
    const c = this.byte(this.pos);
    if (c === C_I) return 'int';
    if (c === C_L) return 'list';
    if (c === C_D) return 'dict';
    if (c === C_E) return 'end';
    if (c >= C_0 && c <= C_9) return 'bytes';
    throw new BencodeError('invalid-token', `unexpected byte 0x${c.toString(16).padStart(2, '0')}`, this.pos);
  }

  /** Steps into the list or dictionary at `pos`. */
  enter(): void {
    this.pos++;
  }

  /** At the end marker of the current list or dictionary: steps past it and returns true. */
  leave(): boolean {
    if (this.byte(this.pos) !== C_E) return false;
    this.pos++;
    return true;
  }

  /** Reads the byte string at `pos` into `from`/`to`. */
  bytes(): void {
    const colon = this.digitsEnd(this.pos, C_COLON);
    const len = digitsValue(this.buf, this.pos, colon);
    if (len > this.end - colon - 1) throw new BencodeError('string-past-end', 'string length runs past the end of input', this.pos);
    this.from = colon + 1;
    this.to = this.from + len;
    this.pos = this.to;
  }

  /** Reads the byte string at `pos` as a latin1 string (dictionary keys). */
  key(): string {
    this.bytes();
    return this.buf.toString('latin1', this.from, this.to);
  }

  /** Reads the integer at `pos`: a number when it is a safe integer, else a bigint. */
  int(): number | bigint {
    const neg = this.byte(this.pos + 1) === C_MINUS;
    const from = this.pos + (neg ? 2 : 1);
    const to = this.digitsEnd(from, C_E);
    this.pos = to + 1;
    const n = digitsValue(this.buf, from, to);
    if (n !== Infinity) return neg ? -n : n;
    return bigDigits(this.buf, from, to, neg);
  }

  /** Steps over the value at `pos`, whatever it holds. */
  skip(): void {
    let depth = 0;
    do {
      const kind = this.kind();
      if (kind === 'bytes') this.bytes();
      else if (kind === 'int') this.int();
      else if (kind === 'end') {
        this.pos++;
        depth--;
      } else {
        this.pos++;
        depth++;
      }
    } while (depth > 0);
  }

  private byte(at: number): number {
    if (at >= this.end) throw new BencodeError('unexpected-eof', 'unexpected end of input', at);
    return this.buf[at]!;
  }

  /** Where the digits from `at` end, at `terminator`. */
  private digitsEnd(at: number, terminator: number): number {
    const buf = this.buf;
    const end = this.end;
    let p = at;
    while (p < end && buf[p]! >= C_0 && buf[p]! <= C_9) p++;
    if (p >= end) throw new BencodeError('unexpected-eof', 'unexpected end of input in a number', p);
    if (buf[p] !== terminator) throw new BencodeError('invalid-number', 'invalid character in a number', p);
    return p;
  }
}

/** A byte string's contents: `buf[from, to)`. */
export interface ByteSpan {
  from: number;
  to: number;
}

/**
 * Reads the span of the byte string at `buf[p]` into `span`, in one plain loop (for loops over
 * many values that cannot afford a call per digit); false when there is none there that fits
 * before `end`, or its length has more than 15 digits.
 */
export function byteStringAt(buf: Uint8Array, p: number, end: number, span: ByteSpan): boolean {
  let n = 0;
  let q = p;
  for (; q < end; q++) {
    const d = buf[q]!;
    if (d < C_0 || d > C_9) break;
    n = n * 10 + (d - C_0);
  }
  if (q === p || q >= end || buf[q] !== C_COLON || q - p > 15 || n > end - q - 1) return false;
  span.from = q + 1;
  span.to = q + 1 + n;
  return true;
}

/** `byteStringAt` for a canonical byte string only: no leading zero in its length. */
export function canonicalByteStringAt(buf: Uint8Array, p: number, end: number, span: ByteSpan): boolean {
  return byteStringAt(buf, p, end, span) && (buf[p] !== C_0 || span.from === p + 2);
}

/**
 * Where the integer at `buf[at]` ends (past its `e`) when it is canonical, non-negative and of
 * at most 15 digits (below 10^15 a double is exact: its value is `digitsValue(buf, at + 1,
 * end - 1)`); -1 for any other integer, or none.
 */
export function smallIntAt(buf: Uint8Array, at: number, end: number): number {
  let to = at + 1;
  while (to < end && buf[to]! >= C_0 && buf[to]! <= C_9) to++;
  const digits = to - at - 1;
  return buf[to] === C_E && digits > 0 && digits <= 15 && (digits === 1 || buf[at + 1] !== C_0) ? to + 1 : -1;
}

/** Compares the bytes `buf[a, aEnd)` and `buf[b, bEnd)` as latin1 strings compare (dictionary key order). */
export function compareBytes(buf: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): number {
  const n = Math.min(aEnd - a, bEnd - b);
  for (let i = 0; i < n; i++) {
    const d = buf[a + i]! - buf[b + i]!;
    if (d !== 0) return d;
  }
  return aEnd - a - (bEnd - b);
}

/**
 * Reads the spans of a list of byte strings whose items start at `buf[p]` (just past its `l`)
 * into `spans`: from, to, from, to, ... Written by index and the length set once, since
 * setting it to 0 would free the array's store and the next list would allocate it again.
 * Returns where the list ends (past its `e`), or -1 when an item is not a byte string that
 * `byteStringAt` reads, or the list does not end before `end`.
 */
export function byteStringListAt(buf: Uint8Array, p: number, end: number, spans: number[], span: ByteSpan): number {
  let n = 0;
  while (p < end && buf[p] !== C_E) {
    if (!byteStringAt(buf, p, end, span)) return -1;
    spans[n++] = span.from;
    spans[n++] = span.to;
    p = span.to;
  }
  if (p >= end) return -1;
  if (spans.length !== n) spans.length = n;
  return p + 1;
}
