/**
 * ut_pex (BEP 11): peers gossip the peers they are connected to, as compact lists
 * (`added`/`dropped` for IPv4, `added6`/`dropped6` for IPv6) with one flags byte per added
 * peer (`added.f`, `added6.f`).
 *
 * Bounds (SAFETY.md, after the µTorrent/Azureus convention): at most 50 added and 50
 * dropped peers per message, both families together. We send no more. On receipt, a
 * longer list is truncated, not fatal: the first 50 entries are kept (IPv4 first) and
 * `truncated` is set so the caller may count it as misbehaviour. Each list's length must
 * still be a whole number of entries. Port-0 entries are dropped (nobody listens there).
 * A flags string whose length differs from its list is ignored (flags 0), since peers
 * are still usable without it.
 */
import { asBytes, asDict, BencodeError, decode, encode, type BDict, type BValue } from '../bencode/index.js';
import type { PeerAddress } from '../metainfo/types.js';
import { compactEntryLength, decodeCompactPeers, encodeCompactPeers, ipFamily, type IpFamily } from './compact.js';
import { wireError } from './errors.js';

export const UT_PEX = 'ut_pex';
export const MAX_PEX_PEERS = 50;

/** BEP 11 `added.f` bits. */
export const PexFlag = {
  encryption: 0x01,
  seed: 0x02,
  utp: 0x04,
  holepunch: 0x08,
  reachable: 0x10,
} as const;

export interface PexPeer extends PeerAddress {
  readonly flags: number;
}

export interface PexMessage {
  readonly added: readonly PexPeer[];
  readonly dropped: readonly PeerAddress[];
}

export interface DecodedPex extends PexMessage {
  /** More than MAX_PEX_PEERS added or dropped entries were sent; the rest were ignored. */
  readonly truncated: boolean;
}

export function encodeUtPex(msg: PexMessage): Buffer {
  if (msg.added.length > MAX_PEX_PEERS || msg.dropped.length > MAX_PEX_PEERS) {
    throw wireError('invalid-argument', `a PEX message carries at most ${MAX_PEX_PEERS} added and ${MAX_PEX_PEERS} dropped peers`);
  }
  for (const p of [...msg.added, ...msg.dropped]) {
    if (ipFamily(p.host) === undefined) throw wireError('invalid-argument', `PEX peer ${p.host} is not an IP address`);
  }
  for (const p of msg.added) {
    if (!Number.isInteger(p.flags) || p.flags < 0 || p.flags > 0xff) throw wireError('invalid-argument', `bad PEX flags ${p.flags}`);
  }
  const flagsOf = (family: IpFamily): Buffer => Buffer.from(msg.added.filter((p) => ipFamily(p.host) === family).map((p) => p.flags));
  return encode({
    added: encodeCompactPeers(msg.added, 4),
    'added.f': flagsOf(4),
    added6: encodeCompactPeers(msg.added, 6),
    'added6.f': flagsOf(6),
    dropped: encodeCompactPeers(msg.dropped, 4),
    dropped6: encodeCompactPeers(msg.dropped, 6),
  });
}

export function decodeUtPex(payload: Uint8Array): DecodedPex {
  let root: BValue;
  try {
    root = decode(payload, { strict: true, maxDepth: 8, maxTokens: 1000 });
  } catch (err) {
    if (err instanceof BencodeError) throw wireError('bad-ut-pex', `ut_pex: ${err.message}`, err);
    throw err;
  }
  const dict = asDict(root);
  if (dict === undefined) throw wireError('bad-ut-pex', 'ut_pex message is not a dictionary');

  const added4 = list(dict, 'added', 4);
  const added6 = list(dict, 'added6', 6);
  const dropped4 = list(dict, 'dropped', 4);
  const dropped6 = list(dict, 'dropped6', 6);
  const added = [...withFlags(added4, bytes(dict, 'added.f')), ...withFlags(added6, bytes(dict, 'added6.f'))];
  const dropped = [...dropped4.peers, ...dropped6.peers];
  const truncated = added4.sent + added6.sent > MAX_PEX_PEERS || dropped4.sent + dropped6.sent > MAX_PEX_PEERS;
  return {
    added: added.filter((p) => p.port !== 0).slice(0, MAX_PEX_PEERS),
    dropped: dropped.filter((p) => p.port !== 0).slice(0, MAX_PEX_PEERS),
    truncated,
  };
}

interface CompactList {
  /** Entries on the wire. */
  readonly sent: number;
  /** The first MAX_PEX_PEERS of them, in order, port 0 included. */
  readonly peers: PeerAddress[];
}

function bytes(dict: BDict, key: string): Uint8Array | undefined {
  const v = dict.get(key);
  if (v === undefined) return undefined;
  const b = asBytes(v);
  if (b === undefined) throw wireError('bad-ut-pex', `ut_pex "${key}" is not a byte string`);
  return b;
}

function list(dict: BDict, key: string, family: IpFamily): CompactList {
  const b = bytes(dict, key);
  if (b === undefined) return { sent: 0, peers: [] };
  try {
    return { sent: b.length / compactEntryLength(family), peers: decodeCompactPeers(b, family, MAX_PEX_PEERS) };
  } catch (err) {
    throw wireError('bad-ut-pex', `ut_pex "${key}": ${err instanceof Error ? err.message : String(err)}`, err);
  }
}

function withFlags(entries: CompactList, flags: Uint8Array | undefined): PexPeer[] {
  const usable = flags !== undefined && flags.length === entries.sent;
  return entries.peers.map((p, i) => ({ host: p.host, port: p.port, flags: usable ? flags[i]! : 0 }));
}
