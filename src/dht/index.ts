/**
 * The mainline DHT (BEP 5) and its IPv6 twin (BEP 32: a node of family 6 has its own socket and
 * routing table and exchanges `nodes6`): a KRPC codec, a routing table, the iterative lookup and
 * a UDP node that uses them. The codec, table and lookup are pure (no sockets, injected clock
 * and randomness); only `node.ts` and its transport touch the network. BEP 42 ids (`bep42.ts`) follow the external address the owner settles on. This layer imports `bencode`, `util`
 * and the `PeerAddress` type of `metainfo`, and nothing from the wire, swarm or session layers.
 */
export { DhtNode, DEFAULT_BOOTSTRAP, type BootstrapAddress, type DhtNodeOptions, type DhtStats, type GetPeersOptions } from './node.js';
export {
  decodeKrpc,
  encodeKrpc,
  MAX_KRPC_PACKET,
  KRPC_GENERIC_ERROR,
  KRPC_SERVER_ERROR,
  KRPC_PROTOCOL_ERROR,
  KRPC_METHOD_UNKNOWN,
  type KrpcMessage,
  type KrpcQuery,
  type KrpcMethod,
  type KrpcResponseBody,
  type Want,
} from './krpc.js';
export { type NodeContact, type DhtFamily, encodeNodes, decodeNodes, encodePeer, decodePeer } from './compact.js';
export { RoutingTable, K, type InsertResult, type NodeStatus } from './routing-table.js';
export { Lookup, ALPHA, type LookupOptions, type LookupQuery, type LookupResult, type SeedContact } from './lookup.js';
export { KrpcError, DhtError } from './errors.js';
export { bep42NodeId, conformsToBep42, bep42Exempt } from './bep42.js';
