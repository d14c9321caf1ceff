/**
 * Compact peer entries: a 4-byte IPv4 (BEP 23) or 16-byte IPv6 (BEP 7) address followed by
 * a 2-byte port, all in network order. Shared by PEX (BEP 11), and usable by trackers and
 * the DHT (BEP 5), whose `values` and `nodes` carry the same entries.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { PeerAddress } from '../metainfo/types.js';
import { wireError } from './errors.js';

export type IpFamily = 4 | 6;

export const COMPACT_IPV4_LENGTH = 6;
export const COMPACT_IPV6_LENGTH = 18;

export function compactEntryLength(family: IpFamily): number {
  return family === 4 ? COMPACT_IPV4_LENGTH : COMPACT_IPV6_LENGTH;
}

/** The family of an IP literal, or undefined for host names, zoned or malformed addresses. */
export function ipFamily(host: string): IpFamily | undefined {
  if (isIPv4(host)) return 4;
  if (host.includes('%')) return undefined;
  return isIPv6(host) ? 6 : undefined;
}

/** The 4 or 16 network-order bytes of an IP literal; throws `WireError` on anything else. */
export function ipToBytes(host: string): Buffer {
  const family = ipFamily(host);
  if (family === 4) return Buffer.from(host.split('.').map(Number));
  if (family === 6) return ipv6ToBytes(host);
  throw wireError('invalid-argument', `not an IP address: ${JSON.stringify(host)}`);
}

/** Text of a 4- or 16-byte address: dotted quad, or RFC 5952 compressed IPv6. */
export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) throw wireError('invalid-argument', `an IP address is 4 or 16 bytes, not ${bytes.length}`);
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytesToIp(bytes.subarray(12))}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first on a tie.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  return bestAt < 0 ? hex(0, 8) : `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

/** Encode one peer as 6 or 18 bytes, by the family of its host. */
export function encodeCompactPeer(peer: PeerAddress): Buffer {
  checkPort(peer.port);
  const ip = ipToBytes(peer.host);
  const out = Buffer.allocUnsafe(ip.length + 2);
  ip.copy(out, 0);
  out.writeUInt16BE(peer.port, ip.length);
  return out;
}

/** Encode peers of one family back to back; peers of the other family are skipped. */
export function encodeCompactPeers(peers: readonly PeerAddress[], family: IpFamily): Buffer {
  const size = compactEntryLength(family);
  const chosen = peers.filter((p) => ipFamily(p.host) === family);
  const out = Buffer.allocUnsafe(chosen.length * size);
  for (let i = 0; i < chosen.length; i++) encodeCompactPeer(chosen[i]!).copy(out, i * size);
  return out;
}

/**
 * Decode a compact list, keeping entry order and port-0 entries (PEX pairs entries with a
 * flags string by position, so filtering is the caller's job). At most `max` entries are
 * decoded; the length must still be a whole number of entries.
 */
export function decodeCompactPeers(bytes: Uint8Array, family: IpFamily, max = Infinity): PeerAddress[] {
  const size = compactEntryLength(family);
  if (bytes.length % size !== 0) {
    throw wireError('bad-compact', `compact IPv${family} list of ${bytes.length} bytes is not a multiple of ${size}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Math.min(bytes.length / size, max);
  const out: PeerAddress[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    out[i] = { host: bytesToIp(bytes.subarray(at, at + size - 2)), port: view.getUint16(at + size - 2) };
  }
  return out;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw wireError('invalid-argument', `bad port ${port}`);
}

/** Parses a literal already validated by `isIPv6`: `::` expands to zero groups; a dotted tail is two groups. */
function ipv6ToBytes(host: string): Buffer {
  const out = Buffer.alloc(16);
  const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined];
  const toGroups = (part: string | undefined): number[] => {
    if (part === undefined || part === '') return [];
    const groups: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const [a, b, c, d] = g.split('.').map(Number);
        groups.push((a! << 8) | b!, (c! << 8) | d!);
      } else {
        groups.push(parseInt(g, 16));
      }
    }
    return groups;
  };
  const left = toGroups(head);
  const right = toGroups(tail);
  left.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  right.forEach((g, i) => out.writeUInt16BE(g, 16 - (right.length - i) * 2));
  return out;
}
