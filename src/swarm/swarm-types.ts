/**
 * What a swarm is given: its options, the storage it reads and writes through, and the
 * events it reports to its owner (the session's torrent).
 */
import type { V2File } from '../metainfo/types.js';
import type { PeerAddress } from '../metainfo/types.js';
import type { Bitfield } from '../util/bitfield.js';
import type { Clock } from '../util/clock.js';
import type { EncryptionOptions } from '../peer/connection.js';
import type { Transport } from '../peer/transport.js';
import type { PeerPool } from './peer-pool.js';
import type { BandwidthLimit } from './bandwidth.js';
import type { BlockRequest } from './picker-types.js';

/** What the swarm needs from storage. */
export interface SwarmStorage {
  readonly freeBuffers: number;
  acquirePieceBuffer(index: number): Buffer | undefined;
  /** About `buffers` piece buffers are wanted at once: the pool's bound follows, within its limits. */
  setBufferDemand(buffers: number): void;
  /** Gives back a buffer whose piece was abandoned (or spilled). */
  releasePieceBuffer(buf: Buffer): void;
  commitPiece(index: number, buf: Buffer): Promise<'ok' | 'hash-mismatch'>;
  /** Spill: stages a block of a piece without a buffer, to be written unverified where it belongs. */
  writeBlock(index: number, begin: number, data: Uint8Array): void;
  /** Bytes given to writeBlock and not written yet. */
  readonly spillBacklog: number;
  /** Too many blocks wait to be written: stop reading from peers until `onWriteQueueDrained`. */
  readonly writeQueueFull: boolean;
  onWriteQueueDrained(cb: () => void): unknown;
  /** Writes a spilled piece's staged blocks, then hashes it as stored. */
  verifyStored(index: number): Promise<'ok' | 'hash-mismatch'>;
  readBlock(index: number, begin: number, length: number, into?: Buffer): Promise<Buffer>;
  onPoolAvailable(cb: () => void): unknown;
}

export interface SwarmEvents {
  onPieceVerified?(index: number): void;
  /** A piece failed its hash check (it is fetched again). */
  onPieceFailed?(index: number): void;
  onComplete?(): void;
  /** File priorities changed after `onComplete`: some wanted piece is missing again. */
  onIncomplete?(): void;
  onDiskError?(err: unknown): void;
  onPeerBanned?(address: PeerAddress, reason: string): void;
  /** Once a second: per-peer rates, request queues and buffer use (see trace.ts). */
  onTrace?(line: string): void;
  onPeerConnected?(address: PeerAddress, outgoing: boolean): void;
  onPeerDisconnected?(address: PeerAddress, reason: string): void;
  /** A peer's extension handshake said it sees us at `address` (BEP 10 `yourip`): a vote, not a fact. */
  onYourIp?(address: string, from: string): void;
}

export interface SwarmOptions {
  infoHash: Uint8Array;
  /**
   * The torrent's BEP 52 v2 half, if it has one: the handshake sets the v2 upgrade bit and
   * hash requests are answered from its piece layers.
   */
  v2?: { readonly files: readonly V2File[] };
  peerId: Uint8Array;
  pieceCount: number;
  pieceLength: number;
  totalLength: number;
  have: Bitfield;
  storage: SwarmStorage;
  /** The info dictionary's bytes, served over ut_metadata (BEP 9). */
  infoBytes?: Uint8Array;
  listenPort?: number;
  maxConnections?: number;
  maxHalfOpen?: number;
  /** Connections one IP may hold, both ways (default 3; loopback tests raise it). */
  maxPeersPerIp?: number;
  /** Ms without a block before outstanding requests go to other peers. */
  requestTimeoutMs?: number;
  /** Allow PEX (BEP 11); false for private torrents. */
  pex?: boolean;
  /** MSE/PE for outgoing connections; plaintext when absent. */
  encryption?: EncryptionOptions;
  /** How outgoing connections are opened (uTP, TCP); TCP when absent. */
  transport?: Transport;
  /** The torrent's known peers, when they were gathered before the swarm (a magnet's metadata phase). */
  pool?: PeerPool;
  events?: SwarmEvents;
  /** Time for every timeout, keep-alive and rate of this swarm and its peers (default the system clock). */
  clock?: Clock;
  /** `--max-down`: block payloads are charged here; a peer's socket pauses while it is in debt. */
  downLimit?: BandwidthLimit;
  /** `--max-up`: blocks we send are charged here, and sending waits while it is in debt. */
  upLimit?: BandwidthLimit;
}

/**
 * What a source of blocks other than a peer connection (a web seed) may ask of the swarm.
 * Its blocks take the peers' path: the picker's bookkeeping, the piece buffers, the hash
 * check, and blame when a piece fails.
 */
export interface BlockSourceHost {
  /** A picker key of its own. */
  newKey(): number;
  /** Registers it with the picker as having `has`. */
  attach(key: number, has: Bitfield): void;
  /** Forgets it; its outstanding blocks go back to "need". */
  detach(key: number): void;
  /**
   * Up to `maxBlocks` blocks for it to fetch, piece buffers taken, new pieces in runs of
   * consecutive ones.
   */
  pick(key: number, maxBlocks: number): BlockRequest[];
  /** A block's bytes (copied before returning). */
  deliver(key: number, piece: number, begin: number, data: Uint8Array): void;
  /** Blocks it asked for that will not come. */
  release(key: number, blocks: readonly BlockRequest[]): void;
}

/** Such a source, driven by the swarm. */
export interface BlockSource {
  /** Starts requests if it has room: on every refill and every tick. */
  fill(): void;
  /** Bytes delivered under `key` failed a piece's hash (it is never used again). */
  blame(key: number, reason: string): void;
  /** Body bytes received so far. */
  readonly bytes: number;
  stop(): void;
}
