/**
 * The vocabulary between a torrent and its owner (the handle): states, events, options and
 * the statistics a torrent reports.
 */
import type { Metainfo, PeerAddress } from '../metainfo/types.js';
import type { BandwidthLimit } from '../swarm/bandwidth.js';
import type { PeerSource } from '../swarm/peer-pool.js';
import type { Clock } from '../util/clock.js';
import type { MetadataProgress } from './metadata-phase.js';
import type { UdpTrackerClient } from '../tracker/index.js';
import type { WorkerPool } from '../storage/worker-pool.js';

export type TorrentState = 'metadata' | 'checking' | 'downloading' | 'seeding' | 'paused' | 'stopped' | 'error';

/** Something worth telling a user that does not stop the torrent. */
export interface TorrentWarning {
  /** `resume`: a resume record could not be written (the download goes on). */
  readonly code: 'tracker' | 'peer-banned' | 'resume' | 'web-seed';
  readonly message: string;
  /** The peer concerned, for `peer-banned`. */
  readonly peer?: PeerAddress;
}

/** The torrent's reports to its owner (the handle): one-way, child to parent. */
export interface TorrentEvents {
  onState(state: TorrentState): void;
  onChecking(checked: number, total: number): void;
  onMetadata(meta: Metainfo, torrentBytes: Uint8Array): void;
  onMetadataProgress(progress: MetadataProgress): void;
  onVerified(piece: number): void;
  onPieceFailed(piece: number): void;
  onDone(): void;
  /** A seeding limit was met; the torrent pauses itself. */
  onSeeded(): void;
  onTick(): void;
  onWarning(warning: TorrentWarning): void;
  onError(err: unknown): void;
  onPeerConnected(address: PeerAddress, outgoing: boolean): void;
  onPeerDisconnected(address: PeerAddress, reason: string): void;
  /** The swarm's once-a-second download trace, when `trace` is on. */
  onTrace(line: string): void;
}

export interface TorrentOptions {
  readonly outputDir: string;
  readonly clock: Clock;
  readonly events: TorrentEvents;
  /** Peers to dial without any tracker. */
  readonly peers?: readonly PeerAddress[];
  /** Announce to the torrent's trackers (default true). */
  readonly trackers?: boolean;
  /** UDP tracker retransmission base (BEP 15's 15 s); shortened only by tests. */
  readonly udpBaseTimeoutMs?: number;
  /** The session's UDP tracker client (on the listen port's socket); absent, each announce has its own. */
  readonly udpTrackers?: UdpTrackerClient;
  readonly maxConnections?: number;
  /** Connections one IP may hold (default 3); raised where several peers share an address, as on loopback. */
  readonly maxPeersPerIp?: number;
  /** A magnet fails with `no-metadata` when no peer offered or sent metadata for this long. Default: never. */
  readonly metadataTimeoutMs?: number;
  readonly metadataRequestTimeoutMs?: number;
  /** How long `stopped` announces may take. Default: the announcer's (2 s). */
  readonly stopTimeoutMs?: number;
  readonly seedRatio?: number;
  readonly seedTimeMs?: number;
  readonly seedIdleMs?: number;
  /** Folder of resume records (see storage/resume.ts); without it every start rechecks. */
  readonly resumeDir?: string;
  /** Period of the resume record while downloading (default 3 s). */
  readonly resumeIntervalMs?: number;
  /** Ignore the resume record at the first start: read and hash everything on disk. */
  readonly recheck?: boolean;
  /** Report the swarm's per-second trace through `onTrace`. */
  readonly trace?: boolean;
  /** This torrent's download and upload limits (chained under the session's). */
  readonly downLimit?: BandwidthLimit;
  readonly upLimit?: BandwidthLimit;
  /** Web seeds (BEP 19) besides the torrent's `url-list` and the magnet's `ws`. */
  readonly webSeeds?: readonly string[];
  /** Use the torrent's and the magnet's web seeds (default true); `webSeeds` are used either way. */
  readonly torrentWebSeeds?: boolean;
  /** Certificate authorities trusted for HTTPS web seeds, besides the system's. */
  readonly webSeedCa?: string | Buffer | readonly (string | Buffer)[];
  /** The session's storage workers (started on first use); without it the storage starts its own. */
  readonly storagePool?: () => WorkerPool;
  /** The session's external-address store: peers' `yourip` go in as votes, trackers are told what it settled on. */
  readonly externalAddress?: ExternalAddressLink;
}

export interface ExternalAddressLink {
  /** A peer says it sees us at `address` (BEP 10 `yourip`). */
  vote(address: string, voter: string): void;
  /** Our public addresses, for trackers (BEP 7). */
  forTrackers(): { readonly ipv4?: string; readonly ipv6?: string };
}

export type FoundCounts = Record<PeerSource, number>;

export interface TorrentStats {
  state: TorrentState;
  verified: number;
  pieceCount: number;
  /** Verified bytes of the wanted pieces (of every piece when no file is skipped). */
  bytesVerified: number;
  /** Bytes of the wanted pieces: the torrent's size when no file is skipped. */
  totalBytes: number;
  /** The torrent's size, whatever is selected. */
  sizeBytes: number;
  /** Bytes received and sent since the torrent was added (over every run). */
  downloaded: number;
  uploaded: number;
  downRate: number;
  upRate: number;
  peers: number;
  knownPeers: number;
  hashFailures: number;
  banned: number;
  /** Bytes received from web seeds (BEP 19), part of `downloaded`. */
  webSeedBytes: number;
  /** Bytes verified on disk before this run's swarm started (resume). */
  resumedBytes: number;
  /** Peers found so far, by where they came from. */
  found: FoundCounts;
  /** Present while a magnet's metadata is being fetched. */
  metadata?: MetadataProgress;
  /** How the last start found the data on disk: pieces trusted from the resume record, pieces read. */
  startCheck?: { readonly trusted: number; readonly checked: number };
}

/** When a complete torrent stops seeding (pausing itself); each absent limit never stops it. */
export interface SeedLimits {
  /** Uploaded since the torrent was added ≥ ratio × the wanted bytes. */
  readonly ratio?: number;
  /** This long since the torrent became complete (or was started complete). */
  readonly timeMs?: number;
  /** This long without uploading a byte while seeding. */
  readonly idleMs?: number;
}
