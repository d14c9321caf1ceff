/**
 * One connected peer as the swarm sees it: its pieces, rates, timers of the request and
 * snubbing logic, and its upload queue. The connection itself is `PeerConnection`.
 */
import { Bitfield } from '../util/bitfield.js';
import type { PeerAddress } from '../metainfo/types.js';
import type { PeerConnection } from '../peer/connection.js';
import { PexFlag, type PexPeer } from '../wire/index.js';
import { RateMeter } from './rate.js';
import { RequestQueue } from './request-queue.js';
import { ipKey } from './peer-limits.js';

export class SwarmPeer {
  readonly key: number;
  readonly conn: PeerConnection;
  /** Its IP in canonical form, for bans and the per-IP limit. */
  readonly ip: string;
  has: Bitfield;
  registered = false;
  readonly down = new RateMeter();
  /** The last second's receive rate, which a fast peer reaches within ms (download.ts: spilling). */
  readonly downNow = new RateMeter({ windowMs: 1000, bucketMs: 100 });
  readonly up = new RateMeter();
  /** How many requests to keep outstanding with it (slow start, then its rate). */
  readonly queue = new RequestQueue();
  readonly connectedAt: number;
  /** When the last block we asked for arrived (0: never). Only a block moves it. */
  lastBlockAt = 0;
  /** When we last became interested in the peer: snubbing is counted from here or the last block. */
  interestedAt: number;
  /** Since when our outstanding requests have waited for a block: the request timeout's base. */
  waitingSince: number;
  lastRequestAt = 0;
  /** Ms of the last piece data either way (the turnover keeps peers that move data). */
  lastDataAt: number;
  /** Their BEP 10 `reqq`, bounding how many requests we keep outstanding. */
  maxOutstanding = 250;
  fast = false;
  /** We want its data and it has sent none for a minute: one request at a time, no regular upload slot. */
  snubbed = false;
  readonly uploadQueue: { index: number; begin: number; length: number }[] = [];
  /** The port it listens on (BEP 10 `p`), known for incoming peers that sent it. */
  listenPort: number | undefined;
  /** BEP 21 `upload_only`: it wants no pieces (a seed, or a partial seed done with its selection). */
  uploadOnly = false;
  /** BEP 6: pieces we let this peer request while it is choked. */
  readonly allowedFast = new Set<number>();
  /** Ms at which we last choked it, and the requests it sent since that we could not take. */
  chokedAt = 0;
  chokedRequests = 0;
  serving = false;
  /** Its socket is paused until the download limit's debt is paid. */
  throttled = false;
  bytesDown = 0;
  bytesUp = 0;
  unrequested = 0;

  constructor(key: number, conn: PeerConnection, pieceCount: number, now: number) {
    this.key = key;
    this.connectedAt = now;
    this.interestedAt = now;
    this.waitingSince = now;
    this.conn = conn;
    this.ip = ipKey(conn.address.host);
    this.has = new Bitfield(pieceCount);
    this.lastDataAt = this.connectedAt;
  }

  /** Where it listens: the address we dialled, or for an incoming peer the port it told us. */
  get listeningAddress(): PeerAddress | undefined {
    if (this.conn.outgoing) return this.conn.address;
    return this.listenPort === undefined ? undefined : { host: this.conn.address.host, port: this.listenPort };
  }

  /**
   * It has every piece or wants none (BEP 21): a seed has nothing to trade with it. Not PEX's
   * seed flag (`pexEntry`), which is every piece alone: a partial seed has pieces for a leecher.
   */
  get seedLike(): boolean {
    return this.has.complete || this.uploadOnly;
  }

  /** How PEX passes it on: where it listens, flagged as a seed when it has every piece. */
  get pexEntry(): PexPeer | undefined {
    const a = this.registered ? this.listeningAddress : undefined;
    return a === undefined ? undefined : { ...a, flags: this.has.complete ? PexFlag.seed : 0 };
  }
}
