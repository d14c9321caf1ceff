/**
 * BEP 14 Local Service Discovery messages, pure: the `BT-SEARCH * HTTP/1.1` announce we
 * multicast, and a strict, bounded decoder for the ones we receive.
 *
 * Anyone on the local network can send to the group, so a received datagram is untrusted
 * input that arrives routinely, not an exceptional event: `decodeAnnounce` never throws and
 * returns either the announce or the reason it was rejected. `encodeAnnounce` builds from
 * our own values and throws `LsdError` if they are wrong (a bug in the caller).
 */
import { TesseraError } from '../util/errors.js';
import { toHex } from '../util/bytes.js';

export class LsdError extends TesseraError {}

/** BEP 14: "the packet length should not exceed 1400 bytes to avoid MTU/fragmentation problems". */
export const MAX_DATAGRAM_BYTES = 1400;
/** Header lines accepted after the request line; a full 1400-byte announce holds about 25. */
export const MAX_HEADERS = 40;

export const LSD_PORT = 6771;
export const LSD_GROUP_V4 = '239.192.152.143';
/** The Host header value for the IPv4 group (BEP 14 string A, RFC 2616 §14.23 host:port). */
export const LSD_HOST_V4 = `${LSD_GROUP_V4}:${LSD_PORT}`;

const REQUEST_LINE = 'BT-SEARCH * HTTP/1.1';
const CRLF = '\r\n';
/** RFC 7230 token characters: the only ones allowed in a header name, and in our cookie. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;
const INFO_HASH_HEX = /^[0-9a-fA-F]{40}$/;
const PORT_DIGITS = /^[0-9]{1,5}$/;

export interface AnnounceFields {
  /** Host header: the group the datagram is sent to, e.g. `LSD_HOST_V4`. */
  readonly host: string;
  /** Our BitTorrent listen port. */
  readonly port: number;
  /** 20-byte v1 info hashes (BEP 14 allows several, as consecutive Infohash headers). */
  readonly infoHashes: readonly Uint8Array[];
  /** Opaque token that lets us recognise our own announces coming back over multicast loopback. */
  readonly cookie?: string;
}

export interface Announce {
  readonly port: number;
  /** Lower-case 40-hex info hashes, without duplicates, in the order received. */
  readonly infoHashes: readonly string[];
  readonly cookie: string | undefined;
}

export type LsdRejectReason =
  | 'too-large'
  | 'not-ascii'
  | 'not-bt-search'
  | 'bad-line-ending'
  | 'truncated'
  | 'trailing-data'
  | 'too-many-headers'
  | 'bad-header'
  | 'missing-port'
  | 'duplicate-port'
  | 'bad-port'
  | 'missing-infohash'
  | 'bad-infohash'
  | 'duplicate-cookie'
  | 'own-cookie';

export type DecodeResult = { readonly ok: true; readonly announce: Announce } | { readonly ok: false; readonly reason: LsdRejectReason };

function checkFields(f: AnnounceFields): void {
  if (!Number.isInteger(f.port) || f.port < 1 || f.port > 65535) throw new LsdError('lsd-bad-port', `LSD announce port must be 1–65535, got ${f.port}`);
  if (!/^[\x21-\x7e]+$/.test(f.host)) throw new LsdError('lsd-bad-host', 'LSD Host header must be printable ASCII without spaces');
  if (f.cookie !== undefined && !TOKEN.test(f.cookie)) throw new LsdError('lsd-bad-cookie', 'LSD cookie must be a non-empty HTTP token');
}

function fixedLength(f: Omit<AnnounceFields, 'infoHashes'>): number {
  const cookie = f.cookie !== undefined ? `cookie: ${f.cookie}${CRLF}` : '';
  return `${REQUEST_LINE}${CRLF}Host: ${f.host}${CRLF}Port: ${f.port}${CRLF}${cookie}${CRLF}${CRLF}`.length;
}

/** `Infohash: ` + 40 hex + CRLF. */
const INFO_HASH_LINE_BYTES = 10 + 40 + 2;

/** How many info hashes one announce with these fields can carry within `MAX_DATAGRAM_BYTES`. */
export function infoHashesPerDatagram(f: Omit<AnnounceFields, 'infoHashes'>): number {
  checkFields({ ...f, infoHashes: [] });
  return Math.max(0, Math.floor((MAX_DATAGRAM_BYTES - fixedLength(f)) / INFO_HASH_LINE_BYTES));
}

/**
 * The announce exactly as BEP 14 lays it out: request line, Host, Port, the Infohash headers,
 * the optional cookie, then two empty lines (the spec's template ends in two bare CRLFs).
 */
export function encodeAnnounce(f: AnnounceFields): Uint8Array {
  checkFields(f);
  if (f.infoHashes.length === 0) throw new LsdError('lsd-no-infohash', 'an LSD announce needs at least one info hash');
  const lines = [REQUEST_LINE, `Host: ${f.host}`, `Port: ${f.port}`];
  for (const h of f.infoHashes) {
    if (h.length !== 20) throw new LsdError('lsd-bad-infohash', `an LSD info hash must be 20 bytes, got ${h.length}`);
    lines.push(`Infohash: ${toHex(h)}`);
  }
  if (f.cookie !== undefined) lines.push(`cookie: ${f.cookie}`);
  const text = `${lines.join(CRLF)}${CRLF}${CRLF}${CRLF}`;
  if (text.length > MAX_DATAGRAM_BYTES) {
    throw new LsdError('lsd-too-large', `LSD announce of ${text.length} bytes exceeds ${MAX_DATAGRAM_BYTES}; send fewer info hashes per datagram`);
  }
  return Buffer.from(text, 'latin1');
}

/** Printable ASCII, tab, CR and LF: anything else cannot be part of a valid announce. */
function isAnnounceText(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b > 0x7e) return false;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  }
  return true;
}

function reject(reason: LsdRejectReason): DecodeResult {
  return { ok: false, reason };
}

/**
 * Decode one received datagram. Header names are case-insensitive (HTTP), unknown headers
 * are ignored (BEP 14: "any additional headers that not understood by a client should be
 * ignored"), and the Host value is not checked: it names the group, which the socket
 * already determines. Everything we use is strict: the request line, CRLF line endings,
 * exactly one Port in 1..65535, one or more Infohash headers of exactly 40 hex digits, at
 * most one cookie, and nothing but empty lines after the header block. An announce whose
 * cookie equals `ownCookie` is our own, looped back by the group, and is rejected.
 */
export function decodeAnnounce(datagram: Uint8Array, opts: { ownCookie?: string } = {}): DecodeResult {
  if (datagram.length > MAX_DATAGRAM_BYTES) return reject('too-large');
  if (!isAnnounceText(datagram)) return reject('not-ascii');
  const text = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength).toString('latin1');
  const end = text.indexOf(`${CRLF}${CRLF}`);
  const head = end === -1 ? text : text.slice(0, end);
  const firstBreak = head.indexOf(CRLF);
  const requestLine = firstBreak === -1 ? head : head.slice(0, firstBreak);
  if (requestLine !== REQUEST_LINE) return reject(/[\r\n]/.test(requestLine) ? 'bad-line-ending' : 'not-bt-search');
  if (end === -1) return reject(/\r(?!\n)|(?<!\r)\n/.test(text) ? 'bad-line-ending' : 'truncated');
  const rest = text.slice(end + 4);
  if (!/^(\r\n)*$/.test(rest)) return reject('trailing-data');
  const headerBlock = firstBreak === -1 ? '' : head.slice(firstBreak + 2);
  if (/\r(?!\n)|(?<!\r)\n/.test(headerBlock)) return reject('bad-line-ending');
  const lines = headerBlock === '' ? [] : headerBlock.split(CRLF);
  if (lines.length > MAX_HEADERS) return reject('too-many-headers');

  let port: number | undefined;
  let cookie: string | undefined;
  const infoHashes: string[] = [];
  for (const line of lines) {
    const m = HEADER_LINE.exec(line);
    if (m === null) return reject('bad-header');
    const name = m[1]!.toLowerCase();
    const value = m[2]!;
    if (name === 'port') {
      if (port !== undefined) return reject('duplicate-port');
      if (!PORT_DIGITS.test(value)) return reject('bad-port');
      port = Number(value);
      if (port < 1 || port > 65535) return reject('bad-port');
    } else if (name === 'infohash') {
      if (!INFO_HASH_HEX.test(value)) return reject('bad-infohash');
      const hex = value.toLowerCase();
      if (!infoHashes.includes(hex)) infoHashes.push(hex);
    } else if (name === 'cookie') {
      if (cookie !== undefined) return reject('duplicate-cookie');
      cookie = value;
    }
  }
  if (port === undefined) return reject('missing-port');
  if (infoHashes.length === 0) return reject('missing-infohash');
  if (opts.ownCookie !== undefined && cookie === opts.ownCookie) return reject('own-cookie');
  return { ok: true, announce: { port, infoHashes, cookie } };
}
