/**
 * Tessera as a library: `import { Session } from 'tessera'`.
 *
 *   import { Session } from 'tessera';
 *
 *   const session = new Session();
 *   const torrent = await session.add('magnet:?xt=urn:btih:…', { path: 'downloads' });
 *   for await (const p of torrent.progress()) console.log(`${(p.fraction * 100).toFixed(1)} %`);
 *   await session.close();
 *
 * File selection: `handle.setFilePriorities([...])` / `setFilePriority(i, p)` with `skip`,
 * `low`, `normal` or `high`, by index in `handle.files()` (Transmission's files-wanted /
 * files-unwanted map to normal / skip, priority-low/normal/high one to one).
 *
 * This file is the whole public surface: the session and its handles, the helpers to read
 * and make .torrent files and magnet links, and the error classes (each with a stable
 * `code`). Anything not exported here is internal and may change.
 */
export {
  Session,
  TorrentHandle,
  SessionError,
  FILE_PRIORITIES,
  type FilePriority,
  type AddOptions,
  type DhtOptions,
  type PortMappingOptions,
  type SessionOptions,
  type SessionErrorCode,
  type MetadataProgress,
  type RemoveOptions,
  type TorrentEventMap,
  type TorrentFile,
  type TorrentProgress,
  type TorrentSource,
  type TorrentState,
  type TorrentStats,
  type TorrentWarning,
  type FoundCounts,
  type SeedLimits,
} from './session/index.js';
export {
  parseTorrent,
  loadTorrentFile,
  parseMagnet,
  toMagnet,
  createTorrent,
  MetainfoError,
  type CreateOptions,
  type FileEntry,
  type FileTable,
  type InfoDict,
  type MagnetLink,
  type Metainfo,
  type PeerAddress,
} from './metainfo/index.js';
export { TesseraError } from './util/errors.js';
export { StorageError, type StorageErrorCode } from './storage/index.js';
export { TrackerError, type TrackerErrorCode } from './tracker/index.js';
export { BencodeError } from './bencode/index.js';
export type { Clock, TimerHandle } from './util/clock.js';
export { PortMapError, type PortMapEvent, type PortMapping, type PortMapMethod } from './portmap/index.js';
