/**
 * KRPC codec (BEP 5, "KRPC Protocol" and "DHT Queries"): pure functions between UDP payloads
 * and typed messages. Decoding is strict and total: every malformed or out-of-policy packet
 * becomes a `KrpcError`, never another exception. Unknown keys are ignored, because later
 * BEPs (`v`, `ip`, `ro`, ...) add keys that a BEP 5 node may safely skip. BEP 32's IPv6 keys
 * are read: `nodes6` (38-byte nodes), 18-byte peers in `values`, and `want` (`n4`, `n6`).
 * BEP 42's `ip` (the requester's address as the responder saw it) is read from responses and
 * written into ours; a malformed one is a hint lost, not an error.
 */
import { BencodeError, BDict, type BValue, asBytes, asDict, asList, decode, encode } from '../bencode/index.js';
import type { PeerAddress } from '../metainfo/types.js';
import { COMPACT_NODE_LENGTH, NODE_ID_LENGTH, type NodeContact, decodeNodes, decodePeer, encodeNodes, encodePeer } from './compact.js';
import { KrpcError } from './errors.js';

/**
 * Largest packet we read or write. Ethernet MTU minus IP and UDP headers; anything larger
 * would be fragmented, and every legal BEP 5 message with a bounded answer fits.
 */
export const MAX_KRPC_PACKET = 1472;
/** BEP 5 says 2 bytes suffice; longer ids are accepted up to this bound. */
export const MAX_TRANSACTION_ID = 32;
/** Tokens are opaque (BEP 5, "get_peers"), but a bound keeps stored state small. */
export const MAX_TOKEN_LENGTH = 64;

/** Error codes of BEP 5, "Errors". */
export const KRPC_GENERIC_ERROR = 201;
export const KRPC_SERVER_ERROR = 202;
export const KRPC_PROTOCOL_ERROR = 203;
export const KRPC_METHOD_UNKNOWN = 204;

export type KrpcQuery =
  | { readonly method: 'ping'; readonly id: Uint8Array }
  | { readonly method: 'find_node'; readonly id: Uint8Array; readonly target: Uint8Array; readonly want?: readonly Want[] }
  | { readonly method: 'get_peers'; readonly id: Uint8Array; readonly infoHash: Uint8Array; readonly want?: readonly Want[] }
  | {
      readonly method: 'announce_peer';
      readonly id: Uint8Array;
      readonly infoHash: Uint8Array;
      /** Absent only when `impliedPort` is set and the sender left it out. */
      readonly port: number | undefined;
      readonly token: Uint8Array;
      /** BEP 5: use the UDP source port instead of `port` (for peers behind NAT). */
      readonly impliedPort: boolean;
    };

export type KrpcMethod = KrpcQuery['method'];
/** BEP 32: which node lists the querier wants, IPv4 (`n4`, 26-byte) and/or IPv6 (`n6`, 38-byte). */
export type Want = 'n4' | 'n6';

/** A response body: every response has `id`; the other keys depend on the query. */
export interface KrpcResponseBody {
  readonly id: Uint8Array;
  readonly nodes?: readonly NodeContact[];
  /** BEP 32: IPv6 nodes. */
  readonly nodes6?: readonly NodeContact[];
  readonly values?: readonly PeerAddress[];
  readonly token?: Uint8Array;
}

export type KrpcMessage =
  | { readonly type: 'query'; readonly t: Uint8Array; readonly query: KrpcQuery; readonly version?: Uint8Array }
  | {
      readonly type: 'response';
      readonly t: Uint8Array;
      readonly response: KrpcResponseBody;
      readonly version?: Uint8Array;
      /** BEP 42: the querier's address and port as the responder saw them (compact, top level). */
      readonly ip?: PeerAddress;
    }
  | { readonly type: 'error'; readonly t: Uint8Array; readonly code: number; readonly message: string; readonly version?: Uint8Array };

const QUERY_METHODS: ReadonlySet<string> = new Set<KrpcMethod>(['ping', 'find_node', 'get_peers', 'announce_peer']);

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Copies so that decoded messages never alias the caller's receive buffer. */
function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** Decodes one KRPC packet, throwing `KrpcError` for anything malformed. */
export function decodeKrpc(packet: Uint8Array): KrpcMessage {
  if (packet.length > MAX_KRPC_PACKET) {
    throw new KrpcError('too-large', `packet of ${packet.length} bytes exceeds ${MAX_KRPC_PACKET}`);
  }
  let root: BValue;
  try {
    // Depth 3 is the deepest legal shape (message > r > values list); tokens bound the work.
    root = decode(packet, { strict: true, maxDepth: 3, maxTokens: 1024 });
  } catch (err) {
    if (err instanceof BencodeError) throw new KrpcError('bad-bencode', err.message, { cause: err });
    throw err;
  }
  const dict = asDict(root);
  if (dict === undefined) throw new KrpcError('not-a-dict', 'KRPC message is not a dictionary');
  const t = asBytes(dict.get('t'));
  if (t === undefined || t.length === 0 || t.length > MAX_TRANSACTION_ID) {
    throw new KrpcError('bad-transaction-id', 'missing or invalid transaction id "t"');
  }
  const versionValue = dict.get('v');
  const version = versionValue === undefined ? undefined : asBytes(versionValue);
  const extra = version === undefined ? {} : { version: copy(version) };
  const y = asBytes(dict.get('y'));
  const kind = y === undefined ? undefined : latin1(y);
  if (kind === 'q') return { type: 'query', t: copy(t), query: decodeQuery(dict, t), ...extra };
  if (kind === 'r') {
    const ip = requesterAddress(dict);
    return { type: 'response', t: copy(t), response: decodeResponse(dict), ...extra, ...(ip !== undefined ? { ip } : {}) };
  }
  if (kind === 'e') return { type: 'error', t: copy(t), ...decodeError(dict), ...extra };
  throw new KrpcError('bad-message-type', 'missing or unknown message type "y"');
}

/** BEP 42 `ip`: 6 bytes (IPv4 and port) or 18 (IPv6 and port); anything else is ignored. */
function requesterAddress(dict: BDict): PeerAddress | undefined {
  const ip = asBytes(dict.get('ip'));
  return ip === undefined || (ip.length !== 6 && ip.length !== 18) ? undefined : decodePeer(ip);
}

function fixedBytes(args: BDict, key: string, length: number, context: { transactionId?: Uint8Array; wasQuery?: boolean }): Uint8Array {
  const v = asBytes(args.get(key));
  if (v === undefined || v.length !== length) {
    throw new KrpcError('bad-field', `"${key}" must be a ${length}-byte string`, context);
  }
  return copy(v);
}

function decodeQuery(dict: BDict, t: Uint8Array): KrpcQuery {
  const ctx = { transactionId: copy(t), wasQuery: true };
  const q = asBytes(dict.get('q'));
  if (q === undefined) throw new KrpcError('bad-field', 'query without a method name "q"', ctx);
  const method = latin1(q);
  if (!QUERY_METHODS.has(method)) throw new KrpcError('unknown-method', 'unknown query method', ctx);
  const args = asDict(dict.get('a'));
  if (args === undefined) throw new KrpcError('bad-field', 'query without an argument dictionary "a"', ctx);
  const id = fixedBytes(args, 'id', NODE_ID_LENGTH, ctx);
  switch (method as KrpcMethod) {
    case 'ping':
      return { method: 'ping', id };
    case 'find_node':
      return { method: 'find_node', id, target: fixedBytes(args, 'target', NODE_ID_LENGTH, ctx), ...wantOf(args) };
    case 'get_peers':
      return { method: 'get_peers', id, infoHash: fixedBytes(args, 'info_hash', NODE_ID_LENGTH, ctx), ...wantOf(args) };
    case 'announce_peer':
      return decodeAnnounce(args, id, ctx);
  }
}

/** BEP 32 `want`: unknown entries are skipped; a malformed list reads as absent. */
function wantOf(args: BDict): { want?: Want[] } {
  const list = asList(args.get('want'));
  if (list === undefined) return {};
  const want: Want[] = [];
  for (const item of list.slice(0, 8)) {
    const b = asBytes(item);
    const w = b === undefined ? undefined : latin1(b);
    if ((w === 'n4' || w === 'n6') && !want.includes(w)) want.push(w);
  }
  return { want };
}

function decodeAnnounce(args: BDict, id: Uint8Array, ctx: { transactionId: Uint8Array; wasQuery: boolean }): KrpcQuery {
  const infoHash = fixedBytes(args, 'info_hash', NODE_ID_LENGTH, ctx);
  const token = asBytes(args.get('token'));
  if (token === undefined || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new KrpcError('bad-field', '"token" must be a non-empty string', ctx);
  }
  const implied = args.get('implied_port');
  if (implied !== undefined && implied !== 0 && implied !== 1) {
    throw new KrpcError('bad-field', '"implied_port" must be 0 or 1', ctx);
  }
  const impliedPort = implied === 1;
  const portValue = args.get('port');
  let port: number | undefined;
  if (portValue !== undefined) {
    if (typeof portValue !== 'number' || !Number.isInteger(portValue) || portValue < 0 || portValue > 0xffff) {
      throw new KrpcError('bad-field', '"port" must be an integer in 0..65535', ctx);
    }
    port = portValue;
  }
  // Port 0 is only meaningful when implied_port tells the receiver to ignore it.
  if (!impliedPort && (port === undefined || port === 0)) {
    throw new KrpcError('bad-field', 'announce_peer without a usable "port"', ctx);
  }
  return { method: 'announce_peer', id, infoHash, port, token: copy(token), impliedPort };
}

function decodeResponse(dict: BDict): KrpcResponseBody {
  const r = asDict(dict.get('r'));
  if (r === undefined) throw new KrpcError('bad-field', 'response without a dictionary "r"');
  const id = fixedBytes(r, 'id', NODE_ID_LENGTH, {});
  const body: { id: Uint8Array; nodes?: NodeContact[]; nodes6?: NodeContact[]; values?: PeerAddress[]; token?: Uint8Array } = { id };
  const nodesValue = r.get('nodes');
  if (nodesValue !== undefined) {
    const nodes = asBytes(nodesValue);
    if (nodes === undefined) throw new KrpcError('bad-nodes', '"nodes" is not a byte string');
    body.nodes = decodeNodes(nodes);
  }
  const nodes6Value = r.get('nodes6');
  if (nodes6Value !== undefined) {
    const nodes6 = asBytes(nodes6Value);
    if (nodes6 === undefined) throw new KrpcError('bad-nodes', '"nodes6" is not a byte string');
    body.nodes6 = decodeNodes(nodes6, 6);
  }
  const valuesValue = r.get('values');
  if (valuesValue !== undefined) {
    const list = asList(valuesValue);
    if (list === undefined) throw new KrpcError('bad-values', '"values" is not a list');
    body.values = list.map((item) => {
      const bytes = asBytes(item);
      // 6 bytes for an IPv4 peer, 18 for an IPv6 one (BEP 32).
      if (bytes === undefined) throw new KrpcError('bad-values', '"values" item is not a byte string');
      return decodePeer(bytes);
    });
  }
  const tokenValue = r.get('token');
  if (tokenValue !== undefined) {
    const token = asBytes(tokenValue);
    if (token === undefined || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new KrpcError('bad-field', '"token" must be a non-empty string');
    }
    body.token = copy(token);
  }
  return body;
}

function decodeError(dict: BDict): { code: number; message: string } {
  const e = asList(dict.get('e'));
  if (e === undefined || e.length !== 2) throw new KrpcError('bad-error', '"e" must be a list [code, message]');
  const [code, message] = e;
  const text = asBytes(message);
  if (typeof code !== 'number' || text === undefined) throw new KrpcError('bad-error', '"e" must be [integer, string]');
  return { code, message: Buffer.from(text).toString('utf8') };
}

/** Encodes a message canonically; throws `KrpcError` if it would exceed `MAX_KRPC_PACKET`. */
export function encodeKrpc(msg: KrpcMessage): Uint8Array {
  const root = new BDict();
  root.set('t', msg.t);
  if (msg.version !== undefined) root.set('v', msg.version);
  switch (msg.type) {
    case 'query':
      root.set('y', bytes('q'));
      root.set('q', bytes(msg.query.method));
      root.set('a', queryArgs(msg.query));
      break;
    case 'response':
      root.set('y', bytes('r'));
      root.set('r', responseBody(msg.response));
      if (msg.ip !== undefined) root.set('ip', encodePeer(msg.ip));
      break;
    case 'error':
      root.set('y', bytes('e'));
      root.set('e', [msg.code, Buffer.from(msg.message, 'utf8')]);
      break;
  }
  const out = encode(root);
  if (out.length > MAX_KRPC_PACKET) throw new KrpcError('too-large', `encoded message of ${out.length} bytes exceeds ${MAX_KRPC_PACKET}`);
  return out;
}

function bytes(text: string): Uint8Array {
  return Buffer.from(text, 'latin1');
}

function queryArgs(query: KrpcQuery): BDict {
  const a = new BDict();
  a.set('id', query.id);
  switch (query.method) {
    case 'ping':
      break;
    case 'find_node':
      a.set('target', query.target);
      if (query.want !== undefined) a.set('want', query.want.map(bytes));
      break;
    case 'get_peers':
      a.set('info_hash', query.infoHash);
      if (query.want !== undefined) a.set('want', query.want.map(bytes));
      break;
    case 'announce_peer':
      a.set('info_hash', query.infoHash);
      if (query.impliedPort) a.set('implied_port', 1);
      if (query.port !== undefined) a.set('port', query.port);
      a.set('token', query.token);
      break;
  }
  return a;
}

function responseBody(body: KrpcResponseBody): BDict {
  const r = new BDict();
  r.set('id', body.id);
  if (body.nodes !== undefined) r.set('nodes', encodeNodes(body.nodes));
  if (body.nodes6 !== undefined) r.set('nodes6', encodeNodes(body.nodes6, 6));
  if (body.values !== undefined) r.set('values', body.values.map(encodePeer));
  if (body.token !== undefined) r.set('token', body.token);
  return r;
}

/** The largest `nodes` list that a response may carry (BEP 5: the K = 8 closest). */
export const MAX_RESPONSE_NODES = 8;
/** Bytes a full `nodes` string takes, used to budget `values` in get_peers answers. */
export const MAX_NODES_BYTES = MAX_RESPONSE_NODES * COMPACT_NODE_LENGTH;
