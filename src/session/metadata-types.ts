/**
 * The shapes of a magnet's metadata phase (metadata-phase.ts): what it reports, what it is
 * given, what it hands the swarm, and what it keeps per connection.
 */
import type { MagnetLink, Metainfo, PeerAddress } from '../metainfo/types.js';
import type { ConnectionTimeouts, EncryptionOptions, LocalIdentity, PeerConnection } from '../peer/connection.js';
import type { Transport } from '../peer/transport.js';
import type { PeerPool, PeerSource } from '../swarm/peer-pool.js';
import type { Clock } from '../util/clock.js';
import type { IncomingMessage } from '../wire/index.js';

export interface MetadataProgress {
  readonly connected: number;
  /** Connected peers that offer ut_metadata with the size we use. */
  readonly serving: number;
  readonly piecesDone: number;
  /** Undefined until a peer has told us the metadata size. */
  readonly pieceCount: number | undefined;
}

export interface MetadataPhaseEvents {
  onMetadata(result: { meta: Metainfo; torrentBytes: Buffer }): void;
  /** The hash matched but the torrent is unusable (no peer can fix that). */
  onFatal(err: unknown): void;
  onProgress(): void;
  onIncoming(address: PeerAddress): void;
  onPeerFound(address: PeerAddress, source: PeerSource): void;
  onPeerBanned(address: PeerAddress, reason: string): void;
  onPeerConnected(address: PeerAddress, outgoing: boolean): void;
  onPeerDisconnected(address: PeerAddress, reason: string): void;
}

export interface MetadataPhaseOptions {
  readonly magnet: MagnetLink;
  readonly infoHash: Uint8Array;
  readonly identity: LocalIdentity;
  readonly listenPort: number;
  readonly pool: PeerPool;
  readonly clock: Clock;
  readonly events: MetadataPhaseEvents;
  readonly maxConnections: number;
  /** Ms before an unanswered piece request is asked of another peer too (default 3 s) and given up (10 s). */
  readonly requestTimeoutMs?: number;
  readonly timeouts?: ConnectionTimeouts;
  /** MSE/PE for outgoing connections (the session's policy); plaintext when absent. */
  readonly encryption?: EncryptionOptions;
  /** How outgoing connections are opened (uTP, TCP); TCP when absent. */
  readonly transport?: Transport;
}

/** What the swarm needs to carry on with a connection. */
export interface HeldConnection {
  readonly conn: PeerConnection;
  /** Messages received during the phase that the swarm must see (copies, not views). */
  readonly replay: readonly IncomingMessage[];
}

/** PieceCount limit (BEP 3 v1, SAFETY.md) divided by 8: the largest bitfield a peer may send. */
export const MAX_BITFIELD_BYTES = 2 ** 18;

/** One connection of the phase. */
export interface FetchPeer {
  readonly conn: PeerConnection;
  /** The id the peer receives ut_metadata on; undefined when it does not offer it. */
  metadataId: number | undefined;
  size: number | undefined;
  /** Piece → ms it was asked. */
  readonly outstanding: Map<number, number>;
  /** Piece → ms until which this peer is not asked for it again (parallel mode). */
  readonly refused: Map<number, number>;
  timeouts: number;
  lastPex: number;
  /** Tried as the only source once (after a hash failure). */
  soloTried: boolean;
  readonly replay: IncomingMessage[];
}
