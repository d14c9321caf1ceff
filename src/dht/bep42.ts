/**
 * BEP 42, the DHT security extension: a node id is tied to the node's external address, so
 * that choosing ids next to a target info hash needs as many addresses as ids. The first 21
 * bits of the id are the top bits of crc32c((ip & mask) | (r << 29)) (the mask over the first
 * 4 bytes of an IPv4 address or the first 8 of an IPv6 one, r in 0..7 shifted into the top
 * bits of the first byte), and the last byte of the id carries r. Addresses of private, local
 * and loopback networks are exempt: any id goes there. Pure functions; randomness is injected.
 */
import { parseIp, addressScope } from '../util/ip.js';
import { NODE_ID_LENGTH } from './compact.js';
import type { RandomBytes } from './node-id.js';

const V4_MASK = [0x03, 0x0f, 0x3f, 0xff];
const V6_MASK = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];

/** CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), the checksum BEP 42 names. */
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = (crc >>> 8) ^ CRC32C_TABLE[(crc ^ b) & 0xff]!;
  return (crc ^ 0xffffffff) >>> 0;
}

/** True when BEP 42 puts no restriction on ids at `ip` (private, link-local, loopback). */
export function bep42Exempt(ip: string): boolean {
  const scope = addressScope(ip);
  return scope === undefined || scope !== 'public';
}

/** The crc32c whose top 21 bits an id at `ip` must start with, for the random `r` (its low 3 bits count). */
export function bep42Prefix(ip: string, r: number): number | undefined {
  const bytes = parseIp(ip);
  if (bytes === undefined) return undefined;
  const mask = bytes.length === 4 ? V4_MASK : V6_MASK;
  const masked = Uint8Array.from(mask, (m, i) => bytes[i]! & m);
  masked[0]! |= (r & 0x07) << 5;
  return crc32c(masked);
}

/** A fresh id that conforms to BEP 42 for `ip`: 21 bits of prefix, random middle, r in the last byte. */
export function bep42NodeId(ip: string, random: RandomBytes): Uint8Array {
  const id = new Uint8Array(random(NODE_ID_LENGTH));
  const r = id[NODE_ID_LENGTH - 1]!;
  const crc = bep42Prefix(ip, r);
  if (crc === undefined || bep42Exempt(ip)) return id;
  id[0] = (crc >>> 24) & 0xff;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | (id[2]! & 0x07);
  return id;
}

/** Whether `id` is one a node at `ip` may have (always, for an exempt address). */
export function conformsToBep42(id: Uint8Array, ip: string): boolean {
  if (id.length !== NODE_ID_LENGTH) return false;
  if (bep42Exempt(ip)) return true;
  const crc = bep42Prefix(ip, id[NODE_ID_LENGTH - 1]!);
  if (crc === undefined) return false;
  return id[0] === ((crc >>> 24) & 0xff) && id[1] === ((crc >>> 16) & 0xff) && (id[2]! & 0xf8) === ((crc >>> 8) & 0xf8);
}
