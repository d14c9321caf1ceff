/**
 * Metainfo: .torrent parsing and validation, magnet links and torrent creation. Pure parsing
 * over bytes, plus file reading at the edges (`loadTorrentFile`, `createTorrent`). Imports only
 * `bencode` and `util`; never the network, storage or session layers.
 */
export { MetainfoError } from './errors.js';
export { loadTorrentFile, parseTorrent, MAX_PIECES, MAX_PIECE_LENGTH, MAX_TORRENT_FILE_BYTES } from './torrent.js';
export { isMagnet, parseMagnet, parseTorrentOrMagnet, toMagnet, type TorrentOrMagnet } from './magnet.js';
export { createTorrent, defaultPieceLength, sha1Hasher, type CreateOptions, type PieceHasher } from './create.js';
export { sanitizeComponent, sanitizePath } from './safe-path.js';
export { PathRegistry } from './path-registry.js';
export { FileTable } from './file-table.js';
export type { FileEntry, InfoDict, MagnetLink, Metainfo, PeerAddress } from './types.js';
