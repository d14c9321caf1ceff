/**
 * The fast extension's allowed-fast set (BEP 6): pieces a peer may download from us even
 * while choked, derived so that both ends can compute the same set from the peer's IPv4
 * address (its /24) and the info hash, and an address cannot farm extra sets.
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { wireError } from './errors.js';

/**
 * BEP 6's canonical algorithm: x = (ip & 0xFFFFFF00) ‖ infoHash; repeat x = SHA1(x) and take
 * each of its five big-endian u32 words modulo `pieceCount`, skipping duplicates, until
 * `k` indices are chosen (`k` is capped at `pieceCount`, or the loop could never end).
 * BEP 6 defines it for IPv4 only.
 */
export function allowedFastSet(ipv4: string, infoHash: Uint8Array, pieceCount: number, k: number): number[] {
  if (!isIPv4(ipv4)) throw wireError('invalid-argument', `allowed-fast sets are defined for IPv4 addresses, not ${JSON.stringify(ipv4)}`);
  if (infoHash.length !== 20) throw wireError('invalid-argument', `info hash must be 20 bytes, got ${infoHash.length}`);
  if (!Number.isInteger(pieceCount) || pieceCount < 0 || pieceCount > 0xffffffff) {
    throw wireError('invalid-argument', `bad piece count ${pieceCount}`);
  }
  if (!Number.isInteger(k) || k < 0) throw wireError('invalid-argument', `bad allowed-fast set size ${k}`);
  const want = Math.min(k, pieceCount);
  const chosen: number[] = [];
  const seen = new Set<number>();
  let x: Buffer = Buffer.alloc(24);
  const octets = ipv4.split('.').map(Number);
  x[0] = octets[0]!;
  x[1] = octets[1]!;
  x[2] = octets[2]!;
  x.set(infoHash, 4);
  while (chosen.length < want) {
    x = createHash('sha1').update(x).digest();
    for (let i = 0; i < 5 && chosen.length < want; i++) {
      const index = x.readUInt32BE(i * 4) % pieceCount;
      if (!seen.has(index)) {
        seen.add(index);
        chosen.push(index);
      }
    }
  }
  return chosen;
}
