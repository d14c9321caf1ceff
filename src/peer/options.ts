/** What a peer connection is opened with: who we are, timeouts, encryption, the dialer. */
import type { EncryptionPolicy, EncryptionReport } from '../mse/index.js';
import type { Clock } from '../util/clock.js';
import type { Dialer } from './transport.js';

export interface ConnectionTimeouts {
  connectMs: number;
  handshakeMs: number;
  /** How long unsent output may stay above `MAX_UNSENT_BYTES` before the peer is dropped. */
  outputStallMs?: number;
}

export const DEFAULT_TIMEOUTS: ConnectionTimeouts = { connectMs: 15_000, handshakeMs: 10_000 };

export interface EncryptionOptions {
  /** Default 'off' here (the plain BitTorrent handshake); the session chooses 'prefer'. */
  policy: EncryptionPolicy;
  /** Told about peers whose policy did not meet ours. */
  report?: EncryptionReport;
}

export interface IncomingEncryption extends EncryptionOptions {
  /** The info hash whose HASH('req2', info hash) is `req2`, among the torrents we serve. */
  findInfoHash(req2: Uint8Array): Uint8Array | undefined;
}

export interface ConnectOptions {
  timeouts?: ConnectionTimeouts;
  maxBitfield: number;
  clock?: Clock;
  encryption?: EncryptionOptions;
  /** How to open the stream; TCP by default. */
  dial?: Dialer;
}

export interface LocalIdentity {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  reserved: Uint8Array;
}
