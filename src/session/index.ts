/**
 * The session layer: the engine's center. `Session` owns the listen socket, the peer id, the
 * DHT node, LSD and the torrents; `TorrentHandle` is one torrent's public face. Everything
 * below (wire, peer, swarm, storage, tracker, dht) is reached only from here and never
 * imports this layer.
 */
export { Session, type AddOptions, type DhtOptions, type PortMappingOptions, type SessionOptions } from './session.js';
export {
  TorrentHandle,
  FILE_PRIORITIES,
  type FilePriority,
  type MetadataProgress,
  type RemoveOptions,
  type TorrentEventMap,
  type TorrentFile,
  type TorrentProgress,
  type TorrentState,
  type TorrentStats,
  type TorrentWarning,
} from './handle.js';
export { SessionError, type SessionErrorCode } from './errors.js';
export { resolveSource, type ResolvedSource, type ResolveOptions, type TorrentSource } from './source.js';
export { TypedEmitter, type EventMap } from './events.js';
export type { FoundCounts, SeedLimits } from './torrent-types.js';
