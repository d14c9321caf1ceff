/**
 * An iterative, bounded bencode decoder (BEP 3). It never recurses, so nesting depth is
 * limited only by `maxDepth`, and it checks every length against the remaining input before
 * slicing. Byte strings are zero-copy views into the input.
 *
 * Strict mode (the default, for wire, tracker and DHT data) rejects every non-canonical form.
 * Tolerant mode (for .torrent files) accepts the forms mature clients load — unsorted keys,
 * leading zeros, `i-0e`, trailing bytes — and reports each as a warning. Duplicate keys are
 * always an error: two values for one key make the meaning ambiguous.
 */
import { BencodeError } from './errors.js';
import { BDict, type BValue } from './types.js';

export interface DecodeOptions {
  /** Reject non-canonical forms (default true). */
  strict?: boolean;
  /** Maximum nesting of lists and dictionaries (default 64). */
  maxDepth?: number;
  /** Maximum number of values (default 3,000,000). */
  maxTokens?: number;
  /** Allow bytes after the root value; they are then not an error (default false). */
  allowTrailing?: boolean;
  /**
   * Integers beyond the signed 64-bit range become its nearest bound (as bigints) instead of an
   * error, so one absurd count in a tracker reply does not void the rest (default false).
   */
  saturate?: boolean;
}

export interface DecodeResult {
  value: BValue;
  /** Offset just past the root value. */
  end: number;
  /** Tolerated non-canonical forms (tolerant mode only). */
  warnings: string[];
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const C_0 = 0x30;
const C_9 = 0x39;
const C_COLON = 0x3a;
const C_MINUS = 0x2d;
const C_D = 0x64;
const C_E = 0x65;
const C_I = 0x69;
const C_L = 0x6c;

type Frame =
  | { kind: 'list'; list: BValue[] }
  // Keys are latin1 strings of the raw bytes, so string order is byte order.
  | { kind: 'dict'; dict: BDict; key: string | undefined; lastKey: string | undefined };

/** Decode one bencoded value, throwing `BencodeError` on anything out of policy. */
export function decode(input: Uint8Array, options: DecodeOptions = {}): BValue {
  return decodeDetailed(input, options).value;
}

export function decodeDetailed(input: Uint8Array, options: DecodeOptions = {}): DecodeResult {
  const strict = options.strict ?? true;
  const maxDepth = options.maxDepth ?? 64;
  const maxTokens = options.maxTokens ?? 3_000_000;
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const warnings: string[] = [];
  const stack: Frame[] = [];
  let pos = 0;
  let tokens = 0;
  let root: BValue | undefined;
  let done = false;

  const soft = (code: string, message: string, at: number): void => {
    if (strict) throw new BencodeError(code, message, at);
    if (warnings.length < 100) warnings.push(`${message} at byte ${at}`);
  };

  // The digit span of the number being read (module of readDigits; no object per number).
  let numNeg = false;
  let numFrom = 0;
  let numTo = 0;
  /** Reads digits from `pos` up to `terminator` into numNeg/numFrom/numTo. */
  const readDigits = (terminator: number, allowSign: boolean): void => {
    let p = pos;
    numNeg = false;
    if (allowSign && buf[p] === C_MINUS) {
      numNeg = true;
      p++;
    }
    const from = p;
    while (p < buf.length && buf[p]! >= C_0 && buf[p]! <= C_9) p++;
    if (p >= buf.length) throw new BencodeError('unexpected-eof', 'unexpected end of input in a number', p);
    if (buf[p] !== terminator) throw new BencodeError('invalid-number', 'invalid character in a number', p);
    if (p === from) throw new BencodeError('invalid-number', 'empty number', p);
    numFrom = from;
    numTo = p;
  };

  /** A dictionary key, read straight into a latin1 string without a byte view. */
  const pushKey = (top: Frame & { kind: 'dict' }, key: string, at: number): void => {
    if (top.dict.has(key)) throw new BencodeError('duplicate-key', 'duplicate dictionary key', at);
    if (top.lastKey !== undefined && top.lastKey > key) soft('unsorted-keys', 'dictionary keys are not sorted', at);
    top.key = key;
  };

  const push = (value: BValue, at: number): void => {
    const top = stack[stack.length - 1];
    if (top === undefined) {
      root = value;
      done = true;
    } else if (top.kind === 'list') {
      top.list.push(value);
    } else if (top.key === undefined) {
      throw new BencodeError('invalid-key', 'dictionary key is not a byte string', at);
    } else {
      top.dict.set(top.key, value);
      top.lastKey = top.key;
      top.key = undefined;
    }
  };

  while (!done) {
    if (pos >= buf.length) throw new BencodeError('unexpected-eof', 'unexpected end of input', pos);
    if (++tokens > maxTokens) throw new BencodeError('too-many-tokens', `more than ${maxTokens} values`, pos);
    const c = buf[pos]!;
    const at = pos;
    if (c === C_I) {
      pos++;
      readDigits(C_E, true);
      const from = numFrom;
      const to = numTo;
      const digits = to - from;
      if (digits > 1 && buf[from] === C_0) soft('leading-zero', 'integer with leading zero', at);
      if (numNeg && digits === 1 && buf[from] === C_0) soft('negative-zero', 'integer -0', at);
      pos = to + 1;
      if (digits > 20) {
        if (!options.saturate) throw new BencodeError('int-overflow', 'integer out of 64-bit range', at);
        push(numNeg ? INT64_MIN : INT64_MAX, at);
        continue;
      }
      if (digits <= 15) {
        // Below 10^15 a double is exact: skip the BigInt.
        let n = 0;
        for (let i = from; i < to; i++) n = n * 10 + (buf[i]! - C_0);
        push(numNeg ? -n : n, at);
      } else {
        let big = BigInt(buf.toString('latin1', from, to));
        if (numNeg) big = -big;
        if (big > INT64_MAX || big < INT64_MIN) {
          if (!options.saturate) throw new BencodeError('int-overflow', 'integer out of 64-bit range', at);
          big = big > 0n ? INT64_MAX : INT64_MIN;
        }
        push(big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big, at);
      }
    } else if (c >= C_0 && c <= C_9) {
      readDigits(C_COLON, false);
      const from = numFrom;
      const to = numTo;
      const digits = to - from;
      if (digits > 1 && buf[from] === C_0) soft('leading-zero', 'string length with leading zero', at);
      // Count digits first so a huge prefix never becomes an imprecise number.
      let len = digits > 15 ? Infinity : 0;
      for (let i = from; i < to && len !== Infinity; i++) len = len * 10 + (buf[i]! - C_0);
      if (len > buf.length - (to + 1)) throw new BencodeError('string-past-end', 'string length runs past the end of input', at);
      pos = to + 1;
      const top = stack[stack.length - 1];
      if (top !== undefined && top.kind === 'dict' && top.key === undefined) pushKey(top, buf.toString('latin1', pos, pos + len), at);
      else push(buf.subarray(pos, pos + len), at);
      pos += len;
    } else if (c === C_L || c === C_D) {
      if (stack.length >= maxDepth) throw new BencodeError('too-deep', `nesting deeper than ${maxDepth}`, at);
      const top = stack[stack.length - 1];
      if (top !== undefined && top.kind === 'dict' && top.key === undefined) {
        throw new BencodeError('invalid-key', 'dictionary key is not a byte string', at);
      }
      pos++;
      if (c === C_L) {
        stack.push({ kind: 'list', list: [] });
      } else {
        const dict = new BDict();
        dict.start = at;
        stack.push({ kind: 'dict', dict, key: undefined, lastKey: undefined });
      }
    } else if (c === C_E) {
      const top = stack.pop();
      if (top === undefined) throw new BencodeError('unexpected-end', 'unexpected end marker', at);
      pos++;
      if (top.kind === 'list') {
        push(top.list, at);
      } else {
        if (top.key !== undefined) throw new BencodeError('missing-value', 'dictionary key without a value', at);
        top.dict.end = pos;
        push(top.dict, at);
      }
    } else {
      throw new BencodeError('invalid-token', `unexpected byte 0x${c.toString(16).padStart(2, '0')}`, at);
    }
  }

  if (pos < buf.length && !options.allowTrailing) soft('trailing-bytes', `${buf.length - pos} bytes after the root value`, pos);
  return { value: root as BValue, end: pos, warnings };
}
