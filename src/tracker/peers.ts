/**
 * Compact peer lists: 6 bytes per IPv4 peer (BEP 23) and 18 per IPv6 peer (BEP 7), the
 * address then the port, both in network order. Pure functions shared by the HTTP and UDP
 * clients and by the built-in tracker.
 */
import { isIP } from 'node:net';
import type { PeerAddress } from '../metainfo/types.js';
import { formatIp, parseIp } from '../util/ip.js';
import { TrackerError } from './errors.js';

/** SAFETY.md: at most 3,000 peers kept per torrent, so no more from one reply either. */
export const MAX_PEERS_PER_REPLY = 3000;

export type PeerFamily = 4 | 6;

export function compactSize(family: PeerFamily): number {
  return family === 4 ? 6 : 18;
}

/** Decode a compact list; its length must be a multiple of the entry size. Port 0 entries are dropped. */
export function decodeCompactPeers(bytes: Uint8Array, family: PeerFamily): PeerAddress[] {
  const size = compactSize(family);
  if (bytes.length % size !== 0) {
    throw new TrackerError('tracker-protocol', `compact peers${family === 6 ? '6' : ''} length ${bytes.length} is not a multiple of ${size}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: PeerAddress[] = [];
  const count = Math.min(bytes.length / size, MAX_PEERS_PER_REPLY);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    const port = view.getUint16(at + size - 2);
    if (port === 0) continue;
    out.push({ host: normalizeIp(formatIp(bytes.subarray(at, at + size - 2))!), port });
  }
  return out;
}

/** Encode peers of one family; peers of the other family are skipped. */
export function encodeCompactPeers(peers: readonly PeerAddress[], family: PeerFamily): Buffer {
  const size = compactSize(family);
  const chosen = peers.filter((p) => isIP(p.host) === family);
  const out = Buffer.alloc(chosen.length * size);
  chosen.forEach((p, i) => {
    const at = i * size;
    ipBytes(p.host).copy(out, at);
    out.writeUInt16BE(p.port, at + size - 2);
  });
  return out;
}

/** The 4 or 16 bytes of an IP literal (IPv4-mapped IPv6 is written as IPv6). */
export function ipBytes(host: string): Buffer {
  const bytes = parseIp(host);
  if (bytes === undefined) throw new TrackerError('tracker-protocol', `not an IP address: ${host}`);
  return bytes;
}

/**
 * One spelling per address: IPv4-mapped IPv6 becomes plain IPv4 (a dual-stack socket
 * reports `::ffff:1.2.3.4`), IPv6 is compressed by the URL parser's canonical form.
 */
export function normalizeIp(host: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped !== null) return mapped[1]!;
  if (isIP(host) === 6) return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  return host;
}

/** Drop duplicates and cap the list, keeping the tracker's order. */
export function dedupePeers(peers: readonly PeerAddress[]): PeerAddress[] {
  const seen = new Set<string>();
  const out: PeerAddress[] = [];
  for (const p of peers) {
    const key = `${p.host}|${p.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
    if (out.length >= MAX_PEERS_PER_REPLY) break;
  }
  return out;
}

/** A remote interval is clamped: too short hammers the tracker, too long overflows timers. */
export const INTERVAL_BOUNDS = { min: 60, max: 86400, fallback: 1800 } as const;

export function clampInterval(seconds: number | undefined): number {
  if (seconds === undefined || !Number.isFinite(seconds)) return INTERVAL_BOUNDS.fallback;
  return Math.min(INTERVAL_BOUNDS.max, Math.max(INTERVAL_BOUNDS.min, Math.trunc(seconds)));
}
