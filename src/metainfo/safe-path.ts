/**
 * File-name policy for paths that come from a torrent (BEP 3 `name`/`path`, BEP 47 `symlink path`).
 * The invariant is absolute: a sanitized path, joined under any output folder, names something
 * inside that folder. Components stay as raw bytes until they are decoded here, once.
 *
 * The policy follows SAFETY.md "Accept or reject?" as amended by every row of the shared corpus
 * INDEX.tsv (where the INDEX says SANITIZE, we sanitize, as libtorrent and Transmission 3.00 do):
 *
 * Reject (MetainfoError naming the entry):
 *   - a NUL byte in a component (never legitimate; `fs` would throw on it anyway);
 *   - a component starting with a drive letter (`C:`, `c:foo`);
 *   - more than 256 components in one path;
 *   - a file whose parent directory is also a file of the torrent;
 *   - duplicate paths past the rename budget (below).
 *
 * Sanitize, with a warning line:
 *   - `.` and `..` components are dropped (INDEX parent_path, invalid_filename);
 *   - empty components are dropped; a path left with no component becomes `_` (empty_path);
 *   - `/` and `\` inside a component are data, replaced by `_`; so absolute-looking components
 *     (`/foobar`, INDEX absolute_filename) and `foo/../bar` (hidden_parent_path) become one
 *     harmless component;
 *   - C0/C1 control characters and bidi overrides become `_`;
 *   - invalid UTF-8 is decoded with U+FFFD replacement (bad-utf8-path);
 *   - trailing dots and spaces are stripped (Windows drops them silently; invalid_name3);
 *   - reserved Windows device names (CON, NUL, COM1, LPT1, ... with any extension) get a `_` prefix;
 *   - components longer than 255 bytes are cut at a UTF-8 boundary, keeping a short extension;
 *   - a torrent name that is empty, `.` or `..` is replaced by the info-hash hex (invalid_name2,
 *     as libtorrent does);
 *   - duplicate paths (after sanitizing) are renamed `x.1.ext`, `x.2.ext`, ... Each rename costs
 *     its suffix number from a budget of 500, which is what a probe from `.1` would spend
 *     (libtorrent's count): a few accidental collisions load, while 118 copies of one name
 *     (duplicate_files2, 6,903) are rejected. The rename itself is O(1) per file (a next-suffix
 *     map), so the whole pass is linear.
 *
 * No Unicode normalization is applied before these checks (SAFETY.md).
 */
import { MetainfoError, quote } from './errors.js';

export const MAX_COMPONENT_BYTES = 255;
export const MAX_PATH_COMPONENTS = 256;
export const MAX_RENAME_BUDGET = 500;

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069/\\]/g;
const RESERVED = /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])(\..*)?$/i;
const DRIVE = /^[a-z]:/i;
const TRAILING = /[. ]+$/;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Decode UTF-8, or undefined when the bytes are not valid UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Cut `s` to at most `max` UTF-8 bytes on a character boundary, keeping an extension of up to 16 bytes. */
export function truncateUtf8(s: string, max = MAX_COMPONENT_BYTES): string {
  if (Buffer.byteLength(s) <= max) return s;
  const dot = s.lastIndexOf('.');
  const ext = dot > 0 && Buffer.byteLength(s.slice(dot)) <= 16 ? s.slice(dot) : '';
  const budget = max - Buffer.byteLength(ext);
  let out = '';
  let used = 0;
  for (const ch of ext === '' ? s : s.slice(0, dot)) {
    const n = Buffer.byteLength(ch);
    if (used + n > budget) break;
    out += ch;
    used += n;
  }
  return out + ext;
}

/**
 * Sanitize one raw component. Returns undefined when the component is dropped. `where` names
 * the entry for messages (`files[2].path[0]`); `notes` collects one warning per change.
 */
export function sanitizeComponent(raw: Uint8Array, where: string, notes: string[]): string | undefined {
  if (isPlainAscii(raw, 0, raw.length)) {
    const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
    if (!RESERVED.test(text)) return text;
  }
  if (raw.includes(0)) throw new MetainfoError('path-nul', `${where}: NUL byte in a file name`);
  let text = decodeUtf8Strict(raw);
  if (text === undefined) {
    text = lenientUtf8.decode(raw);
    notes.push(`${where}: invalid UTF-8 in ${quote(text)} replaced`);
  }
  if (text === '.' || text === '..') {
    notes.push(`${where}: ${quote(text)} component dropped`);
    return undefined;
  }
  if (text === '') {
    notes.push(`${where}: empty component dropped`);
    return undefined;
  }
  if (DRIVE.test(text)) throw new MetainfoError('path-drive', `${where}: drive letter in file name ${quote(text)}`);
  const original = text;
  text = text.replace(UNSAFE, '_');
  text = truncateUtf8(text);
  text = text.replace(TRAILING, '');
  if (text === '') text = '_';
  if (RESERVED.test(text)) text = `_${text}`;
  if (text !== original) notes.push(`${where}: ${quote(original)} renamed to ${quote(text)}`);
  return text;
}

const C_DOT = 0x2e;
const C_SPACE = 0x20;
const C_COLON = 0x3a;

/**
 * The common case, decided without decoding: printable ASCII other than `/` and `\`, at most
 * 255 bytes, not `.`, `..` or a drive prefix, and no trailing dot or space. Such a component
 * needs no change (the caller still checks reserved device names).
 */
function isPlainAscii(buf: Uint8Array, from: number, to: number): boolean {
  const n = to - from;
  if (n === 0 || n > MAX_COMPONENT_BYTES) return false;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e || c === 0x2f || c === 0x5c) return false;
  }
  const last = buf[to - 1]!;
  if (last === C_DOT || last === C_SPACE) return false;
  return !(n >= 2 && buf[from + 1] === C_COLON && isAsciiLetter(buf[from]!));
}

/**
 * True when the component `buf[from, to)` passes `sanitizeComponent` unchanged, decided on the
 * bytes: plain ASCII (above) and not a reserved device name, whose stem (the part before the
 * first dot) is `con`, `prn`, `aux`, `nul`, or `com`/`lpt` and a digit, in any case.
 */
export function isPlainComponent(buf: Uint8Array, from: number, to: number): boolean {
  if (!isPlainAscii(buf, from, to)) return false;
  // Only a stem of 3 or 4 bytes can be reserved: look no further than its fifth byte.
  const stemEnd = Math.min(to, from + 5);
  let stem = from;
  while (stem < stemEnd && buf[stem] !== C_DOT) stem++;
  const n = stem - from;
  if (n !== 3 && n !== 4) return true;
  // ASCII letters to lower case; the other bytes then match no name.
  const word = String.fromCharCode(buf[from]! | 0x20, buf[from + 1]! | 0x20, buf[from + 2]! | 0x20);
  if (n === 3) return word !== 'con' && word !== 'prn' && word !== 'aux' && word !== 'nul';
  const digit = buf[from + 3]!;
  return !((word === 'com' || word === 'lpt') && digit >= 0x30 && digit <= 0x39);
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Sanitize a whole path; never returns an empty list. */
export function sanitizePath(raw: readonly Uint8Array[], where: string, notes: string[]): string[] {
  if (raw.length > MAX_PATH_COMPONENTS) {
    throw new MetainfoError('path-depth', `${where}: path has ${raw.length} components (limit ${MAX_PATH_COMPONENTS})`);
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = sanitizeComponent(raw[i]!, `${where}[${i}]`, notes);
    if (c !== undefined) out.push(c);
  }
  if (out.length === 0) {
    notes.push(`${where}: no usable component, named '_'`);
    out.push('_');
  }
  return out;
}
