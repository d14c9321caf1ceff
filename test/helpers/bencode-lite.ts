/**
 * A minimal bencode reader for test oracles, independent of the project's codec: it reads
 * trusted inputs (torrents made by mktorrent, tracker replies) and remembers each dictionary
 * value's byte span so the info hash is taken over the original bytes.
 */

export type BValue = Buffer | number | BValue[] | BDict;

export interface BEntry {
  readonly value: BValue;
  readonly start: number;
  readonly end: number;
}

export type BDict = Map<string, BEntry>;

function fail(pos: number, what: string): never {
  throw new Error(`bencode-lite: ${what} at byte ${pos}`);
}

function readValue(buf: Buffer, pos: number, depth: number): { value: BValue; end: number } {
  if (depth > 32) fail(pos, 'too deep');
  const c = buf[pos];
  if (c === undefined) fail(pos, 'unexpected end');
  if (c === 0x69) {
    const e = buf.indexOf(0x65, pos);
    if (e < 0) fail(pos, 'unterminated integer');
    const n = Number(buf.toString('latin1', pos + 1, e));
    if (!Number.isSafeInteger(n)) fail(pos, 'bad integer');
    return { value: n, end: e + 1 };
  }
  if (c === 0x6c) {
    const list: BValue[] = [];
    let p = pos + 1;
    while (buf[p] !== 0x65) {
      const item = readValue(buf, p, depth + 1);
      list.push(item.value);
      p = item.end;
    }
    return { value: list, end: p + 1 };
  }
  if (c === 0x64) {
    const dict: BDict = new Map();
    let p = pos + 1;
    while (buf[p] !== 0x65) {
      const key = readValue(buf, p, depth + 1);
      if (!Buffer.isBuffer(key.value)) fail(p, 'dictionary key is not a string');
      const val = readValue(buf, key.end, depth + 1);
      dict.set(key.value.toString('latin1'), { value: val.value, start: key.end, end: val.end });
      p = val.end;
    }
    return { value: dict, end: p + 1 };
  }
  const colon = buf.indexOf(0x3a, pos);
  const len = Number(buf.toString('latin1', pos, colon));
  if (colon < 0 || !Number.isSafeInteger(len) || len < 0 || colon + 1 + len > buf.length) fail(pos, 'bad string');
  return { value: buf.subarray(colon + 1, colon + 1 + len), end: colon + 1 + len };
}

/** Decode one complete bencoded value. */
export function decode(buf: Buffer): BValue {
  const { value, end } = readValue(buf, 0, 0);
  if (end !== buf.length) fail(end, 'trailing bytes');
  return value;
}

export function asDict(v: BValue | undefined, what: string): BDict {
  if (!(v instanceof Map)) throw new Error(`bencode-lite: ${what} is not a dictionary`);
  return v;
}

export function asBytes(v: BValue | undefined, what: string): Buffer {
  if (!Buffer.isBuffer(v)) throw new Error(`bencode-lite: ${what} is not a string`);
  return v;
}

export function asNumber(v: BValue | undefined, what: string): number {
  if (typeof v !== 'number') throw new Error(`bencode-lite: ${what} is not an integer`);
  return v;
}

export function asList(v: BValue | undefined, what: string): BValue[] {
  if (!Array.isArray(v)) throw new Error(`bencode-lite: ${what} is not a list`);
  return v;
}

function encodeString(s: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${s.length}:`, 'latin1'), s]);
}

/**
 * Re-encode a top-level dictionary from the raw bytes of its values, with some keys replaced
 * by already-encoded values (or removed with `null`). Keys stay in sorted byte order.
 */
export function rewriteTopLevel(original: Buffer, replace: ReadonlyMap<string, Buffer | null>): Buffer {
  const dict = asDict(decode(original), 'top level');
  const entries = new Map<string, Buffer>();
  for (const [key, entry] of dict) entries.set(key, original.subarray(entry.start, entry.end));
  for (const [key, value] of replace) {
    if (value === null) entries.delete(key);
    else entries.set(key, value);
  }
  const keys = [...entries.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
  const parts: Buffer[] = [Buffer.from('d')];
  for (const key of keys) parts.push(encodeString(Buffer.from(key, 'latin1')), entries.get(key) as Buffer);
  parts.push(Buffer.from('e'));
  return Buffer.concat(parts);
}

/** The bencoding of a string. */
export function bencodeString(s: string): Buffer {
  return encodeString(Buffer.from(s, 'utf8'));
}
