/**
 * Compact contact encodings of BEP 5 ("Contact Encoding") and BEP 32: a peer is 6 bytes over
 * IPv4 (address, then port, both network byte order) or 18 over IPv6, and a node is its 20-byte
 * id followed by the peer form: 26 bytes in `nodes`, 38 in `nodes6`. Kept inside the DHT layer
 * so it does not depend on the wire layer.
 */
import type { PeerAddress } from '../metainfo/types.js';
import { formatIp, ipFamily, parseIp } from '../util/ip.js';
import { KrpcError } from './errors.js';

export type DhtFamily = 4 | 6;
export const NODE_ID_LENGTH = 20;
export const COMPACT_PEER_LENGTH = 6;
export const COMPACT_PEER6_LENGTH = 18;
export const COMPACT_NODE_LENGTH = NODE_ID_LENGTH + COMPACT_PEER_LENGTH;
export const COMPACT_NODE6_LENGTH = NODE_ID_LENGTH + COMPACT_PEER6_LENGTH;

/** A DHT node: its id and UDP address. */
export interface NodeContact {
  readonly id: Uint8Array;
  readonly host: string;
  readonly port: number;
}

export function isIpv4(host: string): boolean {
  return ipFamily(host) === 4;
}

const addressLength = (family: DhtFamily): number => (family === 4 ? 4 : 16);

function writePeer(out: Uint8Array, at: number, peer: PeerAddress, family: DhtFamily): void {
  const ip = ipFamily(peer.host) === family ? parseIp(peer.host) : undefined;
  if (ip === undefined) throw new KrpcError('bad-address', `not an IPv${family} address: ${peer.host}`);
  if (!Number.isInteger(peer.port) || peer.port < 0 || peer.port > 0xffff) {
    throw new KrpcError('bad-address', `port out of range: ${peer.port}`);
  }
  const n = addressLength(family);
  out.set(ip, at);
  out[at + n] = peer.port >>> 8;
  out[at + n + 1] = peer.port & 0xff;
}

function readPeer(bytes: Uint8Array, at: number, family: DhtFamily): PeerAddress {
  const n = addressLength(family);
  return { host: formatIp(bytes.subarray(at, at + n))!, port: (bytes[at + n]! << 8) | bytes[at + n + 1]! };
}

/** 6 bytes for an IPv4 peer, 18 for an IPv6 one (BEP 32 `values`). */
export function encodePeer(peer: PeerAddress): Uint8Array {
  const family: DhtFamily = ipFamily(peer.host) === 6 ? 6 : 4;
  const out = new Uint8Array(family === 4 ? COMPACT_PEER_LENGTH : COMPACT_PEER6_LENGTH);
  writePeer(out, 0, peer, family);
  return out;
}

export function decodePeer(bytes: Uint8Array): PeerAddress {
  if (bytes.length === COMPACT_PEER_LENGTH) return readPeer(bytes, 0, 4);
  if (bytes.length === COMPACT_PEER6_LENGTH) return readPeer(bytes, 0, 6);
  throw new KrpcError('bad-peer', `compact peer must be ${COMPACT_PEER_LENGTH} or ${COMPACT_PEER6_LENGTH} bytes, got ${bytes.length}`);
}

/** A `nodes` (family 4) or `nodes6` (family 6) string. */
export function encodeNodes(nodes: readonly NodeContact[], family: DhtFamily = 4): Uint8Array {
  const size = family === 4 ? COMPACT_NODE_LENGTH : COMPACT_NODE6_LENGTH;
  const out = new Uint8Array(nodes.length * size);
  nodes.forEach((node, i) => {
    if (node.id.length !== NODE_ID_LENGTH) throw new KrpcError('bad-id', `node id must be ${NODE_ID_LENGTH} bytes`);
    out.set(node.id, i * size);
    writePeer(out, i * size + NODE_ID_LENGTH, node, family);
  });
  return out;
}

/** Decodes a `nodes` or `nodes6` string; ids are copied so they outlive the receive buffer. */
export function decodeNodes(bytes: Uint8Array, family: DhtFamily = 4): NodeContact[] {
  const size = family === 4 ? COMPACT_NODE_LENGTH : COMPACT_NODE6_LENGTH;
  const key = family === 4 ? 'nodes' : 'nodes6';
  if (bytes.length % size !== 0) {
    throw new KrpcError('bad-nodes', `${key} length ${bytes.length} is not a multiple of ${size}`);
  }
  const nodes: NodeContact[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const id = new Uint8Array(bytes.subarray(at, at + NODE_ID_LENGTH));
    nodes.push({ id, ...readPeer(bytes, at + NODE_ID_LENGTH, family) });
  }
  return nodes;
}
