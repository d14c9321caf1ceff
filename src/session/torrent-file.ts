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
 * `d8:announce…13:announce-list…10:created by…4:info<raw>e`. Every top-level key we write
 * sorts before `info`, so appending the raw info dictionary last keeps the keys in the
 * order BEP 3 requires. Each magnet tracker becomes its own tier, as BEP 9 gives no tiers.
 */
export function buildTorrentFile(infoBytes: Uint8Array, trackers: readonly string[]): Buffer {
  const head = encode({
    ...(trackers.length > 0 ? { announce: trackers[0] } : {}),
    ...(trackers.length > 1 ? { 'announce-list': trackers.map((t) => [t]) } : {}),
    'created by': CLIENT_NAME,
  });
  return Buffer.concat([head.subarray(0, head.length - 1), Buffer.from('4:info'), infoBytes, Buffer.from('e')]);
}

/**
 * Metainfo for info bytes whose SHA-1 must be `infoHash`: the hash is checked before a single
 * byte is parsed, and again on the parsed result (parseTorrent hashes the spliced span).
 */
export function metainfoFromInfoBytes(infoBytes: Uint8Array, trackers: readonly string[], infoHash: Uint8Array): { meta: Metainfo; torrentBytes: Buffer } {
  const digest = createHash('sha1').update(infoBytes).digest();
  if (!bytesEqual(digest, infoHash)) throw new TorrentFileError('hash-mismatch', 'the metadata does not match the info hash');
  const torrentBytes = buildTorrentFile(infoBytes, trackers);
  const meta = parseTorrent(torrentBytes);
  if (!bytesEqual(meta.infoHash, infoHash)) throw new TorrentFileError('hash-mismatch', 'the assembled torrent does not match the info hash');
  return { meta, torrentBytes };
}
