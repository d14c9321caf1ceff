/**
 * Trackers: HTTP(S) announce and scrape (BEP 3, 23, 7, 48), UDP (BEP 15), tiers (BEP 12),
 * and a small built-in tracker. This layer owns tracker I/O and imports only `bencode`,
 * `metainfo/types` and `util`; it knows nothing of peers' wire protocol or sessions.
 */
export { announce, scrape, type TrackerOptions } from './announce.js';
export {
  Announcer,
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  MAX_ANNOUNCE_S,
  MIN_ANNOUNCE_S,
  STOP_TIMEOUT_MS,
  type AnnouncerOptions,
  type TrackerStatus,
} from './announcer.js';
export { TrackerError, type TrackerErrorCode, type TrackerErrorOptions } from './errors.js';
export { scrapeUrlFor } from './http-codec.js';
export { startTrackerServer, type TrackerServer, type TrackerServerOptions } from './server.js';
export { TrackerSet, TrackerSetError, type AnnounceOutcome, type TrackerSetOptions } from './tiers.js';
export type { AnnounceEvent, AnnounceParams, AnnounceResult, ScrapeEntry, ScrapeResult } from './types.js';
export { UdpTrackerClient, type UdpClientOptions } from './udp-client.js';
