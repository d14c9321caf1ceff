/**
 * The v1 `files` list (BEP 3, with BEP 47 pad files, attributes and symlinks), read straight
 * from the .torrent bytes into a `FileTable`. The bencode decoder has already checked the span
 * (`DecodeOptions.skip`), or had a list of plain entries read and checked in its own pass
 * (`takePlainList`); this reader applies the metainfo rules to it without building a
 * dictionary, list or byte view per file. Anything out of the ordinary (a `path.utf-8` list,
 * attributes, symlinks, a component that sanitizing changes) takes the same steps as an
 * ordinary decoded value would, so the warnings and errors are the same either way.
 *
 * Kept in one file past 500 lines: `takePlainList` and the entry-by-entry reader must agree on
 * exactly which entries are plain (the same key table, `isEntryKey`, `startsWith`), and a
 * property test holds them to it; side by side, a change to one is read with the other.
 */
import { C_0, C_9, C_D, C_E, C_I, C_L, digitsValue } from '../bencode/digits.js';
import {
  asBytes,
  asList,
  BencodeCursor,
  byteStringAt,
  byteStringListAt,
  canonicalByteStringAt,
  compareBytes,
  decode,
  smallIntAt,
  type BValue,
  type ByteSpan,
  type TakenValue,
} from '../bencode/index.js';
import { MetainfoError } from './errors.js';
import { FileTable, NO_FOLDER, NO_LIST } from './file-table.js';
import type { RawFile } from './hybrid.js';
import { grown } from './key-set.js';
import { PathRegistry } from './path-registry.js';
import { decodeUtf8Strict, isPlainComponent, MAX_PATH_COMPONENTS, sanitizePath } from './safe-path.js';

export const MAX_FILES = 1_000_000;

/** BitComet-era pad files flagged only by name (libtorrent pad_file.torrent). */
const LEGACY_PAD = Buffer.from('_____padding_file_');
const PAD_DIR = Buffer.from('.pad');

function fail(code: string, message: string): never {
  throw new MetainfoError(code, message);
}

/** A length field: a non-negative safe integer, else a typed error naming `where`. */
export function lengthField(v: BValue | undefined, where: string): number {
  if (typeof v === 'bigint') fail('invalid-length', `${where} ${v} is too large`);
  if (typeof v !== 'number') fail('invalid-length', `missing or invalid ${where}`);
  if (v < 0) fail('invalid-length', `${where} is negative (${v})`);
  return v;
}

export interface ParsedFiles {
  readonly table: FileTable;
  readonly total: number;
  /** The files before sanitizing, for the hybrid check (made on demand). */
  readonly raw: () => RawFile[];
}

/** Where the values of one file dictionary's known keys start (-1: absent). */
interface EntryKeys {
  length: number;
  path: number;
  pathUtf8: number;
  attr: number;
  symlink: number;
  /** The first item of `path` that is not a byte string (-1: none; NOT_A_LIST: `path` is no list). */
  pathBad: number;
  /** The value of `length` when `readPlainEntry` read it (-1: read it at `length`). */
  lengthValue: number;
}

const NOT_A_LIST = -2;

/** `files[i]`, for messages: made only when one is needed. */
const entryName = (i: number): string => `files[${i}]`;

/**
 * Reads the `files` value at `source[start, end)`, which the decoder has accepted (with
 * `count` entries, when the decoder counted them), from `plain` when `takePlainList` read it.
 * `notes` collects one warning line per sanitized name.
 */
export function readFileList(source: Buffer, start: number, end: number, notes: string[], count?: number, plain?: PlainList): ParsedFiles {
  const cur = new BencodeCursor(source, start, end);
  if (cur.kind() !== 'list') fail('invalid-files', "'files' is not a list");
  cur.enter();
  const n = count ?? countItems(cur);
  if (n === 0) fail('no-files', "'files' is empty");
  if (n > MAX_FILES) fail('too-many-files', `'files' has ${n} entries (limit ${MAX_FILES})`);

  const lengths = new Float64Array(n);
  const offsets = new Float64Array(n);
  const pad = new Uint8Array(n);
  const listAt = new Uint32Array(n).fill(NO_LIST);
  // The raw path's list (path or path.utf-8), for the hybrid check; NO_LIST for a made-up pad path.
  const rawAt = new Uint32Array(n).fill(NO_LIST);
  const folder = new Int32Array(n).fill(NO_FOLDER);
  const nameFrom = new Int32Array(n).fill(-1);
  const nameTo = new Int32Array(n).fill(-1);
  const paths = new Map<number, readonly string[]>();
  const attrs = new Map<number, string>();
  const symlinks = new Map<number, readonly string[]>();
  const registry = new PathRegistry(undefined, n);
  const keys: EntryKeys = { length: -1, path: -1, pathUtf8: -1, attr: -1, symlink: -1, pathBad: -1, lengthValue: -1 };
  // Spans of the current path's components: from, to, from, to, ...
  const spans: number[] = [];
  const str: ByteSpan = { from: 0, to: 0 };
  // The entry being claimed, named for the registry's messages only when it writes one.
  let entry = 0;
  const entryPath = (): string => `${entryName(entry)}.path`;
  /** The value at `at` as a decoded value, for the rare keys read the ordinary way. */
  const valueAt = (at: number): BValue => {
    const c = new BencodeCursor(source, at, end);
    c.skip();
    return decode(source.subarray(at, c.pos), { strict: false, maxDepth: Number.MAX_SAFE_INTEGER });
  };
  /** The value at `at`, read in place when it is an integer (a file's `length`). */
  const intAt = (at: number): BValue => {
    if (source[at] !== C_I) return valueAt(at);
    const back = cur.pos;
    cur.pos = at;
    const v = cur.int();
    cur.pos = back;
    return v;
  };

  for (let i = 0; i < n; i++) {
    if (cur.kind() !== 'dict') fail('invalid-file', `${entryName(i)} is not a dictionary`);
    const plainEnd = plain === undefined ? readPlainEntry(source, cur.pos, end, keys, spans, str) : plainEntry(plain, i, keys, spans);
    if (plainEnd < 0) readKeys(cur, keys, spans);
    const next = plainEnd < 0 ? cur.pos : plainEnd;
    const attrValue = keys.attr < 0 ? undefined : asBytes(valueAt(keys.attr));
    const attr = attrValue === undefined ? '' : Buffer.from(attrValue).toString('latin1').replace(/[^a-z]/g, '');
    const symlink = attr !== '' && attr.includes('l');
    // BEP 47: a symlink's length is meaningless (it is 0 in piece space); it may be absent.
    const value = keys.lengthValue >= 0 ? keys.lengthValue : keys.length < 0 ? undefined : intAt(keys.length);
    const valid = typeof value === 'number' && value >= 0;
    const declared = valid ? value : symlink && keys.length < 0 ? 0 : lengthField(value, `${entryName(i)}.length`);
    const length = symlink ? 0 : declared;

    // The raw path: a fully valid `path.utf-8` list is preferred (as decoded values), else `path` (as spans).
    let alt: Uint8Array[] | undefined;
    if (keys.pathUtf8 >= 0) {
      const list = asList(valueAt(keys.pathUtf8));
      if (list !== undefined && list.length > 0 && list.every((c) => c instanceof Uint8Array && decodeUtf8Strict(c) !== undefined)) {
        alt = list as Uint8Array[];
        rawAt[i] = keys.pathUtf8;
      }
    }
    if (alt === undefined && keys.path >= 0) {
      if (keys.pathBad === NOT_A_LIST) fail('invalid-path', `${entryName(i)}.path is not a list`);
      if (keys.pathBad >= 0) fail('invalid-path', `${entryName(i)}.path[${keys.pathBad}] is not a string`);
      rawAt[i] = keys.path;
    } else spans.length = 0;
    const parts = alt?.length ?? spans.length / 2;
    const hasPath = alt !== undefined || keys.path >= 0;
    // An empty list names no file at all, so there is nothing to sanitize into a name.
    if (hasPath && parts === 0) fail('invalid-path', `${entryName(i)}.path is an empty list`);
    const isPad = (attr !== '' && attr.includes('p')) || (hasPath && padByName(source, alt, spans));
    if (!hasPath && !isPad) fail('missing-path', `${entryName(i)} has no 'path'`);

    if (alt === undefined && hasPath && parts <= MAX_PATH_COMPONENTS && allPlain(source, spans)) {
      // Sanitizing changes nothing: keep the list's offset, and claim the strings unless a pad.
      let renamed: string | undefined;
      if (!isPad) {
        entry = i;
        renamed = registry.claimSpans(source, keys.path + 1, spans, entryPath, notes);
        folder[i] = registry.folder;
      }
      if (renamed === undefined) {
        listAt[i] = keys.path;
        nameFrom[i] = spans[spans.length - 2]!;
        nameTo[i] = spans[spans.length - 1]!;
      } else paths.set(i, [...componentStrings(source, spans).slice(0, -1), renamed]);
    } else {
      const where = `${entryName(i)}.path`;
      const raw = hasPath ? (alt ?? spanViews(source, spans)) : [Buffer.from('.pad'), Buffer.from(String(length))];
      const clean = sanitizePath(raw, where, notes);
      // Pad files are never written, so they take no part in collision handling.
      if (isPad) paths.set(i, clean);
      else {
        paths.set(i, registry.claim(clean, where, notes));
        folder[i] = registry.folder;
      }
    }
    if (symlink) {
      const where = entryName(i);
      const target = (keys.symlink < 0 ? undefined : asList(valueAt(keys.symlink))) ?? fail('invalid-symlink', `${where} has no valid 'symlink path'`);
      const targetRaw = target.map((c, j) => asBytes(c) ?? fail('invalid-symlink', `${where}.symlink path[${j}] is not a string`));
      symlinks.set(i, sanitizePath(targetRaw, `${where}.symlink path`, notes));
    }
    // The running total is read back as a double: kept as a small integer, it would overflow
    // past 2^31 bytes and throw the optimized loop away.
    const offset = i === 0 ? 0 : offsets[i - 1]! + lengths[i - 1]!;
    if (offset + length > Number.MAX_SAFE_INTEGER) fail('invalid-length', `total length exceeds 2^53 at ${entryName(i)}`);
    lengths[i] = length;
    offsets[i] = offset;
    pad[i] = isPad ? 1 : 0;
    if (attr !== '') attrs.set(i, attr);
    cur.pos = next;
  }

  const index = { folder, folderCount: registry.folderCount, source, nameFrom, nameTo };
  const table = new FileTable({ source, lengths, offsets, pad, listAt, paths, attrs, symlinks, index });
  const raw = (): RawFile[] =>
    Array.from({ length: n }, (_, i) => ({
      path: rawAt[i] === NO_LIST ? [Buffer.from('.pad'), Buffer.from(String(lengths[i]))] : listViews(source, rawAt[i]!, end),
      length: lengths[i]!,
      pad: pad[i] === 1,
    }));
  return { table, total: offsets[n - 1]! + lengths[n - 1]!, raw };
}

/**
 * A `files` list read by `takePlainList` in the pass that checked it: every entry a dictionary
 * of canonical bencode, its keys strictly increasing, with a `path` list of byte strings and
 * other keys as `readPlainEntry` reads them.
 */
export interface PlainList extends TakenValue {
  /** Per entry: where its dictionary ends, where its `length` value starts and what it is (-1: none), where its `path` list starts. */
  readonly entryEnd: Int32Array;
  readonly lengthAt: Int32Array;
  readonly lengthValue: Float64Array;
  readonly pathAt: Int32Array;
  /** Entry `i`'s path components are at `spans[spanStart[i], spanStart[i + 1])`: from, to, from, to, ... */
  readonly spanStart: Int32Array;
  readonly spans: Int32Array;
}

/**
 * A new capacity for `used` items that took `buf[start, p)`: enough for the rest of the buffer
 * at the same density, with an eighth to spare, and at least twice `used`. So a long list grows
 * once, not once per doubling: each growth copies into fresh memory, whose first touch (a page
 * fault per 4 KiB) costs far more than the copy on some virtual machines. Room past what the
 * list uses is never touched, so it costs address space, not memory.
 */
function capacityFor(used: number, start: number, p: number, end: number): number {
  return Math.max(used * 2, Math.ceil(((used * (end - start)) / (p - start)) * 1.125));
}

/**
 * The `files` list at `buf[start]` as a `PlainList` (a `DecodeOptions.take` reader), read in
 * one pass; undefined for any other list, which the decoder's scan then checks and
 * `readFileList` reads entry by entry: non-canonical forms, unsorted or repeated keys, an
 * entry without a `path`, BEP 47 keys, `path.utf-8`, nested values, lengths past 15 digits.
 * One loop with its arrays in locals: it runs once, over up to a million entries.
 */
export function takePlainList(buf: Buffer, start: number): PlainList | undefined {
  const end = buf.length;
  if (buf[start] !== C_L) return undefined;
  const str: ByteSpan = { from: 0, to: 0 };
  let capacity = 1024;
  let entryEnd = new Int32Array(capacity);
  let lengthAt = new Int32Array(capacity);
  let lengthValue = new Float64Array(capacity);
  let pathAt = new Int32Array(capacity);
  let spanStart = new Int32Array(capacity + 1);
  let spans = new Int32Array(capacity * 4);
  let count = 0;
  let s = 0;
  // The list and its end marker; each entry adds its dictionary, keys, values and end markers.
  let tokens = 2;
  let p = start + 1;
  while (p < end && buf[p] !== C_E) {
    if (buf[p] !== C_D) return undefined;
    if (count === capacity) {
      capacity = capacityFor(count, start, p, end);
      entryEnd = grown(new Int32Array(capacity), entryEnd);
      lengthAt = grown(new Int32Array(capacity), lengthAt);
      lengthValue = grown(new Float64Array(capacity), lengthValue);
      pathAt = grown(new Int32Array(capacity), pathAt);
      spanStart = grown(new Int32Array(capacity + 1), spanStart);
    }
    spanStart[count] = s;
    lengthAt[count] = -1;
    lengthValue[count] = -1;
    pathAt[count] = -1;
    tokens += 2;
    let lastKey = -1;
    let lastKeyEnd = -1;
    p++;
    while (p < end && buf[p] !== C_E) {
      if (!canonicalByteStringAt(buf, p, end, str)) return undefined;
      const key = str.from;
      const at = str.to;
      if (at >= end || (lastKey >= 0 && compareBytes(buf, key, at, lastKey, lastKeyEnd) <= 0)) return undefined;
      lastKey = key;
      lastKeyEnd = at;
      tokens += 2;
      if (startsWith(buf, key, at, K_PATH, true)) {
        if (buf[at] !== C_L) return undefined;
        pathAt[count] = at;
        p = at + 1;
        while (p < end && buf[p] !== C_E) {
          if (!canonicalByteStringAt(buf, p, end, str)) return undefined;
          if (s + 2 > spans.length) spans = grown(new Int32Array(capacityFor(s, start, p, end)), spans);
          spans[s++] = str.from;
          spans[s++] = str.to;
          p = str.to;
          tokens++;
        }
        if (p >= end) return undefined;
        p++;
        tokens++;
      } else if (buf[at] === C_I) {
        p = smallIntAt(buf, at, end);
        if (p < 0) return undefined;
        if (startsWith(buf, key, at, K_LENGTH, true)) {
          lengthAt[count] = at;
          lengthValue[count] = digitsValue(buf, at + 1, p - 1);
        } else if (isEntryKey(buf, key, at)) return undefined;
      } else {
        if (!canonicalByteStringAt(buf, at, end, str) || isEntryKey(buf, key, at)) return undefined;
        p = str.to;
      }
    }
    if (p >= end || pathAt[count]! < 0) return undefined;
    entryEnd[count++] = ++p;
  }
  if (p >= end) return undefined;
  spanStart[count] = s;
  // Levels: the list, its dictionaries, their paths (every entry has one).
  return { end: p + 1, tokens, depth: count === 0 ? 1 : 3, count, entryEnd, lengthAt, lengthValue, pathAt, spanStart, spans };
}

/** Fills `keys` and `spans` for entry `i` of a `PlainList` as `readPlainEntry` would; returns where the entry ends. */
function plainEntry(list: PlainList, i: number, keys: EntryKeys, spans: number[]): number {
  keys.pathUtf8 = keys.attr = keys.symlink = keys.pathBad = -1;
  keys.length = list.lengthAt[i]!;
  keys.lengthValue = list.lengthValue[i]!;
  keys.path = list.pathAt[i]!;
  const from = list.spanStart[i]!;
  const n = list.spanStart[i + 1]! - from;
  for (let k = 0; k < n; k++) spans[k] = list.spans[from + k]!;
  if (spans.length !== n) spans.length = n;
  return list.entryEnd[i]!;
}

/** The number of values in the list the cursor has just entered; leaves the cursor where it was. */
function countItems(cur: BencodeCursor): number {
  const first = cur.pos;
  let count = 0;
  while (!cur.leave()) {
    cur.skip();
    count++;
  }
  cur.pos = first;
  return count;
}

const K_LENGTH = Buffer.from('length');
const K_PATH = Buffer.from('path');
const K_PATH_UTF8 = Buffer.from('path.utf-8');
const K_ATTR = Buffer.from('attr');
const K_SYMLINK = Buffer.from('symlink path');

/**
 * Reads one file dictionary at `cur.pos`, noting where its known keys' values start, and the
 * spans of `path`'s byte strings into `spans` as it steps over them.
 */
function readKeys(cur: BencodeCursor, keys: EntryKeys, spans: number[]): void {
  keys.length = keys.path = keys.pathUtf8 = keys.attr = keys.symlink = keys.pathBad = keys.lengthValue = -1;
  spans.length = 0;
  const buf = cur.buf;
  cur.enter();
  while (!cur.leave()) {
    cur.bytes();
    const { from, to } = cur;
    const at = cur.pos;
    // Dispatch on the key's length first: most keys are then told apart by one comparison.
    switch (to - from) {
      case 4:
        if (startsWith(buf, from, to, K_PATH, true)) {
          keys.path = at;
          readPath(cur, keys, spans);
          continue;
        }
        if (startsWith(buf, from, to, K_ATTR, true)) keys.attr = at;
        break;
      case 6:
        if (startsWith(buf, from, to, K_LENGTH, true)) keys.length = at;
        break;
      case 10:
        if (startsWith(buf, from, to, K_PATH_UTF8, true)) keys.pathUtf8 = at;
        break;
      case 12:
        if (startsWith(buf, from, to, K_SYMLINK, true)) keys.symlink = at;
        break;
    }
    cur.skip();
  }
}

/**
 * The common file dictionary at `buf[pos]`, read with plain loops over the bytes: a `length`
 * of at most 15 digits, a `path` list of byte strings, and other keys (not BEP 47's) whose
 * values are integers or byte strings. Fills `keys`, and `spans` when there is a `path`, as
 * `readKeys` would, and returns where the dictionary ends; returns -1, having read nothing for
 * sure, for any other entry.
 */
function readPlainEntry(buf: Buffer, pos: number, end: number, keys: EntryKeys, spans: number[], str: ByteSpan): number {
  keys.length = keys.path = keys.pathUtf8 = keys.attr = keys.symlink = keys.pathBad = keys.lengthValue = -1;
  let p = pos + 1;
  while (p < end && buf[p] !== C_E) {
    if (!byteStringAt(buf, p, end, str)) return -1;
    const keyFrom = str.from;
    const at = str.to;
    if (at >= end) return -1;
    const c = buf[at]!;
    if (at - keyFrom === 4 && startsWith(buf, keyFrom, at, K_PATH, true)) {
      if (c !== C_L) return -1;
      keys.path = at;
      p = byteStringListAt(buf, at + 1, end, spans, str);
      if (p < 0) return -1;
    } else if (c === C_I) {
      let v = 0;
      let q = at + 1;
      for (; q < end; q++) {
        const d = buf[q]!;
        if (d < C_0 || d > C_9) break;
        v = v * 10 + (d - C_0);
      }
      if (q === at + 1 || q >= end || buf[q] !== C_E || q - at - 1 > 15) return -1;
      if (at - keyFrom === 6 && startsWith(buf, keyFrom, at, K_LENGTH, true)) {
        keys.length = at;
        keys.lengthValue = v;
      } else if (isEntryKey(buf, keyFrom, at)) return -1;
      p = q + 1;
    } else {
      if (!byteStringAt(buf, at, end, str) || isEntryKey(buf, keyFrom, at)) return -1;
      p = str.to;
    }
  }
  return p < end ? p + 1 : -1;
}

/** Whether the key `buf[from, to)` is one `readKeys` looks at. */
function isEntryKey(buf: Buffer, from: number, to: number): boolean {
  return (
    startsWith(buf, from, to, K_LENGTH, true) ||
    startsWith(buf, from, to, K_PATH, true) ||
    startsWith(buf, from, to, K_PATH_UTF8, true) ||
    startsWith(buf, from, to, K_ATTR, true) ||
    startsWith(buf, from, to, K_SYMLINK, true)
  );
}

/** Steps over the `path` value at `cur.pos`, noting its byte strings' spans and the first item that is not one. */
function readPath(cur: BencodeCursor, keys: EntryKeys, spans: number[]): void {
  if (cur.kind() !== 'list') {
    keys.pathBad = NOT_A_LIST;
    cur.skip();
    return;
  }
  cur.enter();
  for (let j = 0; !cur.leave(); j++) {
    if (cur.kind() === 'bytes') {
      cur.bytes();
      spans.push(cur.from, cur.to);
    } else {
      if (keys.pathBad < 0) keys.pathBad = j;
      cur.skip();
    }
  }
}

function allPlain(source: Buffer, spans: readonly number[]): boolean {
  for (let k = 0; k < spans.length; k += 2) if (!isPlainComponent(source, spans[k]!, spans[k + 1]!)) return false;
  return true;
}

function componentStrings(source: Buffer, spans: readonly number[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < spans.length; k += 2) out.push(source.toString('latin1', spans[k], spans[k + 1]));
  return out;
}

function spanViews(source: Buffer, spans: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let k = 0; k < spans.length; k += 2) out.push(source.subarray(spans[k], spans[k + 1]));
  return out;
}

/** The byte strings of the list at `at` (already checked to hold only byte strings). */
function listViews(source: Buffer, at: number, end: number): Uint8Array[] {
  const cur = new BencodeCursor(source, at + 1, end);
  const out: Uint8Array[] = [];
  while (!cur.leave()) {
    cur.bytes();
    out.push(source.subarray(cur.from, cur.to));
  }
  return out;
}

/** A pad file by its path: first component `.pad`, or a last one named as BitComet named them. */
function padByName(source: Buffer, alt: readonly Uint8Array[] | undefined, spans: readonly number[]): boolean {
  if (alt !== undefined) return startsWith(alt[0]!, 0, alt[0]!.length, PAD_DIR, true) || startsWith(alt.at(-1)!, 0, alt.at(-1)!.length, LEGACY_PAD, false);
  const n = spans.length;
  return startsWith(source, spans[0]!, spans[1]!, PAD_DIR, true) || startsWith(source, spans[n - 2]!, spans[n - 1]!, LEGACY_PAD, false);
}

/** Whether `bytes[from, to)` starts with `prefix` (or, with `whole`, equals it). */
function startsWith(bytes: Uint8Array, from: number, to: number, prefix: Buffer, whole: boolean): boolean {
  const n = prefix.length;
  if (whole ? to - from !== n : to - from < n) return false;
  for (let k = 0; k < n; k++) if (bytes[from + k] !== prefix[k]) return false;
  return true;
}
