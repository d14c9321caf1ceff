import type { PeerAddress } from '../metainfo/types.js';

export type AnnounceEvent = 'started' | 'completed' | 'stopped';

export interface AnnounceParams {
  /** 20-byte v1 info hash. */
  readonly infoHash: Uint8Array;
  /** 20-byte peer id. */
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
  readonly event?: AnnounceEvent;
  /** Peers wanted; the tracker's default when absent. */
  readonly numWant?: number;
  /** 32-bit value that lets a tracker recognise us across IP changes (BEP 15 `key`). */
  readonly key?: number;
  /** The `tracker id` this tracker gave on an earlier announce (HTTP only). */
  readonly trackerId?: string;
  /**
   * BEP 7 `ipv4=` / `ipv6=` (HTTP only): our public addresses, so that a tracker reached over
   * one family also learns the address of the other, which it cannot see.
   */
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly signal?: AbortSignal;
}

export interface AnnounceResult {
  /** Seconds until the next regular announce, clamped to sane bounds. */
  readonly interval: number;
  readonly minInterval?: number;
  readonly peers: PeerAddress[];
  /** Seeders. */
  readonly complete?: number;
  /** Leechers. */
  readonly incomplete?: number;
  readonly warning?: string;
  /** To be sent back on later announces to the same tracker (HTTP only). */
  readonly trackerId?: string;
}

export interface ScrapeEntry {
  readonly complete: number;
  readonly downloaded: number;
  readonly incomplete: number;
}

/** Scrape results keyed by lowercase hex info hash. */
export type ScrapeResult = Map<string, ScrapeEntry>;
