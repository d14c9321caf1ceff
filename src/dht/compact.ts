/**
 * Compact contact encodings of BEP 5 ("Contact Encoding"), IPv4 only: a peer is 6 bytes
 * (address, then port, both network byte order) and a node is 26 bytes (20-byte id, then the
 * peer form). Kept inside the DHT layer so it does not depend on the wire layer.
 */
import type { PeerAddress } from '../metainfo/types.js';
import { KrpcError } from './errors.js';

export const NODE_ID_LENGTH = 20;
export const COMPACT_PEER_LENGTH = 6;
export const COMPACT_NODE_LENGTH = NODE_ID_LENGTH + COMPACT_PEER_LENGTH;

/** A DHT node: its id and UDP address. */
export interface NodeContact {
  readonly id: Uint8Array;
  readonly host: string;
  readonly port: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(host: string): boolean {
  return IPV4.test(host);
}

function writePeer(out: Uint8Array, at: number, peer: PeerAddress): void {
  if (!isIpv4(peer.host)) throw new KrpcError('bad-address', `not an IPv4 address: ${peer.host}`);
  if (!Number.isInteger(peer.port) || peer.port < 0 || peer.port > 0xffff) {
    throw new KrpcError('bad-address', `port out of range: ${peer.port}`);
  }
  const parts = peer.host.split('.');
  for (let i = 0; i < 4; i++) out[at + i] = Number(parts[i]);
  out[at + 4] = peer.port >>> 8;
  out[at + 5] = peer.port & 0xff;
}

function readPeer(bytes: Uint8Array, at: number): PeerAddress {
  const host = `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
  return { host, port: (bytes[at + 4]! << 8) | bytes[at + 5]! };
}

export function encodePeer(peer: PeerAddress): Uint8Array {
  const out = new Uint8Array(COMPACT_PEER_LENGTH);
  writePeer(out, 0, peer);
  return out;
}

export function decodePeer(bytes: Uint8Array): PeerAddress {
  if (bytes.length !== COMPACT_PEER_LENGTH) {
    throw new KrpcError('bad-peer', `compact peer must be ${COMPACT_PEER_LENGTH} bytes, got ${bytes.length}`);
  }
  return readPeer(bytes, 0);
}

export function encodeNodes(nodes: readonly NodeContact[]): Uint8Array {
  const out = new Uint8Array(nodes.length * COMPACT_NODE_LENGTH);
  nodes.forEach((node, i) => {
    if (node.id.length !== NODE_ID_LENGTH) throw new KrpcError('bad-id', `node id must be ${NODE_ID_LENGTH} bytes`);
    out.set(node.id, i * COMPACT_NODE_LENGTH);
    writePeer(out, i * COMPACT_NODE_LENGTH + NODE_ID_LENGTH, node);
  });
  return out;
}

/** Decodes a `nodes` string; ids are copied so they outlive the receive buffer. */
export function decodeNodes(bytes: Uint8Array): NodeContact[] {
  if (bytes.length % COMPACT_NODE_LENGTH !== 0) {
    throw new KrpcError('bad-nodes', `nodes length ${bytes.length} is not a multiple of ${COMPACT_NODE_LENGTH}`);
  }
  const nodes: NodeContact[] = [];
  for (let at = 0; at < bytes.length; at += COMPACT_NODE_LENGTH) {
    const id = new Uint8Array(bytes.subarray(at, at + NODE_ID_LENGTH));
    nodes.push({ id, ...readPeer(bytes, at + NODE_ID_LENGTH) });
  }
  return nodes;
}
