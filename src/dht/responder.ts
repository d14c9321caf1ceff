/**
 * How this node answers other nodes' queries (BEP 5, "DHT Queries"), as a pure function of
 * the query, its source address and our state. Answers are bounded so that no query can make
 * us send a large packet: at most K nodes and MAX_VALUES peers.
 */
import type { PeerAddress } from '../metainfo/types.js';
import { KRPC_PROTOCOL_ERROR, MAX_RESPONSE_NODES, type KrpcQuery, type KrpcResponseBody } from './krpc.js';
import type { PeerStore } from './peer-store.js';
import type { RoutingTable } from './routing-table.js';
import type { TokenIssuer } from './token.js';

/**
 * Peers per get_peers answer. 50 compact peers are 400 bytes (IPv4) or 1000 (IPv6); with 8
 * nodes, a token and the envelope an IPv4 answer stays near 750 bytes. An IPv6 answer that
 * would pass MAX_KRPC_PACKET is dropped by the encoder, so the IPv6 node stores fewer (see
 * MAX_VALUES6).
 */
export const MAX_VALUES = 50;
/** 8 nodes6 (304 bytes) and 35 IPv6 peers (~700 bytes) stay under MAX_KRPC_PACKET. */
export const MAX_VALUES6 = 35;

export interface ResponderState {
  readonly ownId: Uint8Array;
  readonly table: RoutingTable;
  readonly tokens: TokenIssuer;
  readonly peers: PeerStore;
  /** The node's address family: an IPv6 node (BEP 32) answers with `nodes6`. */
  readonly family?: 4 | 6;
}

export type Answer =
  | { readonly kind: 'response'; readonly body: KrpcResponseBody }
  | { readonly kind: 'error'; readonly code: number; readonly message: string };

export function answerQuery(state: ResponderState, query: KrpcQuery, from: PeerAddress): Answer {
  const id = state.ownId;
  // One routing table per node: an IPv6 node's contacts go in `nodes6` (BEP 32), whatever `want` says.
  const listed = (target: Uint8Array): Pick<KrpcResponseBody, 'nodes' | 'nodes6'> => {
    const closest = state.table.closest(target, MAX_RESPONSE_NODES);
    return state.family === 6 ? { nodes6: closest } : { nodes: closest };
  };
  switch (query.method) {
    case 'ping':
      return { kind: 'response', body: { id } };
    case 'find_node':
      return { kind: 'response', body: { id, ...listed(query.target) } };
    case 'get_peers': {
      const nodes = listed(query.infoHash);
      const values = state.peers.get(query.infoHash, state.family === 6 ? MAX_VALUES6 : MAX_VALUES);
      // BEP 5 returns `values` when we know peers and `nodes` otherwise; sending both lets the
      // querier keep converging on the closest nodes, as widely deployed nodes do.
      const body: KrpcResponseBody =
        values.length > 0 ? { id, ...nodes, values, token: state.tokens.issue(from.host) } : { id, ...nodes, token: state.tokens.issue(from.host) };
      return { kind: 'response', body };
    }
    case 'announce_peer': {
      if (!state.tokens.verify(from.host, query.token)) {
        return { kind: 'error', code: KRPC_PROTOCOL_ERROR, message: 'bad token' };
      }
      const port = query.impliedPort ? from.port : query.port;
      if (port === undefined || port === 0) return { kind: 'error', code: KRPC_PROTOCOL_ERROR, message: 'bad port' };
      // The peer's address is the packet's source, never a claimed one: BEP 5 ties it to the token.
      state.peers.add(query.infoHash, { host: from.host, port });
      return { kind: 'response', body: { id } };
    }
  }
}
