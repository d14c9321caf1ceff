/**
 * A .torrent file around an info dictionary received over ut_metadata (BEP 9). The info
 * dictionary's bytes are spliced in verbatim: re-encoding a decoded dictionary could change
 * its bytes (and so its hash) when the sender's encoding was not canonical.
 */
import { createHash } from 'node:crypto';
import { encode } from '../bencode/index.js';
import { parseTorrent } from '../metainfo/index.js';
import type { Metainfo } from '../metainfo/types.js';
import { bytesEqual } from '../util/bytes.js';
import { TesseraError } from '../util/errors.js';
import { CLIENT_NAME } from '../swarm/extensions.js';

export class TorrentFileError extends TesseraError {}

/**
 * `d8:announce…13:announce-list…10:created by…4:info<raw>12:piece layers…e`. Every other
 * top-level key we write sorts before `info` and `piece layers` after it, so splicing the raw
 * info dictionary between them keeps the keys in the order BEP 3 requires. Each magnet tracker
 * becomes its own tier, as BEP 9 gives no tiers. `layers` (BEP 52, by raw pieces root) are the
 * piece layers fetched from peers.
 */
export function buildTorrentFile(infoBytes: Uint8Array, trackers: readonly string[], layers?: ReadonlyMap<string, Uint8Array>): Buffer {
  const head = encode({
    ...(trackers.length > 0 ? { announce: trackers[0] } : {}),
    ...(trackers.length > 1 ? { 'announce-list': trackers.map((t) => [t]) } : {}),
    'created by': CLIENT_NAME,
  });
  const tail = layers === undefined || layers.size === 0 ? Buffer.from('e') : encode({ 'piece layers': new Map([...layers].map(([hex, layer]) => [Buffer.from(hex, 'hex').toString('latin1'), layer])) }).subarray(1);
  return Buffer.concat([head.subarray(0, head.length - 1), Buffer.from('4:info'), infoBytes, tail]);
}

/** The hashes a magnet link names: SHA-1 (`urn:btih:`) and SHA-256 (`urn:btmh:`) of the info bytes. */
export interface ExpectedHashes {
  readonly v1?: Uint8Array;
  readonly v2?: Uint8Array;
}

/**
 * Metainfo for info bytes that must hash to every hash in `expected` (at least one): they are
 * checked before a single byte is parsed, and again on the parsed result (parseTorrent hashes
 * the spliced span).
 */
export function metainfoFromInfoBytes(infoBytes: Uint8Array, trackers: readonly string[], expected: ExpectedHashes, layers?: ReadonlyMap<string, Uint8Array>): { meta: Metainfo; torrentBytes: Buffer } {
  const mismatch = (what: string): TorrentFileError => new TorrentFileError('hash-mismatch', `the ${what} does not match the info hash`);
  if (expected.v1 === undefined && expected.v2 === undefined) throw new TorrentFileError('hash-mismatch', 'no info hash to check the metadata against');
  if (expected.v1 !== undefined && !bytesEqual(createHash('sha1').update(infoBytes).digest(), expected.v1)) throw mismatch('metadata');
  if (expected.v2 !== undefined && !bytesEqual(createHash('sha256').update(infoBytes).digest(), expected.v2)) throw mismatch('metadata');
  const torrentBytes = buildTorrentFile(infoBytes, trackers, layers);
  const meta = parseTorrent(torrentBytes);
  if (expected.v1 !== undefined && !bytesEqual(meta.infoHash, expected.v1)) throw mismatch('assembled torrent');
  if (expected.v2 !== undefined && (meta.v2 === undefined || !bytesEqual(meta.v2.infoHash, expected.v2))) throw mismatch('assembled torrent');
  return { meta, torrentBytes };
}
