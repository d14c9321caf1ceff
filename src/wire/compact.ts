/**
 * Compact peer entries: a 4-byte IPv4 (BEP 23) or 16-byte IPv6 (BEP 7) address followed by
 * a 2-byte port, all in network order. Shared by PEX (BEP 11), and usable by trackers and
 * the DHT (BEP 5), whose `values` and `nodes` carry the same entries.
 */
import type { PeerAddress } from '../metainfo/types.js';
import { formatIp, ipFamily, parseIp, type IpFamily } from '../util/ip.js';
import { wireError } from './errors.js';

export { ipFamily, type IpFamily };

export const COMPACT_IPV4_LENGTH = 6;
export const COMPACT_IPV6_LENGTH = 18;

export function compactEntryLength(family: IpFamily): number {
  return family === 4 ? COMPACT_IPV4_LENGTH : COMPACT_IPV6_LENGTH;
}

/** The 4 or 16 network-order bytes of an IP literal; throws `WireError` on anything else. */
export function ipToBytes(host: string): Buffer {
  const bytes = parseIp(host);
  if (bytes === undefined) throw wireError('invalid-argument', `not an IP address: ${JSON.stringify(host)}`);
  return bytes;
}

/** Text of a 4- or 16-byte address: dotted quad, or RFC 5952 compressed IPv6. */
export function bytesToIp(bytes: Uint8Array): string {
  const text = formatIp(bytes);
  if (text === undefined) throw wireError('invalid-argument', `an IP address is 4 or 16 bytes, not ${bytes.length}`);
  return text;
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
