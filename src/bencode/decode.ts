/**
 * An iterative, bounded bencode decoder (BEP 3). It never recurses, so nesting depth is
 * limited only by `maxDepth`, and it checks every length against the remaining input before
 * slicing. Byte strings are zero-copy views into the input.
 *
 * Strict mode (the default, for wire, tracker and DHT data) rejects every non-canonical form.
 * Tolerant mode (for .torrent files) accepts the forms mature clients load — unsorted keys,
 * leading zeros, `i-0e`, trailing bytes — and reports each as a warning. Duplicate keys are
 * always an error: two values for one key make the meaning ambiguous.
 *
 * A caller may name dictionary values to leave unbuilt (`skip`): they are checked exactly like
 * the rest (policy, depth, token budget, warnings in byte order) but allocate nothing, and their
 * byte spans come back in `DecodeResult.skipped` for a specialised reader (a .torrent's `files`
 * list of 100,000 entries would otherwise become 600,000 objects). That reader may also check
 * the value itself in place of the scan (`take`), for the forms it vouches are canonical.
 */
import { C_0, C_9, C_COLON, C_D, C_E, C_I, C_L, C_MINUS, MAX_SAFE, digitsValue } from './digits.js';
import { canonicalByteStringAt, compareBytes, smallIntAt, type ByteSpan } from './cursor.js';
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
  /**
   * Called for each list or dictionary that is a dictionary value, with its key (raw bytes as
   * latin1) and its depth (the number of containers around it: 1 for a value of the root
   * dictionary). When it returns true the value is checked but not built: the dictionary gets
   * no entry for the key, and the span is listed in `DecodeResult.skipped`.
   */
  skip?: (key: string, depth: number) => boolean;
  /**
   * For a value that `skip` named: a reader that may take it in its own single pass, in place
   * of the decoder's scan, given the input and where the value starts. It must answer only for
   * a value the scan would accept without a word: every form canonical, the keys of each
   * dictionary strictly increasing. Then the decoder checks the answer's token count and depth
   * against its budgets, as the scan would, and moves on; else (undefined, or over a budget)
   * the scan runs, and raises the same warnings and errors as without a reader.
   */
  take?: (input: Buffer, start: number) => TakenValue | undefined;
}

/** What a `DecodeOptions.take` reader found in a value it took. */
export interface TakenValue {
  /** Offset just past the value. */
  readonly end: number;
  /** Values in it, counted as the decoder counts them: each list, dictionary, key and end marker is one. */
  readonly tokens: number;
  /** Levels of lists and dictionaries opened, the value's own included. */
  readonly depth: number;
  /** How many values a list holds, or how many entries a dictionary. */
  readonly count: number;
}

/** A dictionary value that was checked but not built (`DecodeOptions.skip`). */
export interface SkippedValue {
  readonly parent: BDict;
  readonly key: string;
  /** Byte span of the value in the input (end exclusive). */
  readonly start: number;
  readonly end: number;
  /** How many values a list holds, or how many entries a dictionary. */
  readonly count: number;
}

export interface DecodeResult {
  value: BValue;
  /** Offset just past the root value. */
  end: number;
  /** Tolerated non-canonical forms (tolerant mode only). */
  warnings: string[];
  /** Values left unbuilt, in byte order (empty without `skip`). */
  skipped: SkippedValue[];
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

// Keys are latin1 strings of the raw bytes, so string order is byte order.
type Frame =
  | { kind: 'list'; list: BValue[] }
  | {
      kind: 'dict';
      dict: BDict;
      key: string | undefined;
      lastKey: string | undefined;
      /** Keys of values that were skipped (they are not in `dict`). */
      skippedKeys: Set<string> | undefined;
    };
type DictFrame = Frame & { kind: 'dict' };

/** Decode one bencoded value, throwing `BencodeError` on anything out of policy. */
export function decode(input: Uint8Array, options: DecodeOptions = {}): BValue {
  return decodeDetailed(input, options).value;
}

export function decodeDetailed(input: Uint8Array, options: DecodeOptions = {}): DecodeResult {
  const strict = options.strict ?? true;
  const maxDepth = options.maxDepth ?? 64;
  const maxTokens = options.maxTokens ?? 3_000_000;
  const skip = options.skip;
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const warnings: string[] = [];
  const skipped: SkippedValue[] = [];
  const stack: Frame[] = [];
  let pos = 0;
  let tokens = 0;
  let root: BValue | undefined;
  let done = false;

  const soft = (code: string, message: string, at: number): void => {
    if (strict) throw new BencodeError(code, message, at);
    if (warnings.length < 100) warnings.push(`${message} at byte ${at}`);
  };

  /** Reads digits from `pos` up to `terminator`; returns where they end, sets `negative`. */
  let negative = false;
  const readDigits = (terminator: number, allowSign: boolean): number => {
    let p = pos;
    negative = false;
    if (allowSign && buf[p] === C_MINUS) {
      negative = true;
      p++;
    }
    const from = p;
    while (p < buf.length && buf[p]! >= C_0 && buf[p]! <= C_9) p++;
    if (p >= buf.length) throw new BencodeError('unexpected-eof', 'unexpected end of input in a number', p);
    if (buf[p] !== terminator) throw new BencodeError('invalid-number', 'invalid character in a number', p);
    if (p === from) throw new BencodeError('invalid-number', 'empty number', p);
    return p;
  };

  /** The integer whose `i` is at `at` (`pos` is just past it); leaves `pos` past its `e`. */
  const readInteger = (at: number): number | bigint => {
    const to = readDigits(C_E, true);
    const from = negative ? at + 2 : at + 1;
    const digits = to - from;
    if (digits > 1 && buf[from] === C_0) soft('leading-zero', 'integer with leading zero', at);
    if (negative && digits === 1 && buf[from] === C_0) soft('negative-zero', 'integer -0', at);
    pos = to + 1;
    if (digits > 20) {
      if (!options.saturate) throw new BencodeError('int-overflow', 'integer out of 64-bit range', at);
      return negative ? INT64_MIN : INT64_MAX;
    }
    const n = digitsValue(buf, from, to);
    if (n !== Infinity) return negative ? -n : n;
    let big = BigInt(buf.toString('latin1', from, to));
    if (negative) big = -big;
    if (big > INT64_MAX || big < INT64_MIN) {
      if (!options.saturate) throw new BencodeError('int-overflow', 'integer out of 64-bit range', at);
      big = big > 0n ? INT64_MAX : INT64_MIN;
    }
    return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big;
  };

  /** The length of the byte string at `pos`; leaves `pos` at its first byte. */
  const readLength = (at: number): number => {
    const to = readDigits(C_COLON, false);
    if (to - at > 1 && buf[at] === C_0) soft('leading-zero', 'string length with leading zero', at);
    const len = digitsValue(buf, at, to);
    if (len > buf.length - (to + 1)) throw new BencodeError('string-past-end', 'string length runs past the end of input', at);
    pos = to + 1;
    return len;
  };

  /** A dictionary key, read straight into a latin1 string without a byte view. */
  const pushKey = (top: DictFrame, key: string, at: number): void => {
    if (top.dict.has(key) || top.skippedKeys?.has(key) === true) throw new BencodeError('duplicate-key', 'duplicate dictionary key', at);
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

  // Per open container of a skipped value, by nesting level: list or dictionary (for those
  // around the innermost, whose kind scanValue keeps in a local); for a dictionary, the previous
  // key's span, and where its keys start in `keySpans` (the spans of the open dictionaries'
  // keys, while each came sorted) or, once one came unsorted, its keys as a set of strings.
  const isDict: boolean[] = [];
  const lastKeyFrom: number[] = [];
  const lastKeyTo: number[] = [];
  const keyBase: number[] = [];
  const keySets: (Set<string> | undefined)[] = [];
  const keySpans: number[] = [];
  // How much of `keySpans` is in use: truncating by index is cheaper than setting `length`.
  let keySpanCount = 0;

  /** Checks the key `buf[from, to)` (its prefix at `at`) of the skipped dictionary at `level`. */
  const checkKey = (level: number, from: number, to: number, at: number): void => {
    const lastFrom = lastKeyFrom[level]!;
    // Below the previous key is unsorted; while the keys come sorted, one above it is new.
    const order = lastFrom < 0 ? 1 : compareBytes(buf, from, to, lastFrom, lastKeyTo[level]!);
    let set = keySets[level];
    if (set === undefined && order <= 0) {
      set = new Set<string>();
      for (let k = keyBase[level]!; k < keySpanCount; k += 2) set.add(buf.toString('latin1', keySpans[k], keySpans[k + 1]));
      keySets[level] = set;
    }
    if (set === undefined) {
      keySpans[keySpanCount++] = from;
      keySpans[keySpanCount++] = to;
    } else {
      const key = buf.toString('latin1', from, to);
      if (set.has(key)) throw new BencodeError('duplicate-key', 'duplicate dictionary key', at);
      set.add(key);
    }
    if (order < 0) soft('unsorted-keys', 'dictionary keys are not sorted', at);
    lastKeyFrom[level] = from;
    lastKeyTo[level] = to;
  };

  /**
   * Checks the list or dictionary at `pos` exactly as the main loop would decode it (same
   * errors at the same offsets, same warnings, same token and depth budget) without building
   * it; leaves `pos` just past it. Returns how many values start at its top level.
   *
   * A skipped value is typically a .torrent's whole file list, read once: the common forms are
   * handled inline, with the position in a local, so the loop runs fast before it is optimized.
   */
  const scanValue = (): number => {
    const outer = stack.length;
    const end = buf.length;
    let p = pos;
    let count = tokens;
    let level = -1;
    let items = 0;
    // The innermost open container: whether it is a dictionary, and then whether a key comes next.
    let inDict = false;
    let wantsKey = false;
    const span: ByteSpan = { from: 0, to: 0 };
    do {
      if (p >= end) throw new BencodeError('unexpected-eof', 'unexpected end of input', p);
      if (++count > maxTokens) throw new BencodeError('too-many-tokens', `more than ${maxTokens} values`, p);
      const c = buf[p]!;
      const at = p;
      const key: boolean = inDict && wantsKey;
      if (level === 0 && c !== C_E) items++;
      if (c === C_I) {
        // Canonical non-negative integers below 10^15 are the common case; the rest take the full path.
        const to = smallIntAt(buf, at, end);
        if (to >= 0) p = to;
        else {
          pos = at + 1;
          readInteger(at);
          p = pos;
        }
        if (key) throw new BencodeError('invalid-key', 'dictionary key is not a byte string', at);
        wantsKey = true;
      } else if (c >= C_0 && c <= C_9) {
        // Likewise canonical lengths (no leading zero) that fit the input.
        let len: number;
        if (canonicalByteStringAt(buf, at, end, span)) {
          p = span.from;
          len = span.to - p;
        } else {
          pos = at;
          len = readLength(at);
          p = pos;
        }
        if (key) {
          // Sorted so far and above the previous key: a new key, the common case, checked here.
          const lastFrom = lastKeyFrom[level]!;
          if (lastFrom < 0 || (keySets[level] === undefined && compareBytes(buf, p, p + len, lastFrom, lastKeyTo[level]!) > 0)) {
            keySpans[keySpanCount++] = p;
            keySpans[keySpanCount++] = p + len;
            lastKeyFrom[level] = p;
            lastKeyTo[level] = p + len;
          } else checkKey(level, p, p + len, at);
        }
        wantsKey = !key;
        p += len;
      } else if (c === C_L || c === C_D) {
        if (outer + level + 1 >= maxDepth) throw new BencodeError('too-deep', `nesting deeper than ${maxDepth}`, at);
        if (key) throw new BencodeError('invalid-key', 'dictionary key is not a byte string', at);
        if (level >= 0) isDict[level] = inDict;
        p++;
        level++;
        inDict = c === C_D;
        wantsKey = true;
        lastKeyFrom[level] = -1;
        lastKeyTo[level] = -1;
        keyBase[level] = keySpanCount;
        keySets[level] = undefined;
      } else if (c === C_E) {
        if (level < 0) throw new BencodeError('unexpected-end', 'unexpected end marker', at);
        if (inDict && !wantsKey) throw new BencodeError('missing-value', 'dictionary key without a value', at);
        keySpanCount = keyBase[level]!;
        p++;
        level--;
        if (level >= 0) inDict = isDict[level]!;
        wantsKey = true;
      } else {
        throw new BencodeError('invalid-token', `unexpected byte 0x${c.toString(16).padStart(2, '0')}`, at);
      }
    } while (level >= 0);
    pos = p;
    tokens = count;
    return items;
  };

  while (!done) {
    if (pos >= buf.length) throw new BencodeError('unexpected-eof', 'unexpected end of input', pos);
    if (++tokens > maxTokens) throw new BencodeError('too-many-tokens', `more than ${maxTokens} values`, pos);
    const c = buf[pos]!;
    const at = pos;
    if (c === C_I) {
      pos++;
      push(readInteger(at), at);
    } else if (c >= C_0 && c <= C_9) {
      const len = readLength(at);
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
      if (top?.kind === 'dict' && skip?.(top.key!, stack.length) === true) {
        // The token count was taken for this container already; scanValue counts it again.
        tokens--;
        const taken = options.take?.(buf, at);
        let count: number;
        if (taken !== undefined && tokens + taken.tokens <= maxTokens && stack.length + taken.depth <= maxDepth) {
          pos = taken.end;
          tokens += taken.tokens;
          count = taken.count;
        } else {
          const items = scanValue();
          count = c === C_D ? items / 2 : items;
        }
        skipped.push({ parent: top.dict, key: top.key!, start: at, end: pos, count });
        (top.skippedKeys ??= new Set()).add(top.key!);
        top.lastKey = top.key;
        top.key = undefined;
        continue;
      }
      pos++;
      if (c === C_L) {
        stack.push({ kind: 'list', list: [] });
      } else {
        const dict = new BDict();
        dict.start = at;
        stack.push({ kind: 'dict', dict, key: undefined, lastKey: undefined, skippedKeys: undefined });
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
  return { value: root as BValue, end: pos, warnings, skipped };
}
