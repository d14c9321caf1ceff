/**
 * The extension protocol (BEP 10): the extended handshake (extended id 0) that maps
 * extension names to the ids the sender wants to receive them on, plus a few fields.
 *
 * Policy: `m` and `metadata_size` drive what we do, so a wrong type or range there is an
 * error; the other known keys are hints (`v`, `p`, `reqq`, `yourip`, `ipv4`, `ipv6`,
 * `upload_only`), so a malformed one is treated as absent. Unknown keys are ignored.
 */
import { asBytes, asDict, asInt, BencodeError, decode, encode, type BValue } from '../bencode/index.js';
import { bytesToIp, ipFamily, ipToBytes } from './compact.js';
import { wireError } from './errors.js';
import { isValidMetadataSize, MAX_METADATA_SIZE } from './ut-metadata.js';

export const EXTENDED_HANDSHAKE_ID = 0;
/** Upper bound on an advertised request queue; larger values are treated as absent. */
export const MAX_REQQ = 65535;
/** Client names longer than this are dropped rather than shown. */
export const MAX_CLIENT_NAME_BYTES = 256;

export interface ExtendedHandshake {
  /** Extension name → the id the sender receives it on; 0 means "disabled" (BEP 10). */
  readonly m: ReadonlyMap<string, number>;
  /** Client name and version, UTF-8 (untrusted: strip controls before printing). */
  readonly v?: string;
  /** The sender's listen port. */
  readonly p?: number;
  /** How many outstanding requests the sender accepts. */
  readonly reqq?: number;
  /** Our address as the sender sees it. */
  readonly yourip?: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
  /** BEP 9: size of the info dictionary in bytes. */
  readonly metadataSize?: number;
  /** BEP 21: the sender only uploads (a seed or a partial seed). */
  readonly uploadOnly?: boolean;
}

export function encodeExtendedHandshake(h: ExtendedHandshake): Buffer {
  for (const [name, id] of h.m) {
    if (name.length === 0 || !Number.isInteger(id) || id < 0 || id > 255) {
      throw wireError('invalid-argument', `bad extension ${JSON.stringify(name)} → ${id}`);
    }
  }
  if (h.metadataSize !== undefined && !isValidMetadataSize(h.metadataSize)) {
    throw wireError('invalid-argument', `metadata size ${h.metadataSize} is outside 1..${MAX_METADATA_SIZE}`);
  }
  if (h.p !== undefined && !isPort(h.p)) throw wireError('invalid-argument', `bad listen port ${h.p}`);
  if (h.reqq !== undefined && !isReqq(h.reqq)) throw wireError('invalid-argument', `bad reqq ${h.reqq}`);
  return encode({
    m: h.m,
    v: h.v,
    p: h.p,
    reqq: h.reqq,
    yourip: h.yourip === undefined ? undefined : ipToBytes(h.yourip),
    ipv4: h.ipv4 === undefined ? undefined : ipBytesOf(h.ipv4, 4),
    ipv6: h.ipv6 === undefined ? undefined : ipBytesOf(h.ipv6, 6),
    metadata_size: h.metadataSize,
    upload_only: h.uploadOnly === undefined ? undefined : h.uploadOnly ? 1 : 0,
  });
}

/** Decode an extended handshake payload (after the extended id 0), with strict bencode. */
export function decodeExtendedHandshake(payload: Uint8Array): ExtendedHandshake {
  let root: BValue;
  try {
    root = decode(payload, { strict: true, maxDepth: 8, maxTokens: 4096 });
  } catch (err) {
    if (err instanceof BencodeError) throw wireError('bad-extended-handshake', `extended handshake: ${err.message}`, err);
    throw err;
  }
  const dict = asDict(root);
  if (dict === undefined) throw wireError('bad-extended-handshake', 'extended handshake is not a dictionary');

  const m = new Map<string, number>();
  const rawM = dict.get('m');
  if (rawM !== undefined) {
    const mDict = asDict(rawM);
    if (mDict === undefined) throw wireError('bad-extended-handshake', 'extended handshake "m" is not a dictionary');
    for (const [name, value] of mDict) {
      const id = asInt(value);
      if (id === undefined || id < 0 || id > 255) {
        throw wireError('bad-extended-handshake', `extension ${JSON.stringify(name)} has id ${String(value)}, not 0..255`);
      }
      m.set(name, id);
    }
  }

  const rawSize = dict.get('metadata_size');
  let metadataSize: number | undefined;
  if (rawSize !== undefined) {
    metadataSize = asInt(rawSize);
    if (metadataSize === undefined || !isValidMetadataSize(metadataSize)) {
      throw wireError('bad-extended-handshake', `metadata_size must be an integer in 1..${MAX_METADATA_SIZE}`);
    }
  }

  const out: { -readonly [K in keyof ExtendedHandshake]: ExtendedHandshake[K] } = { m };
  if (metadataSize !== undefined) out.metadataSize = metadataSize;
  const v = asBytes(dict.get('v'));
  if (v !== undefined && v.length <= MAX_CLIENT_NAME_BYTES) out.v = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  const p = asInt(dict.get('p'));
  if (p !== undefined && isPort(p)) out.p = p;
  const reqq = asInt(dict.get('reqq'));
  if (reqq !== undefined && isReqq(reqq)) out.reqq = reqq;
  const yourip = asBytes(dict.get('yourip'));
  if (yourip !== undefined && (yourip.length === 4 || yourip.length === 16)) out.yourip = bytesToIp(yourip);
  const ipv4 = asBytes(dict.get('ipv4'));
  if (ipv4 !== undefined && ipv4.length === 4) out.ipv4 = bytesToIp(ipv4);
  const ipv6 = asBytes(dict.get('ipv6'));
  if (ipv6 !== undefined && ipv6.length === 16) out.ipv6 = bytesToIp(ipv6);
  const uploadOnly = asInt(dict.get('upload_only'));
  if (uploadOnly !== undefined) out.uploadOnly = uploadOnly !== 0;
  return out;
}

function isPort(p: number): boolean {
  return Number.isInteger(p) && p > 0 && p <= 0xffff;
}

function isReqq(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= MAX_REQQ;
}

function ipBytesOf(host: string, family: 4 | 6): Buffer {
  if (ipFamily(host) !== family) throw wireError('invalid-argument', `${host} is not an IPv${family} address`);
  return ipToBytes(host);
}
