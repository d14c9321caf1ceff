/**
 * The tracker side of a torrent: one announcer per swarm it joins (a hybrid announces its v1
 * hash and its truncated v2 hash), each started at once and all reporting the same counters.
 */
import type { PeerAddress } from '../metainfo/types.js';
import { Announcer, type AnnouncerOptions, type UdpTrackerClient } from '../tracker/index.js';
import type { Clock } from '../util/clock.js';

/** The size is unknown before the metadata arrives; trackers need some `left` > 0 (a leecher). */
export const UNKNOWN_LEFT = 2 ** 31 - 1;

export interface AnnounceWiring {
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly clock: Clock;
  /** UDP tracker retransmission base (BEP 15's 15 s); default 5 s. */
  readonly udpBaseTimeoutMs?: number;
  /** A UDP tracker client to share (its own timeouts apply); absent, each announce makes one. */
  readonly udp?: UdpTrackerClient;
  readonly stopTimeoutMs?: number;
  readonly stats: AnnouncerOptions['stats'];
  /** Few peers: ask again sooner, as far as the tracker's min interval allows. */
  readonly wantPeers: () => boolean;
  readonly onPeers: (peers: PeerAddress[]) => void;
  /** A tracker's error or warning: one line for the user. */
  readonly warn: (message: string) => void;
  readonly externalAddresses?: AnnouncerOptions['externalAddresses'];
}

export function startAnnouncers(tiers: readonly (readonly string[])[], infoHashes: readonly Uint8Array[], w: AnnounceWiring): Announcer[] {
  const announcers = infoHashes.map(
    (infoHash) =>
      new Announcer({
        tiers,
        infoHash,
        peerId: w.peerId,
        port: w.port,
        stats: w.stats,
        wantPeers: w.wantPeers,
        onPeers: w.onPeers,
        onError: (url, err) => w.warn(`${url}: ${err.message}`),
        onWarning: (url, warning) => w.warn(`${url}: tracker warning: ${warning}`),
        tracker: { udpBaseTimeoutMs: w.udpBaseTimeoutMs ?? 5000, udpMaxRetries: 2, timeoutMs: 15_000, ...(w.udp !== undefined ? { udp: w.udp } : {}) },
        clock: w.clock,
        ...(w.stopTimeoutMs !== undefined ? { stopTimeoutMs: w.stopTimeoutMs } : {}),
        ...(w.externalAddresses !== undefined ? { externalAddresses: w.externalAddresses } : {}),
      }),
  );
  for (const a of announcers) a.start();
  return announcers;
}
